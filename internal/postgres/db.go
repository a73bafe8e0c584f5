// Package postgres is the PostgreSQL adapter of uss: connection, migrations and every SQL
// statement live here and nowhere else.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
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
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
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
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: another process won
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %q: %w", target.Database, err)
	}
	return nil
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
