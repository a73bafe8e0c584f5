package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/uss/uss/migrations"
)

// Migrator applies the embedded migrations. Every run holds the migration lock, so replicas
// starting together apply each migration once.
type Migrator struct {
	db       *sql.DB
	provider *goose.Provider
}

// NewMigrator returns a Migrator over the pool. Close it when done.
func NewMigrator(pool *pgxpool.Pool) (*Migrator, error) {
	db := stdlib.OpenDBFromPool(pool)
	locker := &migrationLock{conn: pool.Config().ConnConfig}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithLocker(locker))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return &Migrator{db: db, provider: provider}, nil
}

// Up applies every pending migration.
func (m *Migrator) Up(ctx context.Context) ([]*goose.MigrationResult, error) {
	res, err := m.provider.Up(ctx)
	if err != nil {
		return res, fmt.Errorf("migrate up: %w", err)
	}
	return res, nil
}

// Down rolls back the most recent migration.
func (m *Migrator) Down(ctx context.Context) (*goose.MigrationResult, error) {
	res, err := m.provider.Down(ctx)
	if err != nil {
		return res, fmt.Errorf("migrate down: %w", err)
	}
	return res, nil
}

// DownTo rolls back every migration above version (0: all of them).
func (m *Migrator) DownTo(ctx context.Context, version int64) ([]*goose.MigrationResult, error) {
	res, err := m.provider.DownTo(ctx, version)
	if err != nil {
		return res, fmt.Errorf("migrate down to %d: %w", version, err)
	}
	return res, nil
}

// Status lists every migration with whether it is applied.
func (m *Migrator) Status(ctx context.Context) ([]*goose.MigrationStatus, error) {
	st, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	return st, nil
}

// Pending reports whether a migration is still to be applied.
func (m *Migrator) Pending(ctx context.Context) (bool, error) {
	pending, err := m.provider.HasPending(ctx)
	if err != nil {
		return false, mapError(fmt.Errorf("check migrations: %w", err))
	}
	return pending, nil
}

// Close releases the migrator's database handle (not the pool).
func (m *Migrator) Close() error { return m.db.Close() }

// migrationLockID is the advisory lock key of migrations: "uss_migr".
const migrationLockID = 0x7573735f6d696772

// migrationLock is a transaction-scoped advisory lock held by a transaction left open on a
// connection of its own while the migrations run on others. A session lock (goose's) does not
// survive PgBouncer in transaction mode: it is taken on one server connection and released on
// another, so replicas race and a lock is left held. An open transaction keeps its server
// connection, through a pooler or not, and the lock goes with the transaction however the
// process ends.
type migrationLock struct {
	conn *pgx.ConnConfig
	tx   pgx.Tx
}

// Lock waits for the lock: replicas queue on it and each runs as soon as the previous one
// finishes, finding nothing left to apply.
func (l *migrationLock) Lock(ctx context.Context, _ *sql.DB) error {
	conn, err := pgx.ConnectConfig(ctx, l.conn.Copy())
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	tx, err := conn.Begin(ctx)
	if err == nil {
		// Timeouts a DBA sets for applications must not end the wait or the held lock.
		_, err = tx.Exec(ctx, `SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0;
			SET LOCAL idle_in_transaction_session_timeout = 0`)
	}
	if err == nil {
		_, err = tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLockID))
	}
	if err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return fmt.Errorf("migration lock: %w", err)
	}
	l.tx = tx
	return nil
}

// Unlock ends the transaction, which releases the lock, and closes its connection.
func (l *migrationLock) Unlock(ctx context.Context, _ *sql.DB) error {
	tx := l.tx
	l.tx = nil
	ctx = context.WithoutCancel(ctx)
	err := tx.Rollback(ctx)
	if cerr := tx.Conn().Close(ctx); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("migration unlock: %w", err)
	}
	return nil
}
