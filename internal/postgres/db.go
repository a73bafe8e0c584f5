// Package postgres is the PostgreSQL adapter of uss: connection, migrations and every SQL
// statement live here and nowhere else.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// defaultConnectTimeout applies when the URL sets none, so that a request made while the
// database is down fails within the request timeout instead of hanging on a dead address.
const defaultConnectTimeout = 2 * time.Second

// Connect opens a pool on url. The database is created first if it does not exist, so that a
// new install needs nothing but a reachable server.
func Connect(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if err := EnsureDatabase(ctx, cfg.ConnConfig); err != nil {
		return nil, err
	}
	return Open(url)
}

// Open opens a pool on url without connecting: connections are made on first use.
func Open(url string) (*pgxpool.Pool, error) {
	cfg, err := ParseConfig(url)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	return pool, nil
}

// ParseConfig parses a database URL (or key=value DSN) into a pool config with uss's defaults.
// pgx options in the URL, such as pool_max_conns or default_query_exec_mode (for PgBouncer in
// transaction mode), are honoured.
func ParseConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	return cfg, nil
}

// EnsureDatabase creates the configured database if the server says it does not exist.
func EnsureDatabase(ctx context.Context, target *pgx.ConnConfig) error {
	conn, err := pgx.ConnectConfig(ctx, target)
	if err == nil {
		return conn.Close(ctx)
	}
	throughPooler := false
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == pgerrcode.InvalidCatalogName:
	case errors.As(err, &pgErr) && pgErr.Code == pgerrcode.ProtocolViolation && strings.Contains(pgErr.Message, "does not exist"):
		// PgBouncer relays PostgreSQL's refusal as a protocol violation of its own.
		throughPooler = true
	default:
		return fmt.Errorf("connect to database %q: %w", target.Database, err)
	}
	admin := target.Copy()
	admin.Database = "postgres"
	conn, err = pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to create database %q: %w", target.Database, err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{target.Database}.Sanitize())
	if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == pgerrcode.DuplicateDatabase) { // another process won
		return fmt.Errorf("create database %q: %w", target.Database, err)
	}
	if throughPooler {
		return awaitPooler(ctx, target)
	}
	return nil
}

// awaitPooler waits until PgBouncer lets clients into a database it has just seen fail: it
// refuses logins for server_login_retry (15 s by default) after a failed one.
func awaitPooler(ctx context.Context, target *pgx.ConnConfig) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		conn, err := pgx.ConnectConfig(ctx, target)
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("connect to created database %q: %w", target.Database, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// ErrPoolBusy: every connection of the pool is in use. The database answers (it is serving
// them); uss is busy, not cut off.
var ErrPoolBusy = errors.New("every pooled database connection is in use")

// Ping checks that the database answers on a pooled connection, or says ErrPoolBusy without
// waiting when none is free, or when waiting for one is what ran out of time.
func Ping(ctx context.Context, pool *pgxpool.Pool) error {
	exhausted := func() bool { st := pool.Stat(); return st.AcquiredConns() >= st.MaxConns() }
	if exhausted() {
		return ErrPoolBusy
	}
	err := pool.Ping(ctx)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err) && exhausted() {
		return ErrPoolBusy // the deadline passed waiting for a connection, not for the database
	}
	return err
}
