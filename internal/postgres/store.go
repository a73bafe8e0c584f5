package postgres

import (
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store implements the domain stores on a pgx pool.
type Store struct {
	pool *pgxpool.Pool
	// session is where work that needs a session of its own connects: LISTEN. It is the
	// pool's own server unless a direct connection was given (the pool may be a PgBouncer).
	session *pgx.ConnConfig
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, session: pool.Config().ConnConfig}
}

// WithSessionsOn returns the Store with its session work (LISTEN) connecting through direct,
// its queries still on the pool.
func (s *Store) WithSessionsOn(direct *pgxpool.Pool) *Store {
	return &Store{pool: s.pool, session: direct.Config().ConnConfig}
}
