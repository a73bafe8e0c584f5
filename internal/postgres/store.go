package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store implements the domain stores on a pgx pool.
type Store struct {
	pool *pgxpool.Pool
	// db runs every statement: the pool, or a transaction in a store made by inTx.
	db querier
	// session is where work that needs a session of its own connects: LISTEN. It is the
	// pool's own server unless a direct connection was given (the pool may be a PgBouncer).
	session *pgx.ConnConfig
}

// querier is what pgxpool.Pool and pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	CopyFrom(ctx context.Context, tableName pgx.Identifier, columnNames []string, rowSrc pgx.CopyFromSource) (int64, error)
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, db: pool, session: pool.Config().ConnConfig}
}

// WithSessionsOn returns the Store with its session work (LISTEN) connecting through direct,
// its queries still on the pool.
func (s *Store) WithSessionsOn(direct *pgxpool.Pool) *Store {
	return &Store{pool: s.pool, db: s.db, session: direct.Config().ConnConfig}
}
