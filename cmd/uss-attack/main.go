// Command uss-attack runs the attacks uss must survive, against a uss-server binary and a
// private PostgreSQL cluster it creates in a temporary folder (never the shared server), all on
// loopback and bounded in time, and prints each attack's figures. It exits 1 if any attack
// found a defect.
//
//	make attack                 # every attack, about 3 minutes
//	bin/uss-attack -only pgkill,sigterm
//
// See docs/operations.md, "Attacks".
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/uss/uss/internal/ussproc"
)

// attack is one attack: it runs against a fresh database and reports its figures.
type attack struct {
	name string
	what string
	run  func(ctx context.Context, e *env) result
}

// result is what an attack measured; failures are the defects it found.
type result struct {
	figures  []string
	failures []string
}

// figure records one measured figure.
func (r *result) figure(format string, args ...any) {
	r.figures = append(r.figures, fmt.Sprintf(format, args...))
}

// check records a failure when ok is false.
func (r *result) check(ok bool, format string, args ...any) {
	if !ok {
		r.failures = append(r.failures, fmt.Sprintf(format, args...))
	}
}

var attacks = []attack{
	{"pgkill", "kill -9 PostgreSQL under 16 concurrent writers, restart it, uss left running", attackKillPostgres},
	{"usskill", "kill -9 uss-server under 16 concurrent writers, start it again", attackKillUSS},
	{"sigterm", "SIGTERM uss-server under 16 concurrent writers", attackSIGTERM},
	{"malformed", "malformed requests across every route, with and without a valid key", attackMalformed},
	{"slowheaders", "500 connections sending their headers a byte a second", attackSlowHeaders},
	{"hostile", "hostile bodies (10 MB, 10k-level nesting, huge numbers) while RSS is watched", attackHostileBodies},
}

// env is what every attack gets: the binary, the private cluster, a folder for logs.
type env struct {
	bin     string
	cluster *cluster
	logDir  string
	opts    options
}

type options struct {
	writers   int
	load      time.Duration // how long the write load runs before and after the blow
	malformed int           // malformed requests to send
	slow      int           // slow-header connections
	hostile   time.Duration // how long hostile bodies are sent
	pprof     string        // when set, the servers serve Go's profiles there (USS_PPROF_ADDR)
}

func main() {
	bin := flag.String("server", "bin/uss-server", "the uss-server binary to attack")
	pgBin := flag.String("pg-bin", "", "directory of PostgreSQL's initdb and pg_ctl (default: the newest /usr/lib/postgresql/*/bin)")
	only := flag.String("only", "", "comma-separated attacks to run (default: all): "+names())
	var o options
	flag.IntVar(&o.writers, "writers", 16, "concurrent writers of the kill and shutdown attacks")
	flag.DurationVar(&o.load, "load", 5*time.Second, "write load before and after the blow")
	flag.IntVar(&o.malformed, "malformed", 24000, "malformed requests to send")
	flag.IntVar(&o.slow, "slow", 500, "slow-header connections")
	flag.DurationVar(&o.hostile, "hostile", 60*time.Second, "how long hostile bodies are sent")
	flag.StringVar(&o.pprof, "pprof", "", "serve the attacked servers' Go profiles on this address (USS_PPROF_ADDR), e.g. 127.0.0.1:6062")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *bin, *pgBin, *only, o); err != nil {
		fmt.Fprintln(os.Stderr, "uss-attack:", err)
		os.Exit(1)
	}
}

func names() string {
	var n []string
	for _, a := range attacks {
		n = append(n, a.name)
	}
	return strings.Join(n, ",")
}

func run(ctx context.Context, bin, pgBin, only string, o options) error {
	selected := attacks
	if only != "" {
		selected = nil
		for _, name := range strings.Split(only, ",") {
			found := false
			for _, a := range attacks {
				if a.name == strings.TrimSpace(name) {
					selected, found = append(selected, a), true
				}
			}
			if !found {
				return fmt.Errorf("no attack %q (attacks: %s)", name, names())
			}
		}
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%w (build it: make build)", err)
	}
	logDir, err := os.MkdirTemp("", "uss-attack-logs-")
	if err != nil {
		return err
	}
	fmt.Printf("starting a private PostgreSQL cluster (logs of uss-server in %s)\n", logDir)
	c, err := newCluster(ctx, pgBin)
	if err != nil {
		return fmt.Errorf("private cluster: %w", err)
	}
	defer c.stop()
	fmt.Printf("private cluster on 127.0.0.1:%d in %s\n\n", c.port, c.dir)
	e := &env{bin: bin, cluster: c, logDir: logDir, opts: o}

	failed := 0
	for _, a := range selected {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Printf("== %s: %s\n", a.name, a.what)
		began := time.Now()
		r := a.run(ctx, e)
		for _, f := range r.figures {
			fmt.Printf("   %s\n", f)
		}
		verdict := "PASS"
		if len(r.failures) > 0 {
			verdict, failed = "FAIL", failed+1
			for _, f := range r.failures {
				fmt.Printf("   defect: %s\n", f)
			}
		}
		fmt.Printf("   %s in %s\n\n", verdict, time.Since(began).Round(100*time.Millisecond))
	}
	fmt.Printf("%d passed, %d failed\n", len(selected)-failed, failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d attacks found a defect", failed, len(selected))
	}
	return nil
}

// setup gives an attack a fresh database, an API key and a running server.
func (e *env) setup(ctx context.Context, name string, extraEnv ...string) (dbURL, key string, srv *ussproc.Server, err error) {
	dbURL, err = e.cluster.freshDatabase(ctx, "uss_attack_"+name)
	if err != nil {
		return "", "", nil, err
	}
	if key, err = ussproc.CreateAPIKey(ctx, e.bin, dbURL, "attack"); err != nil {
		return "", "", nil, err
	}
	srv, err = e.startServer(ctx, name, dbURL, extraEnv...)
	return dbURL, key, srv, err
}

func (e *env) startServer(ctx context.Context, name, dbURL string, extraEnv ...string) (*ussproc.Server, error) {
	if e.opts.pprof != "" {
		extraEnv = append(extraEnv, "USS_PPROF_ADDR="+e.opts.pprof)
	}
	return ussproc.Start(ctx, e.bin, dbURL, filepath.Join(e.logDir, name+".log"), extraEnv...)
}

// panics counts the panics a server logged: recovered ones (logged with the message "panic")
// and a crash (Go's "panic: " at the start of a line).
func (e *env) panics(name string) int {
	b, _ := os.ReadFile(filepath.Join(e.logDir, name+".log"))
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, `"msg":"panic"`) || strings.HasPrefix(line, "panic: ") {
			n++
		}
	}
	return n
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func mib(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }
