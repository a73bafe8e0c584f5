// Command uss-server is the uss User Storage Service: `serve` (the default) runs the HTTP API,
// `migrate` manages the schema and `apikey` manages API keys. Configuration comes from the
// environment (docs/operations.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/uss/uss/internal/apikey"
	"github.com/uss/uss/internal/config"
	"github.com/uss/uss/internal/postgres"
	"github.com/uss/uss/internal/server"
	"github.com/uss/uss/internal/uss"
)

const usage = `usage: uss-server [command]

commands:
  serve                          run the HTTP API (default)
  migrate up|down|status         apply all, roll back one, or list migrations
  apikey create --account NAME   issue a key (printed alone on the last line)
  apikey list [--account NAME]   list keys (ids only; keys are never shown again)
  apikey revoke KEY_ID           revoke a key
  apikey check KEY               exit 0 if KEY is a valid, unrevoked key
  import --account NAME FILE     load an NDJSON export of assignments (FILE - : standard input),
                                 all lines or none
  purge [--dry-run]              delete now what USS_RETENTION says
                                 (--dry-run: print what would be deleted, delete nothing)
  healthcheck [--url URL]        exit 0 if the server on USS_LISTEN_ADDR is ready (for HEALTHCHECK)

Configuration is read from USS_* environment variables; see docs/operations.md.
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "uss-server:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	cfg, err := config.FromEnv()
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg, logger)
	case "migrate":
		return migrate(ctx, cfg, args, stdout)
	case "apikey":
		return apikeyCommand(ctx, cfg, args, stdout)
	case "import":
		return importCommand(ctx, cfg, args, os.Stdin, stdout)
	case "purge":
		return purge(ctx, cfg, logger, args, stdout)
	case "healthcheck":
		return healthcheck(ctx, cfg, args, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

func serve(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	logger.Info("starting", "database", cfg.RedactedDatabaseURL(), "direct_database", config.Redact(cfg.DirectDatabaseURL()),
		"listen", cfg.ListenAddr, "migrate_on_start", cfg.MigrateOnStart, "startup_timeout", cfg.Database.StartupTimeout,
		"memory_limit", cfg.Limits.MemoryLimit, "body_budget", cfg.Limits.BodyBudget)
	// A soft limit: near it the garbage collector runs more often instead of letting the heap
	// double over what is live (GOGC), which is what would take RSS past it under large
	// bodies. GOMEMLIMIT, when set, is the operator's own choice and wins.
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set && cfg.Limits.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.Limits.MemoryLimit)
	}
	srv, err := server.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		srv.Close()
		return fmt.Errorf("listen: %w", err)
	}
	if cfg.PprofAddr != "" {
		go servePprof(cfg.PprofAddr, logger)
	}
	return srv.Serve(ctx, ln)
}

// servePprof serves Go's profiling endpoints on their own address, for taking profiles of a
// server under load.
func servePprof(addr string, logger *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	logger.Info("serving profiles", "addr", addr)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		logger.Error("profile server stopped", "error", err)
	}
}

// connect opens the database for a one-off command, with a bounded time to reach it. The
// migrations run on the direct connection (USS_DIRECT_DATABASE_URL, else USS_DATABASE_URL),
// key queries on USS_DATABASE_URL.
func connect(ctx context.Context, cfg config.Config) (*postgres.Store, func(), *postgres.Migrator, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	direct, err := postgres.Connect(ctx, cfg.DirectDatabaseURL())
	if err != nil {
		return nil, nil, nil, err
	}
	query := direct
	if cfg.DirectDatabaseURL() != cfg.DatabaseURL {
		if query, err = postgres.Open(cfg.DatabaseURL); err != nil {
			direct.Close()
			return nil, nil, nil, err
		}
	}
	closePools := func() {
		if query != direct {
			query.Close()
		}
		direct.Close()
	}
	m, err := postgres.NewMigrator(direct)
	if err != nil {
		closePools()
		return nil, nil, nil, err
	}
	return postgres.NewStore(query), func() { m.Close(); closePools() }, m, nil
}

// connectMigrated is connect for a command that writes: the migrations are applied first, so
// a fresh database gets its tables here too.
func connectMigrated(ctx context.Context, cfg config.Config) (*postgres.Store, func(), error) {
	store, closeDB, m, err := connect(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	if _, err := m.Up(ctx); err != nil {
		closeDB()
		return nil, nil, err
	}
	return store, closeDB, nil
}

func migrate(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: uss-server migrate up|down|status")
	}
	_, closeDB, m, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	switch args[0] {
	case "up":
		results, err := m.Up(ctx)
		for _, r := range results {
			fmt.Fprintf(stdout, "applied %d %s (%s)\n", r.Source.Version, r.Source.Path, r.Duration.Round(time.Millisecond))
		}
		if err == nil && len(results) == 0 {
			fmt.Fprintln(stdout, "no migrations pending")
		}
		return err
	case "down":
		r, err := m.Down(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rolled back %d %s\n", r.Source.Version, r.Source.Path)
		return nil
	case "status":
		st, err := m.Status(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "VERSION\tSTATE\tAPPLIED AT\tFILE")
		for _, s := range st {
			applied := "-"
			if !s.AppliedAt.IsZero() {
				applied = s.AppliedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", s.Source.Version, s.State, applied, s.Source.Path)
		}
		return w.Flush()
	}
	return fmt.Errorf("unknown migrate command %q: want up, down or status", args[0])
}

func apikeyCommand(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: uss-server apikey create|list|revoke|check")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("apikey "+sub, flag.ContinueOnError)
	accountName := fs.String("account", "", "account name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, closeDB, err := connectMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	switch sub {
	case "create":
		if *accountName == "" {
			return errors.New("usage: uss-server apikey create --account NAME")
		}
		key, err := apikey.Create(ctx, store, *accountName)
		if err != nil {
			return err
		}
		id, _ := apikey.ID(key)
		fmt.Fprintf(stdout, "API key %s for account %q (shown once; store it now):\n%s\n", id, *accountName, key)
		return nil
	case "list":
		keys, err := store.ListKeys(ctx, *accountName)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "KEY ID\tACCOUNT\tCREATED\tREVOKED")
		for _, k := range keys {
			revoked := "-"
			if k.RevokedAt != nil {
				revoked = k.RevokedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", k.ID, k.AccountName, k.CreatedAt.UTC().Format(time.RFC3339), revoked)
		}
		return w.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return errors.New("usage: uss-server apikey revoke KEY_ID")
		}
		if err := store.RevokeKey(ctx, fs.Arg(0)); errors.Is(err, uss.ErrNotFound) {
			return fmt.Errorf("no active key with id %q", fs.Arg(0))
		} else if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s (servers stop accepting it within USS_APIKEY_CACHE_TTL)\n", fs.Arg(0))
		return nil
	case "check":
		if fs.NArg() != 1 {
			return errors.New("usage: uss-server apikey check KEY")
		}
		if _, err := apikey.NewResolver(store, time.Second).Resolve(ctx, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "valid")
		return nil
	}
	return fmt.Errorf("unknown apikey command %q", sub)
}
