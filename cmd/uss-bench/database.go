package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgbenchTable is the reference table: the same columns, keys and rows as assignments, in
// the same database, so pgbench and uss read and write the same shape of data.
const pgbenchTable = "pgbench_assignments"

// dropDatabase drops the benchmark database, at the start so that every run starts from
// nothing (`uss-server apikey create` then creates and migrates it) and at the end.
func dropDatabase(ctx context.Context, databaseURL string) error {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return err
	}
	admin := cfg.ConnConfig.Copy()
	name := admin.Database
	admin.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to drop database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// benchDB is the loader's connection to the benchmark database.
type benchDB struct {
	pool    *pgxpool.Pool
	name    string
	account int64
}

func openBenchDB(ctx context.Context, databaseURL, accountName string) (*benchDB, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, err
	}
	// VACUUM of the 10M-row table goes faster with more memory; only the loader's sessions
	// are affected, never the server's.
	cfg.ConnConfig.RuntimeParams["maintenance_work_mem"] = "256MB"
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open benchmark database: %w", err)
	}
	db := &benchDB{pool: pool, name: cfg.ConnConfig.Database}
	if err := pool.QueryRow(ctx, "SELECT account_id FROM accounts WHERE name = $1", accountName).Scan(&db.account); err != nil {
		pool.Close()
		return nil, fmt.Errorf("find account %q: %w", accountName, err)
	}
	return db, nil
}

func (db *benchDB) Close() { db.pool.Close() }

// loadSQL inserts users [$2, $3) with 10 campaigns each, in key order so that the primary
// key index is built by appending. The expressions match appendUserID and appendCampaignKey.
const loadSQL = `
INSERT INTO assignments (account_id, user_id, campaign_key, variation_name, goals, source)
SELECT $1, 'user-' || lpad(u::text, 8, '0'), 'campaign-' || c,
       CASE WHEN (u + c) % 2 = 0 THEN 'Control' ELSE 'Variation-1' END, '{}', 'set'
FROM generate_series($2::int, $3::int - 1) AS u, generate_series(0, 9) AS c
ORDER BY u, c`

// loadUsers inserts users [from, to), at most chunk users per statement, calling progress
// after each statement.
func (db *benchDB) loadUsers(ctx context.Context, from, to, chunk int, progress func(loaded int)) error {
	for lo := from; lo < to; lo += chunk {
		hi := min(lo+chunk, to)
		err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			// A load commits a few times in all: waiting for each commit's WAL flush buys
			// nothing, and SET LOCAL keeps the server's sessions as they are.
			if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, loadSQL, db.account, lo, hi)
			return err
		})
		if err != nil {
			return fmt.Errorf("load users %d..%d: %w", lo, hi, err)
		}
		if progress != nil {
			progress(hi - from)
		}
	}
	return nil
}

// loadReturning stores, for users [0, n), an assignment in the activate campaign, as a
// decision would have: POST /v1/activate then answers them from the stored row.
func (db *benchDB) loadReturning(ctx context.Context, campaign string, n int) error {
	_, err := db.pool.Exec(ctx, `
INSERT INTO assignments (account_id, user_id, campaign_key, variation_name, goals, source)
SELECT $1, 'user-' || lpad(u::text, 8, '0'), $2, CASE WHEN u % 2 = 0 THEN 'Control' ELSE 'Variation-1' END, '{}', 'bucketed'
FROM generate_series(0, $3::int - 1) AS u
ORDER BY u
ON CONFLICT DO NOTHING`, db.account, campaign, n)
	if err != nil {
		return fmt.Errorf("load returning users: %w", err)
	}
	return db.vacuumAnalyze(ctx, "assignments")
}

// analyzedAt is when assignments' statistics were last gathered, by ANALYZE or autovacuum
// (nil: never).
func (db *benchDB) analyzedAt(ctx context.Context) (*time.Time, error) {
	var at *time.Time
	err := db.pool.QueryRow(ctx, `SELECT greatest(last_analyze, last_autoanalyze) FROM pg_stat_user_tables
WHERE relname = 'assignments'`).Scan(&at)
	return at, err
}

func (db *benchDB) analyze(ctx context.Context, table string) error {
	_, err := db.pool.Exec(ctx, "ANALYZE "+pgx.Identifier{table}.Sanitize())
	return err
}

// copyToPgbenchTable makes the reference table: same definition (keys, defaults, checks),
// same rows.
func (db *benchDB) copyToPgbenchTable(ctx context.Context) error {
	t := pgx.Identifier{pgbenchTable}.Sanitize()
	for _, stmt := range []string{
		"DROP TABLE IF EXISTS " + t,
		"CREATE TABLE " + t + " (LIKE assignments INCLUDING ALL)",
		"INSERT INTO " + t + " SELECT * FROM assignments ORDER BY account_id, user_id, campaign_key",
	} {
		if _, err := db.pool.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("make %s: %w", pgbenchTable, err)
		}
	}
	return nil
}

func (db *benchDB) dropPgbenchTable(ctx context.Context) error {
	_, err := db.pool.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{pgbenchTable}.Sanitize())
	return err
}

// truncateAssignments empties the assignments table for the cost-growth runs.
func (db *benchDB) truncateAssignments(ctx context.Context) error {
	_, err := db.pool.Exec(ctx, "TRUNCATE assignments")
	return err
}

// vacuumAnalyze leaves freshly loaded tables as a long-running database has them: hint bits
// set and visibility map built (else the first reads of each page write it), and statistics
// current.
func (db *benchDB) vacuumAnalyze(ctx context.Context, tables ...string) error {
	for _, t := range tables {
		if _, err := db.pool.Exec(ctx, "VACUUM (ANALYZE) "+pgx.Identifier{t}.Sanitize()); err != nil {
			return fmt.Errorf("vacuum %s: %w", t, err)
		}
	}
	return nil
}

// checkpoint flushes dirty pages before a write run so that neither side of a pair pays for
// a checkpoint the other caused. Failing to (no privilege) only makes the runs noisier.
func (db *benchDB) checkpoint(ctx context.Context) error {
	_, err := db.pool.Exec(ctx, "CHECKPOINT")
	return err
}

func (db *benchDB) count(ctx context.Context, table string) (int64, error) {
	var n int64
	err := db.pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n)
	return n, err
}

// size is the table's size on disk with its indexes, as PostgreSQL writes sizes.
func (db *benchDB) size(ctx context.Context, table string) string {
	var s string
	if err := db.pool.QueryRow(ctx, "SELECT pg_size_pretty(pg_total_relation_size($1::regclass))", table).Scan(&s); err != nil {
		return "?"
	}
	return s
}

func (db *benchDB) setting(ctx context.Context, name string) string {
	var v string
	if err := db.pool.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v); err != nil {
		return "?"
	}
	return v
}

// timed runs f and returns how long it took.
func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}
