package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/uss/uss/internal/uss"
)

// mapError is the one place where database errors become domain errors. A failure to reach
// the database becomes uss.ErrUnavailable (never uss.ErrNotFound: a caller that took it for
// "not stored" would re-bucket and overwrite a user), a missing row becomes uss.ErrNotFound,
// and a value PostgreSQL refuses becomes uss.ErrInvalidArgument. The original error stays
// wrapped for the logs.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return uss.ErrNotFound
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", // connection exception
			"53", // insufficient resources (too many connections, disk full)
			"57": // operator intervention (shutdown, cannot connect now)
			return fmt.Errorf("%w: %w", uss.ErrUnavailable, err)
		case "22": // data exception: a value the column cannot hold
			return fmt.Errorf("%w: %s", uss.ErrInvalidArgument, pgErr.Message)
		case "40": // serialization failure or deadlock: safe to retry
			return fmt.Errorf("%w: %w", uss.ErrUnavailable, err)
		}
		return err
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		pgconn.SafeToRetry(err) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%w: %w", uss.ErrUnavailable, err)
	}
	return err
}
