// Package server wires uss together: pool, migrations, domain services, the HTTP API, and the
// lifecycle (serve, drain, close). `uss-server serve` and the tests build servers here.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/uss/uss/internal/apikey"
	"github.com/uss/uss/internal/config"
	"github.com/uss/uss/internal/connlimit"
	"github.com/uss/uss/internal/decision"
	"github.com/uss/uss/internal/goals"
	"github.com/uss/uss/internal/groupcommit"
	"github.com/uss/uss/internal/growthbook"
	"github.com/uss/uss/internal/history"
	httpapi "github.com/uss/uss/internal/http"
	"github.com/uss/uss/internal/identity"
	"github.com/uss/uss/internal/metrics"
	"github.com/uss/uss/internal/optimizely"
	"github.com/uss/uss/internal/postgres"
	"github.com/uss/uss/internal/reports"
	"github.com/uss/uss/internal/retention"
	"github.com/uss/uss/internal/settings"
	"github.com/uss/uss/internal/transfer"
	"github.com/uss/uss/internal/uisession"
	"github.com/uss/uss/internal/uss"
	"github.com/uss/uss/internal/vwofme"
)

// Server is one uss process.
type Server struct {
	cfg      config.Config
	logger   *slog.Logger
	pool     *pgxpool.Pool
	migrator *postgres.Migrator
	handler  http.Handler
	registry *settings.Registry
	// migrated latches once no migration is pending, so readiness probes stop asking.
	migrated atomic.Bool
	closers  []func()
}

// New connects to the database (creating it if missing), applies pending migrations unless
// cfg.MigrateOnStart is false, and builds the API.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Server, error) {
	s := &Server{cfg: cfg, logger: logger}
	pool, err := postgres.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	s.pool = pool
	s.closers = append(s.closers, pool.Close)

	s.migrator, err = postgres.NewMigrator(pool)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.closers = append(s.closers, func() { _ = s.migrator.Close() })
	if cfg.MigrateOnStart {
		results, err := s.migrator.Up(ctx)
		if err != nil {
			s.Close()
			return nil, err
		}
		for _, r := range results {
			logger.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
		}
	}

	store := postgres.NewStore(pool)
	s.registry = settings.NewRegistry(store, logger, settings.Limits{
		Campaigns: cfg.Limits.SettingsMaxCampaigns, Keep: cfg.Limits.SettingsKeep})
	if err := s.registry.Load(ctx); err != nil {
		// Not fatal: the watcher loads them as soon as it can, and until then decisions
		// answer 503 and the server is not ready.
		logger.Warn("settings not loaded at start; retrying in the background", "error", err)
	}
	s.watch(func(ctx context.Context) { s.registry.Watch(ctx, cfg.SettingsPollInterval) })

	// Sets and activations are group-committed: under load many share one statement and one
	// commit. One writer per kind of write: the batch grows with the load, and on the 2-core
	// benchmark machine one writer with larger batches beat two with smaller ones (POST
	// /v1/storage 0.73× against 0.63× pgbench's upsert rate: see README, Benchmarks).
	m := metrics.New(pool)
	writes := postgres.NewGroupCommitted(store, groupcommit.Options{
		Writers:  1,
		MaxBatch: 256,
		Timeout:  cfg.RequestTimeout,
	}, func(write string, rows int) { m.GroupCommitRows.WithLabelValues(write).Observe(float64(rows)) })
	s.closers = append(s.closers, writes.Close)

	if task := RetentionTask(cfg, store, logger, m); task != nil {
		s.watch(func(ctx context.Context) { task.Run(ctx, cfg.RetentionInterval) })
	}

	decisions := decision.NewService(writes, s.registry)
	keys := apikey.NewResolver(store, cfg.APIKeyCacheTTL)
	s.handler = httpapi.New(httpapi.Deps{
		Storage:           uss.NewService(writes),
		VWOFME:            vwofme.NewService(store),
		GrowthBook:        growthbook.NewService(store),
		Optimizely:        optimizely.NewService(store),
		Settings:          s.registry,
		Decisions:         decisions,
		Goals:             goals.NewService(decisions, store),
		Reports:           reports.NewService(store, s.registry),
		Identity:          identity.NewService(store),
		History:           history.NewService(store),
		Transfer:          transfer.NewService(store),
		Keys:              keys,
		Sessions:          uisession.NewService(store, keys),
		Ready:             s.ready,
		Metrics:           m,
		Logger:            logger,
		BodyLimit:         cfg.BodyLimit,
		SettingsBodyLimit: cfg.SettingsBodyLimit,
		ImportBodyLimit:   cfg.ImportBodyLimit,
		RequestTimeout:    cfg.RequestTimeout,
		BulkTimeout:       cfg.BulkTimeout,
	})
	return s, nil
}

// RetentionTask is the retention task the configuration asks for, nil when it deletes
// nothing. Every server runs it; the store's lock lets one at a time do the work. m, when not
// nil, counts what it deletes.
func RetentionTask(cfg config.Config, store *postgres.Store, logger *slog.Logger, m *metrics.Metrics) *retention.Task {
	policy := retention.Policy{Retention: cfg.Retention}
	if !policy.Enabled() {
		return nil
	}
	opts := retention.Options{Logger: logger}
	if m != nil {
		opts.Deleted = func(table retention.Table, n int64) {
			m.RetentionDeleted.WithLabelValues(string(table)).Add(float64(n))
		}
		opts.Runs = func(result string) { m.RetentionRuns.WithLabelValues(result).Inc() }
	}
	return retention.NewTask(store, policy, opts)
}

// watch runs a background task until Close, which waits for it to return before the pool
// closes.
func (s *Server) watch(task func(context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		task(ctx)
	}()
	s.closers = append(s.closers, func() { cancel(); <-done })
}

// Handler is the HTTP API.
func (s *Server) Handler() http.Handler { return s.handler }

// ready is the readiness check: the database answers and no migration is pending. Its errors
// are shown to unauthenticated callers, so details go to the log only. A pool whose every
// connection is in use is busy, not cut off: still ready (requests queue for a connection
// within their timeout), so that load does not take every replica out of service at once.
func (s *Server) ready(ctx context.Context) error {
	switch err := postgres.Ping(ctx, s.pool); {
	case errors.Is(err, postgres.ErrPoolBusy):
		s.logger.Debug("ready, busy: every pooled database connection is in use")
	case err != nil:
		s.logger.Warn("not ready: database unreachable", "error", err)
		return errors.New("database unreachable")
	}
	if s.migrated.Load() {
		return nil
	}
	pending, err := s.migrator.Pending(ctx)
	if err != nil {
		s.logger.Warn("not ready: cannot read migration state", "error", err)
		return errors.New("migration state unknown")
	}
	if pending {
		return errors.New("migrations pending: run `uss-server migrate up`")
	}
	s.migrated.Store(true)
	if !s.registry.Loaded() {
		if err := s.registry.Load(ctx); err != nil {
			s.logger.Warn("not ready: settings not loaded", "error", err)
			return errors.New("settings not loaded yet")
		}
	}
	return nil
}

// Serve answers on ln until ctx is done, then stops accepting, drains in-flight requests
// within the shutdown budget, and closes the pool.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	defer s.Close()
	limited := connlimit.New(ln, s.cfg.Limits.MaxConnections, s.logger)
	ln = limited
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       s.cfg.RequestTimeout + 10*time.Second,
		WriteTimeout:      s.cfg.RequestTimeout + 10*time.Second,
		IdleTimeout:       s.cfg.Limits.IdleTimeout,
		ConnState:         limited.ConnState,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.logger.Info("serving", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.logger.Info("shutting down: draining in-flight requests", "budget", s.cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	s.logger.Info("stopped")
	return nil
}

// Close releases everything New made, newest first. It is safe to call twice.
func (s *Server) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// Pool is the server's database pool (for commands and tests that share it).
func (s *Server) Pool() *pgxpool.Pool { return s.pool }
