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
	"github.com/uss/uss/internal/bodybudget"
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
	startup  startup
	closers  []func()
}

// New builds the server without waiting for the database: it is reached, created if missing
// and migrated (unless cfg.MigrateOnStart is false) in the background, retried with backoff;
// until then /livez answers and /readyz and the API say 503. WaitStarted waits for it; a done
// ctx ends the attempts.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Server, error) {
	s := &Server{cfg: cfg, logger: logger}
	s.startup.init()
	pools, err := openPools(cfg)
	if err != nil {
		return nil, err
	}
	s.pool = pools.query
	s.closers = append(s.closers, pools.close)

	s.migrator, err = postgres.NewMigrator(pools.direct)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.closers = append(s.closers, func() { _ = s.migrator.Close() })

	store := postgres.NewStore(pools.query).WithSessionsOn(pools.direct)
	s.registry = settings.NewRegistry(store, logger, settings.Limits{
		Campaigns: cfg.Limits.SettingsMaxCampaigns, Keep: cfg.Limits.SettingsKeep})

	// Sets and activations are group-committed: under load many share one statement and one
	// commit. One writer per kind of write: the batch grows with the load, and on the 2-core
	// benchmark machine one writer with larger batches beat two with smaller ones (POST
	// /v1/storage 0.73× against 0.63× pgbench's upsert rate: see docs/benchmarks.md).
	m := metrics.New(pools.query)
	writes := postgres.NewGroupCommitted(store, groupcommit.Options{
		Writers:  1,
		MaxBatch: 256,
		Timeout:  cfg.RequestTimeout,
	}, func(write string, rows int) { m.GroupCommitRows.WithLabelValues(write).Observe(float64(rows)) })
	s.closers = append(s.closers, writes.Close)

	if task := RetentionTask(cfg, store, logger, m); task != nil {
		// Once the database is reached and migrated: the task reads tables migrations make.
		s.watch(ctx, func(ctx context.Context) {
			select {
			case <-s.startup.done:
				task.Run(ctx, cfg.RetentionInterval)
			case <-ctx.Done():
			}
		})
	}

	decisions := decision.NewService(writes, s.registry)
	budget := bodybudget.New(cfg.Limits.BodyBudget, bodyBudgetWait)
	m.WatchBodyBudget(budget.Size(), budget.Held)
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
		Started:           s.startup.err,
		Metrics:           m,
		Logger:            logger,
		BodyLimit:         cfg.BodyLimit,
		SettingsBodyLimit: cfg.SettingsBodyLimit,
		BodyBudget:        budget,
		SettingsBudget:    bodybudget.New(cfg.SettingsBodyLimit, bodyBudgetWait),
		ImportBodyLimit:   cfg.ImportBodyLimit,
		RequestTimeout:    cfg.RequestTimeout,
		BulkTimeout:       cfg.BulkTimeout,
	})
	s.start(ctx, pools.direct)
	return s, nil
}

// bodyBudgetWait is how long a request waits for room in the body budget before its 503: long
// enough for a large upload ahead of it to finish, short beside the request's own timeout.
const bodyBudgetWait = time.Second

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

// watch runs a background task until Close (or ctx is done), and Close waits for it to return
// before the pool closes.
func (s *Server) watch(ctx context.Context, task func(context.Context)) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		task(ctx)
	}()
	s.closers = append(s.closers, func() { cancel(); <-done })
}

// Handler is the HTTP API.
func (s *Server) Handler() http.Handler { return s.handler }

// ready is the readiness check: started, the database answers and no migration is pending.
// Its errors are shown to unauthenticated callers, so details go to the log only. A pool whose
// every connection is in use is busy, not cut off: still ready (requests queue for a connection
// within their timeout), so that load does not take every replica out of service at once.
func (s *Server) ready(ctx context.Context) error {
	if err := s.startup.err(); err != nil {
		return err
	}
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
	case err := <-s.startup.failed:
		_ = srv.Close()
		return err
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
