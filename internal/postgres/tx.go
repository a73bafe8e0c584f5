package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
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
