// Command uss-bench is the load benchmark behind `make bench` (docs/benchmarks.md). It starts
// uss-server against a fresh local database, loads assignments, and measures the HTTP API side
// by side with pgbench doing the same work on a table of the same shape and size, then prints
// the figures against their targets. It is a benchmark, not a test: it exits 0 whatever the
// figures, and non-zero only when it cannot measure (no pgbench, the server does not start,
// the server dies).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts, err := parseOptions(os.Args[1:], envLookup)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "uss-bench:", err)
		os.Exit(2)
	}
	if err := run(ctx, opts, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "uss-bench:", err)
		os.Exit(1)
	}
}

// run prepares the database and the server, measures, and writes the report. The report is
// written even when a later step fails, with what was measured until then.
func run(ctx context.Context, o Options, out io.Writer) (err error) {
	b := &bench{o: o, out: out, started: time.Now(), rep: &report{}, refs: map[string]PgbenchResult{}}
	if err := os.MkdirAll(o.ResultsDir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "uss-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if b.pg, err = newPgbench(o.PgbenchBin, o.DatabaseURL, tmp); err != nil {
		return err
	}
	if _, err := os.Stat(o.ServerBin); err != nil {
		return fmt.Errorf("uss-server binary: %w (run `make build` or give -server)", err)
	}
	if err := b.setUp(ctx); err != nil {
		return errors.Join(err, b.tearDown())
	}
	measureErr := b.measure(ctx)
	if err := b.tearDown(); err != nil && measureErr == nil {
		measureErr = err
	}
	if measureErr != nil {
		b.rep.note("INCOMPLETE: %v", measureErr)
	}
	if err := b.writeReport(); err != nil {
		return err
	}
	return measureErr
}
