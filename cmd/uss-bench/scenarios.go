package main

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// The targets of docs/benchmarks.md.
const (
	getTarget      = 0.6 // GET /v1/storage ≥ 0.6 × pgbench select
	setTarget      = 1.0 // POST /v1/storage ≥ 1.0 × pgbench upsert
	activateTarget = 0.8 // POST /v1/activate (new users) ≥ 0.8 × pgbench upsert
	halfLoadP99    = 5 * time.Millisecond
	memoryTarget   = 100_000_000 // bytes: server RSS under load ≤ 100 MB
	growthTarget   = 1.2         // GET p50 at 10M rows ≤ 1.2 × at 100k
	halfLoadShare  = 0.5
	loadChunkUsers = 100_000 // users per INSERT while loading (1M rows)
)

func (b *bench) halfLoadWorkers() int { return 2 * b.o.Concurrency }

// measure runs every scenario in turn. Reads come first, while both tables are exactly as
// loaded; writes follow, each run after a checkpoint.
func (b *bench) measure(ctx context.Context) error {
	o := b.o
	users := getRequests(b.ep, o.Users)

	var get, set Result
	var upsert PgbenchResult
	if o.runs("get") || o.runs("half") {
		b.step("GET /v1/storage vs pgbench primary-key select")
		sel, res, err := b.pair(ctx, "select", pgbenchSelectScript, users, false)
		if err != nil {
			return err
		}
		get = res
		b.addPair("pgbench: primary-key select", sel, "GET /v1/storage", get, "select", getTarget)
	}

	if o.runs("batch") {
		b.step("POST /v1/storage/batch-get (10 campaigns) vs pgbench select of a user's 10 rows")
		batchSel, batch, err := b.pair(ctx, "batch-select", pgbenchBatchSelectScript, batchGetRequests(b.ep, o.Users), false)
		if err != nil {
			return err
		}
		b.addPair("pgbench: select of a user's 10 rows", batchSel, "POST /v1/storage/batch-get (10)", batch, "batch select", 0)
	}

	// The upsert is also the yardstick of activate and of the half-load set run.
	if o.runs("set") || o.runs("activate") || o.runs("half") {
		b.step("POST /v1/storage vs pgbench single-row upsert")
		ref, res, err := b.pair(ctx, "upsert", pgbenchUpsertScript, setRequests(b.ep, o.Users), true)
		if err != nil {
			return err
		}
		upsert, set = ref, res
		b.addPair("pgbench: single-row upsert", upsert, "POST /v1/storage", set, "upsert", setTarget)
	}

	var activate *Result
	if o.runs("activate") || o.runs("half") {
		var err error
		if activate, err = b.activate(ctx, upsert); err != nil {
			return err
		}
	}

	if o.runs("half") {
		type halfRun struct {
			name            string
			peak            Result
			reqs            requestFunc
			script, refName string
		}
		half := []halfRun{
			{"GET /v1/storage", get, users, pgbenchSelectScript, "primary-key select"},
			{"POST /v1/storage", set, setRequests(b.ep, o.Users), pgbenchUpsertScript, "single-row upsert"},
		}
		if activate != nil {
			half = append(half, halfRun{"POST /v1/activate", *activate, activateRequests(b.ep, runTag("half")), "", ""})
		}
		for _, h := range half {
			if err := b.halfLoad(ctx, h.name, h.peak, h.reqs, h.script, h.refName); err != nil {
				return err
			}
		}
	}

	if o.runs("bulk") {
		if err := b.bulk(ctx); err != nil {
			return err
		}
	}

	if o.SkipGrowth || !o.runs("growth") {
		b.rep.note("cost growth: skipped (BENCH_SKIP_10M or BENCH_ONLY)")
		return nil
	}
	return b.growth(ctx)
}

// pair runs the pgbench reference and then the HTTP scenario, each with its warm-up, at the
// same concurrency for the same time.
func (b *bench) pair(ctx context.Context, name, script string, reqs requestFunc, writes bool) (PgbenchResult, Result, error) {
	o := b.o
	if writes {
		b.checkpoint(ctx)
	}
	if o.Warmup > 0 {
		warm := pgbenchRun{name: name + "-warmup", script: script, vars: b.pgbenchVars(), clients: o.Concurrency, duration: o.Warmup}
		if _, err := b.pg.run(ctx, warm); err != nil {
			return PgbenchResult{}, Result{}, err
		}
	}
	ref, err := b.pg.run(ctx, pgbenchRun{name: name, script: script, vars: b.pgbenchVars(), clients: o.Concurrency,
		duration: o.Duration, logged: true})
	if err != nil {
		return PgbenchResult{}, Result{}, err
	}
	if writes {
		b.checkpoint(ctx)
	}
	res, err := b.closed(ctx, reqs)
	return ref, res, err
}

func (b *bench) pgbenchVars() map[string]string {
	return map[string]string{"users": strconv.Itoa(b.o.Users), "account": strconv.FormatInt(b.db.account, 10)}
}

// closed runs a warm-up and then a measured closed loop, and checks the server survived.
func (b *bench) closed(ctx context.Context, reqs requestFunc) (Result, error) {
	if b.o.Warmup > 0 {
		closedLoop(ctx, b.ep.addr, b.o.Concurrency, b.o.Warmup, reqs)
	}
	cpu := b.meter.start()
	res := closedLoop(ctx, b.ep.addr, b.o.Concurrency, b.o.Duration, reqs)
	res.CPU = cpu.end()
	if err := b.srv.Alive(); err != nil {
		return res, err
	}
	return res, ctx.Err()
}

func (b *bench) checkpoint(ctx context.Context) {
	if err := b.db.checkpoint(ctx); err != nil {
		b.rep.note("note: CHECKPOINT before a write run failed (%v); write figures may be noisier", err)
	}
}

func (b *bench) addPair(refName string, ref PgbenchResult, name string, res Result, refLabel string, target float64) {
	b.rep.add(row{scenario: refName, rate: ref.TPS, p50: ref.Latencies.P50, p99: ref.Latencies.P99,
		errors: strconv.FormatInt(ref.Failed, 10), cpu: &ref.CPU, requests: int(ref.Processed)})
	b.addRatio(name, res, fmt.Sprintf("%.0f/s %s", ref.TPS, refLabel), ref.TPS, target)
}

func (b *bench) addRatio(name string, res Result, ref string, refRate, target float64) {
	x := row{scenario: name, rate: res.Rate(), p50: res.Latencies.P50, p99: res.Latencies.P99,
		errors: strconv.Itoa(res.ErrorCount()), ref: ref, cpu: &res.CPU, requests: res.OK}
	if refRate > 0 {
		x.ratio = res.Rate() / refRate
	}
	if target > 0 {
		x.target = fmt.Sprintf("≥ %.2f×", target)
		x.met = judge(x.ratio >= target)
	}
	b.rep.add(x)
	b.noteErrors(name, res)
}

func (b *bench) noteErrors(name string, res Result) {
	if res.ErrorCount() > 0 {
		b.rep.note("errors in %s: %s", name, res.ErrorSummary())
	}
}

// activate measures POST /v1/activate for users never seen before, each call bucketing and
// storing a new assignment. It needs the settings and decision API; a build without them
// answers 404 or 405, and the scenario is reported as not available. It returns the
// closed-loop result, or nil when not measured.
func (b *bench) activate(ctx context.Context, upsert PgbenchResult) (*Result, error) {
	b.step("POST /v1/activate for new users")
	why, err := b.activateAvailable(ctx)
	if err != nil {
		return nil, err
	}
	if why != "" {
		b.step("activate: %s", why)
		b.rep.note("activate: %s", why)
		b.rep.add(row{scenario: "POST /v1/activate (new users)", errors: "-", ref: fmt.Sprintf("%.0f/s upsert", upsert.TPS),
			target: fmt.Sprintf("≥ %.2f×", activateTarget), ratio: 0})
		return nil, nil
	}
	b.checkpoint(ctx)
	res, err := b.closed(ctx, activateRequests(b.ep, runTag("peak")))
	if err != nil {
		return nil, err
	}
	b.addRatio("POST /v1/activate (new users)", res, fmt.Sprintf("%.0f/s upsert", upsert.TPS), upsert.TPS, activateTarget)
	return &res, nil
}

// activateAvailable uploads the settings file and makes one decision. It returns why the
// scenario cannot run ("" when it can), or an error when the server cannot be reached.
func (b *bench) activateAvailable(ctx context.Context) (string, error) {
	put := b.ep.appendWithBody(nil, "PUT", "/v1/settings", func(buf []byte) []byte { return append(buf, settingsFile...) })
	status, body, err := roundTrip(ctx, b.ep.addr, put)
	if err != nil {
		return "", fmt.Errorf("PUT /v1/settings: %w", err)
	}
	switch {
	case status == 404 || status == 405:
		return fmt.Sprintf("not available in this build (PUT /v1/settings answered %d)", status), nil
	case status != 200:
		return fmt.Sprintf("not measured: PUT /v1/settings answered %d: %s", status, body), nil
	}
	// Settings reach a server's memory shortly after the upload (docs/decisions.md), so a 404 for
	// the campaign right after it may only mean "not yet": ask again for up to 2 s.
	probe := activateRequests(b.ep, runTag("probe"))
	for deadline := time.Now().Add(2 * time.Second); ; {
		status, body, err = roundTrip(ctx, b.ep.addr, probe(nil, nil, 0, 0))
		if err != nil {
			return "", fmt.Errorf("POST /v1/activate: %w", err)
		}
		if status != 404 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	switch {
	case status == 404 || status == 405:
		return fmt.Sprintf("not available in this build (POST /v1/activate answered %d: %s)", status, body), nil
	case status != 200:
		return fmt.Sprintf("not measured: POST /v1/activate answered %d: %s", status, body), nil
	}
	return "", nil
}

// runTag makes new-user ids unique to this run and phase.
func runTag(phase string) string {
	return strconv.FormatInt(time.Now().UnixNano(), 36) + phase
}

// halfLoad offers half of the closed-loop rate in an open loop and reports p50/p99 against
// the 5 ms target. When script is given, pgbench first offers the same rate with the same
// number of clients (pgbench -R): what the database alone does at that load.
func (b *bench) halfLoad(ctx context.Context, name string, peak Result, reqs requestFunc, script, refName string) error {
	rate := halfLoadShare * peak.Rate()
	label := name + " at 50% load"
	if rate < 1 {
		b.rep.note("%s: not run, the closed-loop rate was %.1f/s", label, peak.Rate())
		return nil
	}
	b.step("%s: open loop at %.0f/s", label, rate)
	target := "p99 ≤ " + ms(halfLoadP99)
	if script != "" {
		ref, err := b.pg.run(ctx, pgbenchRun{name: refName + "-half", script: script, vars: b.pgbenchVars(),
			clients: b.halfLoadWorkers(), duration: b.o.Duration, rate: rate, logged: true})
		if err != nil {
			return err
		}
		b.rep.add(row{scenario: "pgbench: " + refName + " at the same rate", rate: ref.TPS, p50: ref.Latencies.P50,
			p99: ref.Latencies.P99, errors: strconv.FormatInt(ref.Failed, 10), ref: fmt.Sprintf("offered %.0f/s", rate),
			cpu: &ref.CPU, requests: int(ref.Processed)})
	}
	cpu := b.meter.start()
	res := openLoop(ctx, b.ep.addr, b.halfLoadWorkers(), rate, b.o.Duration, reqs)
	res.CPU = cpu.end()
	if err := b.srv.Alive(); err != nil {
		return err
	}
	b.rep.add(row{scenario: label, rate: res.Rate(), p50: res.Latencies.P50, p99: res.Latencies.P99,
		errors: strconv.Itoa(res.ErrorCount()), ref: fmt.Sprintf("offered %.0f/s", rate), target: target,
		met: judge(res.ErrorCount() == 0 && res.Latencies.P99 <= halfLoadP99), cpu: &res.CPU, requests: res.OK})
	b.noteErrors(label, res)
	return ctx.Err()
}

// growth measures GET with the table at the small size, grows it with SQL to the large size,
// and measures again: the ratio of latencies shows how the cost of a read grows with the data.
func (b *bench) growth(ctx context.Context) error {
	o := b.o
	smallUsers, largeUsers := o.GrowthSmall/campaignsPerUser, o.GrowthLarge/campaignsPerUser
	b.step("cost growth: GET /v1/storage with %s assignments", count(o.GrowthSmall))
	if err := b.db.dropPgbenchTable(ctx); err != nil {
		return err
	}
	if err := b.db.truncateAssignments(ctx); err != nil {
		return err
	}
	took, err := timed(func() error {
		if err := b.db.loadUsers(ctx, 0, smallUsers, loadChunkUsers, nil); err != nil {
			return err
		}
		return b.db.vacuumAnalyze(ctx, "assignments")
	})
	if err != nil {
		return err
	}
	small, err := b.closed(ctx, getRequests(b.ep, smallUsers))
	if err != nil {
		return err
	}
	b.rep.growth = append(b.rep.growth, growthRow{rows: count(o.GrowthSmall), result: small,
		loading: fmt.Sprintf("in %s; %s on disk", took.Round(100*time.Millisecond), b.db.size(ctx, "assignments"))})
	b.noteErrors("GET at "+count(o.GrowthSmall), small)

	b.step("cost growth: growing to %s assignments with INSERT … SELECT generate_series", count(o.GrowthLarge))
	insertTook, err := timed(func() error {
		return b.db.loadUsers(ctx, smallUsers, largeUsers, loadChunkUsers, func(loaded int) {
			b.step("  %s of %s rows inserted", count(smallUsers*campaignsPerUser+loaded*campaignsPerUser), count(o.GrowthLarge))
		})
	})
	if err != nil {
		return err
	}
	vacuumTook, err := timed(func() error { return b.db.vacuumAnalyze(ctx, "assignments") })
	if err != nil {
		return err
	}
	n, err := b.db.count(ctx, "assignments")
	if err != nil {
		return err
	}
	size := b.db.size(ctx, "assignments")
	b.step("cost growth: %d rows, %s with the index (insert %s, vacuum analyze %s); GET /v1/storage", n, size,
		insertTook.Round(time.Second), vacuumTook.Round(time.Second))
	large, err := b.closed(ctx, getRequests(b.ep, largeUsers))
	if err != nil {
		return err
	}
	b.rep.growth = append(b.rep.growth, growthRow{rows: count(o.GrowthLarge), result: large,
		loading: fmt.Sprintf("grown in %s (insert %s, vacuum analyze %s); %s on disk", (insertTook + vacuumTook).Round(time.Second),
			insertTook.Round(time.Second), vacuumTook.Round(time.Second), size)})
	b.noteErrors("GET at "+count(o.GrowthLarge), large)

	ratio := func(a, b time.Duration) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	p50 := ratio(large.Latencies.P50, small.Latencies.P50)
	mean := ratio(large.Latencies.Mean, small.Latencies.Mean)
	b.rep.add(row{scenario: "GET latency, " + count(o.GrowthLarge) + " vs " + count(o.GrowthSmall) + " rows",
		rate: large.Rate(), p50: large.Latencies.P50, p99: large.Latencies.P99, errors: strconv.Itoa(large.ErrorCount()),
		cpu: &large.CPU, requests: large.OK,
		ref: "p50 " + ms(small.Latencies.P50) + " at " + count(o.GrowthSmall), ratio: p50,
		target: fmt.Sprintf("p50 ≤ %.2f×", growthTarget), met: judge(p50 > 0 && p50 <= growthTarget)})
	b.rep.note("cost growth %s / %s rows: p50 %.2f×, mean %.2f× (target ≤ %.2f×, judged on p50)",
		count(o.GrowthLarge), count(o.GrowthSmall), p50, mean, growthTarget)
	return nil
}

func (b *bench) reportMemory(peakRSS, hwm int64) {
	b.rep.add(row{scenario: "uss-server memory, whole run", errors: "-",
		ref:    fmt.Sprintf("VmHWM %s, VmRSS max %s", mb(hwm), mb(peakRSS)),
		target: "≤ " + mb(memoryTarget), met: judge(max(hwm, peakRSS) <= memoryTarget)})
}

// count writes a row count as people say it: 100k, 10M.
func count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1_000 && n%1_000 == 0:
		return strconv.Itoa(n/1_000) + "k"
	}
	return strconv.Itoa(n)
}
