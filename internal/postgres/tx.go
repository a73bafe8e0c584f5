package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/uss/uss/internal/goals"
)

// withTx runs fn in a transaction with opts and commits if it returns nil. The deferred
// rollback is a no-op after a commit, so no path (error or panic) leaves a transaction open.
func (s *Store) withTx(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return mapError(fmt.Errorf("begin: %w", err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // nothing to do about a failed rollback
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return mapWriteError(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// InTx implements goals.Store: fn's statements run in one transaction, committed when fn
// returns nil and rolled back otherwise, so a track that reaches several campaigns writes all
// of them or none.
func (s *Store) InTx(ctx context.Context, fn func(goals.TxStore) error) error {
	return s.withTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		return fn(&Store{pool: s.pool, db: tx, session: s.session})
	})
}

// retryConflicts runs fn again, up to attempts times in all, while it fails with a
// serialization failure or a deadlock: PostgreSQL rolled the transaction back, and running it
// again from the start is safe.
func retryConflicts(ctx context.Context, attempts int, fn func() error) error {
	var err error
	for range attempts {
		if err = fn(); !isConflict(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// isConflict: a serialization failure or a deadlock.
func isConflict(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == pgerrcode.SerializationFailure || pgErr.Code == pgerrcode.DeadlockDetected)
}
