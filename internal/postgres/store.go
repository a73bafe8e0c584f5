package postgres

import (
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store implements the domain stores on a pgx pool.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }
