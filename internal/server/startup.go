package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/uss/uss/internal/config"
	"github.com/uss/uss/internal/postgres"
)

// pools are the server's connections to PostgreSQL: queries go through query, which may be a
// transaction-pooling PgBouncer; what needs a session of its own (creating the database,
// migrations, LISTEN) goes through direct, which is query itself when no direct URL is given.
type pools struct {
	query, direct *pgxpool.Pool
	close         func()
}

// openPools opens the pools without connecting: pgx connects on first use, so the server can
// start before the database does.
func openPools(cfg config.Config) (pools, error) {
	query, err := postgres.Open(cfg.DatabaseURL)
	if err != nil {
		return pools{}, err
	}
	if cfg.DirectDatabaseURL() == cfg.DatabaseURL {
		return pools{query: query, direct: query, close: query.Close}, nil
	}
	direct, err := postgres.Open(cfg.DirectDatabaseURL())
	if err != nil {
		query.Close()
		return pools{}, fmt.Errorf("USS_DIRECT_DATABASE_URL: %w", err)
	}
	return pools{query: query, direct: direct, close: func() { direct.Close(); query.Close() }}, nil
}

// startup is the state of the server's start: until the database has answered (and been
// migrated, if the server migrates) err says why the server cannot serve yet.
type startup struct {
	mu    sync.Mutex
	state error // nil once started
	// done is closed once started; failed gets the error that ends the start, if any.
	done   chan struct{}
	failed chan error
}

var (
	errStarting  = errors.New("starting: database not reached yet")
	errMigrating = errors.New("starting: applying migrations")
)

func (st *startup) init() {
	st.state, st.done, st.failed = errStarting, make(chan struct{}), make(chan error, 1)
}

func (st *startup) err() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.state
}

func (st *startup) set(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.state = err
}

// Backoff of the attempts to reach the database at start.
const (
	startRetryFirst = 100 * time.Millisecond
	startRetryMax   = 5 * time.Second
)

// start reaches the database in the background, retrying with backoff, then keeps the settings
// current until Close. When cfg's startup timeout passes first, Serve returns the error.
func (s *Server) start(ctx context.Context, direct *pgxpool.Pool) {
	s.watch(ctx, func(ctx context.Context) {
		if err := s.retryStart(ctx, direct); err != nil {
			if ctx.Err() == nil {
				s.logger.Error("giving up starting", "error", err)
				s.startup.failed <- err
			}
			return
		}
		s.startup.set(nil)
		close(s.startup.done)
		s.registry.Watch(ctx, s.cfg.SettingsPollInterval)
	})
}

func (s *Server) retryStart(ctx context.Context, direct *pgxpool.Pool) error {
	began := time.Now()
	if limit := s.cfg.Database.StartupTimeout; limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	wait := startRetryFirst
	for attempt := 1; ; attempt++ {
		err := s.reachDatabase(ctx, direct)
		if err == nil {
			s.logger.Info("started", "attempts", attempt, "after", time.Since(began).Round(time.Millisecond))
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("database not ready within USS_STARTUP_TIMEOUT (%s) after %d attempts: %w",
				s.cfg.Database.StartupTimeout, attempt, err)
		}
		s.logger.Warn("database not ready at start; retrying", "attempt", attempt, "retry_in", wait, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, startRetryMax)
	}
}

// reachDatabase is one attempt: create the database if missing, apply pending migrations
// (under the migration lock, so replicas apply each once) and load the settings.
func (s *Server) reachDatabase(ctx context.Context, direct *pgxpool.Pool) error {
	if err := postgres.EnsureDatabase(ctx, direct.Config().ConnConfig); err != nil {
		return err
	}
	if s.cfg.MigrateOnStart {
		s.startup.set(errMigrating)
		results, err := s.migrator.Up(ctx)
		for _, r := range results {
			s.logger.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
		}
		if err != nil {
			s.startup.set(errStarting)
			return err
		}
	}
	if err := s.registry.Load(ctx); err != nil {
		// Not fatal: the watcher loads them as soon as it can, and until then decisions
		// answer 503 and the server is not ready.
		s.logger.Warn("settings not loaded at start; retrying in the background", "error", err)
	}
	return nil
}

// WaitStarted waits until the server has reached its database, or its start failed, or ctx is
// done.
func (s *Server) WaitStarted(ctx context.Context) error {
	select {
	case <-s.startup.done:
		return nil
	case err := <-s.startup.failed:
		s.startup.failed <- err // for Serve
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w (%w)", ctx.Err(), s.startup.err())
	}
}
