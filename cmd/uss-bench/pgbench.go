package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The reference scripts. Each does, on pgbench_assignments, the statement uss runs on
// assignments for the paired request, with random keys over the same loaded users.
// pgbench runs them with -M prepared, as pgx runs uss's statements.
const userKeySQL = `'user-' || lpad(:u::text, 8, '0')`

const pgbenchSelectScript = `\set u random(0, :users - 1)
\set c random(0, 9)
SELECT user_id, campaign_key, variation_name, goals, source, created_at, updated_at
FROM pgbench_assignments
WHERE account_id = :account AND user_id = ` + userKeySQL + ` AND campaign_key = 'campaign-' || :c;
`

// pgbenchUpsertScript is uss's single-row set statement (internal/postgres setAssignmentSQL)
// as it stood when this benchmark was written, kept here unchanged on purpose: it is the
// fixed yardstick the server's write path is measured against, whatever the server does.
const pgbenchUpsertScript = `\set u random(0, :users - 1)
\set c random(0, 9)
\set v random(0, 1)
INSERT INTO pgbench_assignments AS a (account_id, user_id, campaign_key, variation_name, goals, source)
VALUES (:account, ` + userKeySQL + `, 'campaign-' || :c,
        CASE WHEN :v = 0 THEN 'Control' ELSE 'Variation-1' END, '{}', 'set')
ON CONFLICT (account_id, user_id, campaign_key) DO UPDATE SET
    goals = CASE WHEN a.variation_name = excluded.variation_name
                 THEN a.goals || ARRAY(SELECT g FROM unnest(excluded.goals) WITH ORDINALITY AS u(g, i)
                                       WHERE g <> ALL (a.goals) ORDER BY i)
                 ELSE excluded.goals END,
    source = CASE WHEN a.variation_name = excluded.variation_name THEN a.source ELSE excluded.source END,
    variation_name = excluded.variation_name,
    updated_at = now()
RETURNING user_id, campaign_key, variation_name, goals, source, created_at, updated_at;
`

const pgbenchBatchSelectScript = `\set u random(0, :users - 1)
SELECT user_id, campaign_key, variation_name, goals, source, created_at, updated_at
FROM pgbench_assignments
WHERE account_id = :account AND user_id = ` + userKeySQL + `
  AND campaign_key = ANY ('{campaign-0,campaign-1,campaign-2,campaign-3,campaign-4,campaign-5,campaign-6,campaign-7,campaign-8,campaign-9}'::text[])
ORDER BY campaign_key;
`

// pgbench runs the reference scripts against the benchmark database.
type pgbench struct {
	bin   string
	args  []string // connection arguments
	env   []string
	dir   string // scripts and transaction logs
	meter cpuMeter
}

// pgbenchRun is one invocation.
type pgbenchRun struct {
	name     string // of the script and log files
	script   string
	vars     map[string]string
	clients  int // and as many threads
	duration time.Duration
	// rate, when not 0, is an open-loop schedule of transactions per second (pgbench -R);
	// latencies then include the schedule lag, as the HTTP open loop counts from when a
	// request was due.
	rate float64
	// logged runs keep pgbench's per-transaction log for p50/p99, which its summary lacks.
	logged bool
}

func newPgbench(bin, databaseURL, dir string) (*pgbench, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("pgbench is needed for the reference figures: %w", err)
	}
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, err
	}
	cc := cfg.ConnConfig
	p := &pgbench{
		bin:  path,
		args: []string{"-h", cc.Host, "-p", strconv.Itoa(int(cc.Port)), "-U", cc.User, cc.Database},
		env:  os.Environ(),
		dir:  dir,
	}
	if cc.Password != "" {
		p.env = append(p.env, "PGPASSWORD="+cc.Password)
	}
	if cc.TLSConfig == nil {
		p.env = append(p.env, "PGSSLMODE=disable")
	}
	return p, nil
}

// PgbenchResult is what one pgbench run measured.
type PgbenchResult struct {
	TPS       float64 // committed transactions per second, without connection time
	Processed int64
	Failed    int64
	Latencies Latencies // from the per-transaction log: every transaction
	CPU       cpuUse    // client is pgbench itself
}

// run runs one pgbench invocation, each command a prepared statement.
func (p *pgbench) run(ctx context.Context, r pgbenchRun) (PgbenchResult, error) {
	scriptPath := filepath.Join(p.dir, r.name+".sql")
	if err := os.WriteFile(scriptPath, []byte(r.script), 0o644); err != nil {
		return PgbenchResult{}, err
	}
	seconds := int(math.Ceil(r.duration.Seconds()))
	args := []string{"--no-vacuum", "--protocol=prepared", "--file=" + scriptPath,
		"--client=" + strconv.Itoa(r.clients), "--jobs=" + strconv.Itoa(r.clients), "--time=" + strconv.Itoa(seconds)}
	for _, k := range slices.Sorted(maps.Keys(r.vars)) {
		args = append(args, "--define="+k+"="+r.vars[k])
	}
	if r.rate > 0 {
		args = append(args, "--rate="+strconv.FormatFloat(r.rate, 'f', 1, 64))
	}
	logPrefix := filepath.Join(p.dir, r.name+"-tx")
	if r.logged {
		args = append(args, "--log", "--log-prefix="+logPrefix)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(seconds)*time.Second+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, append(args, p.args...)...)
	cmd.Env = p.env
	cmd.Dir = p.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cpu := p.meter.start()
	err := cmd.Run()
	use := cpu.end()
	if err != nil {
		if ctx.Err() != nil { // interrupted or over its time: say that, not "signal: killed"
			return PgbenchResult{}, fmt.Errorf("pgbench %s: %w", r.name, ctx.Err())
		}
		return PgbenchResult{}, fmt.Errorf("pgbench %s: %w: %s", r.name, err, lastLines(stderr.String(), 5))
	}
	res, err := parsePgbenchSummary(stdout.String())
	if err != nil {
		return PgbenchResult{}, fmt.Errorf("pgbench %s: %w", r.name, err)
	}
	res.CPU = use
	res.CPU.client = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if r.logged {
		files, err := filepath.Glob(logPrefix + ".*")
		if err != nil {
			return PgbenchResult{}, err
		}
		all := newHistogram()
		for _, f := range files {
			if err := readTransactionLog(f, r.rate > 0, all); err != nil {
				return PgbenchResult{}, err
			}
			_ = os.Remove(f)
		}
		res.Latencies = summarize(all)
	}
	return res, nil
}

var (
	tpsRe       = regexp.MustCompile(`(?m)^tps = ([0-9.]+) \(without initial connection time\)`)
	processedRe = regexp.MustCompile(`(?m)^number of transactions actually processed: (\d+)`)
	failedRe    = regexp.MustCompile(`(?m)^number of failed transactions: (\d+)`)
)

// parsePgbenchSummary reads tps and transaction counts from pgbench's report.
func parsePgbenchSummary(out string) (PgbenchResult, error) {
	var r PgbenchResult
	m := tpsRe.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no tps in the output: %s", lastLines(out, 5))
	}
	var err error
	if r.TPS, err = strconv.ParseFloat(m[1], 64); err != nil {
		return r, fmt.Errorf("tps %q: %w", m[1], err)
	}
	if m := processedRe.FindStringSubmatch(out); m != nil {
		r.Processed, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := failedRe.FindStringSubmatch(out); m != nil { // printed since PostgreSQL 15
		r.Failed, _ = strconv.ParseInt(m[1], 10, 64)
	}
	return r, nil
}

// readTransactionLog reads the latencies of a pgbench per-transaction log, whose lines are
// "client_id transaction_no time script_no time_epoch time_us [schedule_lag] [...]" with
// times in µs, or "failed"/"skipped" in place of time for transactions that did not commit.
// With withLag (a --rate run) the schedule lag is added: latency from when it was due. Each
// latency is recorded in h.
func readTransactionLog(path string, withLag bool, h *hdrhistogram.Histogram) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			continue
		}
		us, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil {
			continue // failed or skipped
		}
		if withLag {
			if len(fields) < 7 {
				return fmt.Errorf("read %s: no schedule lag in %q", path, sc.Text())
			}
			lag, err := strconv.ParseInt(fields[6], 10, 64)
			if err != nil {
				return fmt.Errorf("read %s: schedule lag in %q: %w", path, sc.Text(), err)
			}
			us += lag
		}
		record(h, time.Duration(us)*time.Microsecond)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
