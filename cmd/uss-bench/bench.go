package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/uss/uss/internal/ussproc"
)

const benchAccount = "bench"

// bench is one run: its database, server, pgbench, and the report being filled.
type bench struct {
	o       Options
	out     io.Writer
	started time.Time
	rep     *report

	pg    *pgbench
	db    *benchDB
	srv   *ussproc.Server
	ep    endpoint
	rss   *ussproc.RSSSampler
	meter cpuMeter
	// background is how many CPUs other work kept busy just before the server started.
	background float64
	// floor is the rate of GET /livez, the HTTP floor every route is compared with.
	floor float64
	// refs are the closed-loop pgbench runs, by reference name, each run once.
	refs map[string]PgbenchResult
}

// step prints progress with the time since the start, so a slow step shows.
func (b *bench) step(format string, args ...any) {
	el := time.Since(b.started).Round(time.Second)
	fmt.Fprintf(b.out, "[%02d:%02d] %s\n", int(el.Minutes()), int(el.Seconds())%60, fmt.Sprintf(format, args...))
}

func (b *bench) setUp(ctx context.Context) error {
	o := b.o
	// Before anything of the benchmark runs: is the machine quiet?
	b.background = busyCPUs(time.Second)
	b.step("creating a fresh database")
	if err := dropDatabase(ctx, o.DatabaseURL); err != nil {
		return err
	}
	key, err := ussproc.CreateAPIKey(ctx, o.ServerBin, o.DatabaseURL, benchAccount)
	if err != nil {
		return err
	}
	if b.db, err = openBenchDB(ctx, o.DatabaseURL, benchAccount); err != nil {
		return err
	}
	logPath := filepath.Join(o.ResultsDir, "server.log")
	_ = os.Remove(logPath)
	if b.srv, err = ussproc.Start(ctx, o.ServerBin, o.DatabaseURL, logPath); err != nil {
		return err
	}
	b.ep = endpoint{addr: b.srv.Addr, key: key}
	b.rss = ussproc.StartRSSSampler(b.srv.Pid(), 100*time.Millisecond)
	b.meter = cpuMeter{serverPid: b.srv.Pid(), database: b.db.name}
	b.pg.meter = b.meter
	b.step("uss-server pid %d serving on %s (log: %s)", b.srv.Pid(), b.srv.Addr, logPath)
	b.rep.header = b.header(ctx)

	if err := b.measureFloor(ctx); err != nil {
		return err
	}
	// The fresh-load run needs the database as created: before anything else loads it.
	if o.runs("fresh") {
		if err := b.freshLoad(ctx); err != nil {
			return err
		}
	}
	rows := o.Users * campaignsPerUser
	took, err := timed(func() error {
		if err := b.db.truncateAssignments(ctx); err != nil {
			return err
		}
		if err := b.db.loadUsers(ctx, 0, o.Users, 100_000, nil); err != nil {
			return err
		}
		if err := b.db.copyToPgbenchTable(ctx); err != nil {
			return err
		}
		return b.db.vacuumAnalyze(ctx, "assignments", pgbenchTable)
	})
	if err != nil {
		return err
	}
	b.step("loaded %d assignments (%d users × %d campaigns) into assignments and %s in %s",
		rows, o.Users, campaignsPerUser, pgbenchTable, took.Round(time.Millisecond))
	return b.checkData(ctx)
}

func (b *bench) header(ctx context.Context) []string {
	o := b.o
	commit := "unknown"
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		commit = strings.TrimSpace(string(out))
		if out, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(out) > 0 {
			commit += " (with uncommitted changes)"
		}
	}
	return []string{
		fmt.Sprintf("uss benchmark, %s, commit %s", b.started.UTC().Format("2006-01-02 15:04 MST"), commit),
		fmt.Sprintf("machine: %d CPUs, %s/%s, %s; PostgreSQL %s (shared_buffers %s, synchronous_commit %s) on the same machine",
			runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), b.db.setting(ctx, "server_version"),
			b.db.setting(ctx, "shared_buffers"), b.db.setting(ctx, "synchronous_commit")),
		fmt.Sprintf("data: %d assignments (%d users × %d campaigns) in assignments, and a copy in %s for pgbench",
			o.Users*campaignsPerUser, o.Users, campaignsPerUser, pgbenchTable),
		fmt.Sprintf("runs: %d clients on both sides of each pair (pgbench -M prepared -c %d -j %d; HTTP keep-alive), %s warm-up + %s measured each",
			o.Concurrency, o.Concurrency, o.Concurrency, o.Warmup, o.Duration),
		"floor: GET /livez (no database) through the same load generator and connections; ×floor is a route's rate over it",
		fmt.Sprintf("half load: open loop at 50%% of each route's own closed-loop rate over %d connections, latency counted from when each request was due;",
			b.halfLoadWorkers()),
		"  pgbench -R offers the same rate first, and the 5 ms target is judged only where pgbench's own p99 meets it",
		fmt.Sprintf("before the run, other work kept %.2f of %d CPUs busy%s", b.background, runtime.NumCPU(), quietOrNot(b.background)),
	}
}

// quietOrNot warns when the machine was not idle: every figure is then noisy.
func quietOrNot(busy float64) string {
	if busy < 0.1 {
		return " (quiet)"
	}
	return " — NOT QUIET: the figures below compete with that work; see the \"rest\" column"
}

// checkData makes sure the server sees the loaded rows before anything is measured: a
// benchmark of 404s would measure nothing.
func (b *bench) checkData(ctx context.Context) error {
	checks := []struct {
		name string
		req  requestFunc
	}{
		{"GET /v1/storage", getRequests(1)},
		{"POST /v1/storage/batch-get", batchGetRequests(1)},
	}
	for _, c := range checks {
		var req call
		c.req(&req, rand.New(rand.NewPCG(1, 2)), 0, 0)
		status, body, err := roundTrip(ctx, b.ep, &req)
		if err != nil {
			return fmt.Errorf("check %s: %w", c.name, err)
		}
		if status != 200 {
			return fmt.Errorf("check %s of loaded user %s: status %d: %s", c.name, userID(0), status, body)
		}
		if want := `"userId":"` + userID(0) + `"`; !strings.Contains(body, want) {
			return fmt.Errorf("check %s: body %s lacks %s", c.name, body, want)
		}
		if c.name == "POST /v1/storage/batch-get" && strings.Count(body, `"campaignKey"`) != campaignsPerUser {
			return fmt.Errorf("check %s: want %d records, got %s", c.name, campaignsPerUser, body)
		}
	}
	return nil
}

// tearDown stops the server and drops the database (unless kept). It is safe after a
// partial setUp.
func (b *bench) tearDown() error {
	var err error
	if b.rss != nil { // before the server stops: /proc/<pid> goes with it
		if peak, hwm, e := b.rss.Stop(); e == nil {
			b.reportMemory(peak, hwm)
		} else {
			err = e
		}
		b.rss = nil
	}
	if b.srv != nil {
		if e := b.srv.Stop(); e != nil && err == nil {
			err = e
		}
		b.srv = nil
	}
	if b.db != nil {
		b.db.Close()
		b.db = nil
	}
	if !b.o.KeepDB {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if e := dropDatabase(ctx, b.o.DatabaseURL); e != nil && err == nil {
			err = e
		}
	}
	return err
}

func (b *bench) writeReport() error {
	path := filepath.Join(b.o.ResultsDir, "latest.txt")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintln(b.out)
	if err := b.rep.write(io.MultiWriter(b.out, f)); err != nil {
		return err
	}
	b.step("done; report written to %s", path)
	return f.Close()
}

// roundTrip sends one request on a new connection and returns the status and body.
func roundTrip(ctx context.Context, e endpoint, req *call) (int, string, error) {
	if err := ctx.Err(); err != nil {
		return 0, "", err
	}
	c := newConn(e)
	defer c.close()
	status, body, err := c.do(req)
	return status, string(body), err
}
