package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Options are the knobs of one benchmark run. Every flag has an environment variable, so
// `make bench` takes them as BENCH_DURATION=30s and so on.
type Options struct {
	ServerBin   string        // BENCH_SERVER_BIN: the uss-server binary to run
	PgbenchBin  string        // BENCH_PGBENCH: the pgbench binary
	DatabaseURL string        // BENCH_DATABASE_URL: dropped and created afresh; name starts with uss_bench
	Concurrency int           // BENCH_CONCURRENCY: clients on both sides of every pair
	Duration    time.Duration // BENCH_DURATION: measured time of each run
	Warmup      time.Duration // BENCH_WARMUP: unmeasured time before each run
	Users       int           // BENCH_USERS: users loaded, each with Campaigns assignments
	GrowthSmall int           // BENCH_GROWTH_SMALL: rows of the small table of the cost-growth runs
	GrowthLarge int           // BENCH_GROWTH_LARGE: rows of the large table
	SkipGrowth  bool          // BENCH_SKIP_10M: leave out the cost-growth runs (the 10M load is slow)
	BulkRows    int           // BENCH_BULK_ROWS: assignments exported and imported by the bulk run
	KeepDB      bool          // BENCH_KEEP_DB: leave the database for inspection afterwards
	ResultsDir  string        // BENCH_RESULTS_DIR: where latest.txt and server.log go
	// Only (BENCH_ONLY) limits the run to some scenarios, for quick iteration: a comma list of
	// fresh, get, batch, set, activate, half, bulk, growth. Empty runs them all.
	Only string
}

// scenarios are the names Only accepts.
var scenarios = []string{"fresh", "get", "batch", "set", "activate", "half", "bulk", "growth"}

// runs reports whether the scenario is part of this run.
func (o Options) runs(scenario string) bool {
	if o.Only == "" {
		return true
	}
	for _, s := range strings.Split(o.Only, ",") {
		if strings.TrimSpace(s) == scenario {
			return true
		}
	}
	return false
}

// campaignsPerUser is fixed: the batch-get scenario reads a user's 10 campaigns.
const campaignsPerUser = 10

func defaultOptions() Options {
	return Options{
		ServerBin:  "bin/uss-server",
		PgbenchBin: "pgbench",
		// The process id keeps two runs on one machine (two checkouts) off each other's
		// database: each drops its own at the start and the end.
		DatabaseURL: fmt.Sprintf("postgres://postgres@127.0.0.1:5432/uss_bench_%d?sslmode=disable", os.Getpid()),
		Concurrency: 16,
		Duration:    10 * time.Second,
		Warmup:      2 * time.Second,
		Users:       20_000,
		GrowthSmall: 100_000,
		GrowthLarge: 10_000_000,
		BulkRows:    1_000_000,
		ResultsDir:  "bench-results",
	}
}

// parseOptions reads flags over environment variables over the defaults.
func parseOptions(args []string, lookup func(string) (string, bool)) (Options, error) {
	o := defaultOptions()
	fs := flag.NewFlagSet("uss-bench", flag.ContinueOnError)
	envOf := map[string]string{}
	env := func(name, variable string) string { envOf[name] = variable; return name }
	fs.StringVar(&o.ServerBin, env("server", "BENCH_SERVER_BIN"), o.ServerBin, "uss-server binary")
	fs.StringVar(&o.PgbenchBin, env("pgbench", "BENCH_PGBENCH"), o.PgbenchBin, "pgbench binary")
	fs.StringVar(&o.DatabaseURL, env("database-url", "BENCH_DATABASE_URL"), o.DatabaseURL, "database to drop, create and load; its name must start with uss_bench")
	fs.IntVar(&o.Concurrency, env("concurrency", "BENCH_CONCURRENCY"), o.Concurrency, "clients on both sides of each pair")
	fs.DurationVar(&o.Duration, env("duration", "BENCH_DURATION"), o.Duration, "measured time of each run")
	fs.DurationVar(&o.Warmup, env("warmup", "BENCH_WARMUP"), o.Warmup, "unmeasured time before each run")
	fs.IntVar(&o.Users, env("users", "BENCH_USERS"), o.Users, "users loaded, 10 assignments each")
	fs.IntVar(&o.GrowthSmall, env("growth-small", "BENCH_GROWTH_SMALL"), o.GrowthSmall, "rows of the small table of the cost-growth runs")
	fs.IntVar(&o.GrowthLarge, env("growth-large", "BENCH_GROWTH_LARGE"), o.GrowthLarge, "rows of the large table of the cost-growth runs")
	fs.BoolVar(&o.SkipGrowth, env("skip-10m", "BENCH_SKIP_10M"), o.SkipGrowth, "leave out the cost-growth runs")
	fs.IntVar(&o.BulkRows, env("bulk-rows", "BENCH_BULK_ROWS"), o.BulkRows, "assignments exported and imported by the bulk run")
	fs.BoolVar(&o.KeepDB, env("keep-db", "BENCH_KEEP_DB"), o.KeepDB, "keep the database afterwards")
	fs.StringVar(&o.ResultsDir, env("results", "BENCH_RESULTS_DIR"), o.ResultsDir, "directory of latest.txt and server.log")
	fs.StringVar(&o.Only, env("only", "BENCH_ONLY"), o.Only, "run only these scenarios, comma-separated: "+strings.Join(scenarios, ", "))
	// The environment first, through each flag's own parser (numbers may be written 1_000),
	// so that a flag given on the command line wins.
	var envErrs []error
	fs.VisitAll(func(f *flag.Flag) {
		variable := envOf[f.Name]
		f.Usage += " (" + variable + ")"
		if v, ok := lookup(variable); ok && v != "" {
			if err := f.Value.Set(v); err != nil {
				envErrs = append(envErrs, fmt.Errorf("%s: %w", variable, err))
			}
		}
	})
	if err := errors.Join(envErrs...); err != nil {
		return Options{}, err
	}
	if err := fs.Parse(args); err != nil {
		return Options{}, err
	}
	if fs.NArg() > 0 {
		return Options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return o, o.validate()
}

func (o Options) validate() error {
	var errs []error
	if o.Concurrency < 1 || o.Concurrency > 90 {
		// pgbench opens one connection per client; PostgreSQL's default limit is 100.
		errs = append(errs, fmt.Errorf("concurrency must be 1..90, got %d", o.Concurrency))
	}
	if o.Duration < time.Second {
		errs = append(errs, fmt.Errorf("duration must be at least 1s (pgbench counts whole seconds), got %s", o.Duration))
	}
	for _, name := range strings.Split(o.Only, ",") {
		if name = strings.TrimSpace(name); o.Only != "" && !slices.Contains(scenarios, name) {
			errs = append(errs, fmt.Errorf("only: unknown scenario %q (want %s)", name, strings.Join(scenarios, ", ")))
		}
	}
	if o.Warmup < 0 {
		errs = append(errs, fmt.Errorf("warmup must not be negative, got %s", o.Warmup))
	}
	if o.Users < 1 {
		errs = append(errs, fmt.Errorf("users must be positive, got %d", o.Users))
	}
	for name, rows := range map[string]int{"growth-small": o.GrowthSmall, "growth-large": o.GrowthLarge, "bulk-rows": o.BulkRows} {
		if rows < campaignsPerUser || rows%campaignsPerUser != 0 {
			errs = append(errs, fmt.Errorf("%s must be a positive multiple of %d, got %d", name, campaignsPerUser, rows))
		}
	}
	if o.GrowthLarge <= o.GrowthSmall {
		errs = append(errs, fmt.Errorf("growth-large (%d) must exceed growth-small (%d)", o.GrowthLarge, o.GrowthSmall))
	}
	cfg, err := pgxpool.ParseConfig(o.DatabaseURL)
	if err != nil {
		errs = append(errs, fmt.Errorf("database url: %w", err))
	} else {
		if !strings.HasPrefix(cfg.ConnConfig.Database, "uss_bench") {
			errs = append(errs, fmt.Errorf("database %q is dropped and recreated, so its name must start with uss_bench", cfg.ConnConfig.Database))
		}
		if !isLocalHost(cfg.ConnConfig.Host) {
			errs = append(errs, fmt.Errorf("database host %q: the benchmark runs against this machine only (127.0.0.1, ::1, localhost or a unix socket)", cfg.ConnConfig.Host))
		}
	}
	return errors.Join(errs...)
}

// isLocalHost reports whether host is this machine: the load stays off the network.
func isLocalHost(host string) bool {
	if strings.HasPrefix(host, "/") || host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func envLookup(name string) (string, bool) { return os.LookupEnv(name) }
