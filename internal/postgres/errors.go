package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/uss/uss/internal/uss"
)

// mapError is the one place where database errors become domain errors. A failure to reach
// the database becomes uss.ErrUnavailable (never uss.ErrNotFound: a caller that took it for
// "not stored" would re-bucket and overwrite a user), a missing row becomes uss.ErrNotFound,
// and a value PostgreSQL refuses becomes uss.ErrInvalidArgument, said in uss's own words
// (PostgreSQL's texts name its internals and never reach clients). The original error stays
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
		switch sqlstateClass(pgErr.Code) {
		case sqlstateClass(pgerrcode.ConnectionException),
			sqlstateClass(pgerrcode.InsufficientResources), // too many connections, disk full
			sqlstateClass(pgerrcode.OperatorIntervention):  // shutdown, cannot connect now
			return fmt.Errorf("%w: %w", uss.ErrUnavailable, err)
		case sqlstateClass(pgerrcode.DataException): // a value the column cannot hold
			return fmt.Errorf("%w (%w)", uss.Invalid("", "%s", refusedValue(pgErr.Code)), err)
		case sqlstateClass(pgerrcode.TransactionRollback): // serialization failure or deadlock: safe to retry
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

// mapWriteError is mapError for a statement that commits on its own, and for COMMIT. When it
// failed after it may have reached the database and no answer came (the time ran out while
// it ran, or the connection broke), it may or may not have been committed: that is
// uss.ErrOutcomeUnknown, never the "unavailable, nothing was changed" of mapError. A refusal
// by the database, or a failure before anything was sent (no connection, none free in the
// pool before the deadline), changed nothing and maps as mapError says. Inside a transaction,
// any failure before COMMIT rolls it back: those go through mapError.
func mapWriteError(err error) error {
	if err != nil && mayHaveCommitted(err) {
		return fmt.Errorf("%w: %w", uss.ErrOutcomeUnknown, err)
	}
	return mapError(err)
}

// writeError maps the error of a statement that writes: on the pool it commits on its own
// (mapWriteError); in a transaction nothing commits before COMMIT, which withTx maps.
func (s *Store) writeError(err error) error {
	if _, inTx := s.db.(pgx.Tx); inTx {
		return mapError(err)
	}
	return mapWriteError(err)
}

func mayHaveCommitted(err error) bool {
	var pgErr *pgconn.PgError
	var connectErr *pgconn.ConnectError
	switch {
	case errors.As(err, &pgErr), errors.As(err, &connectErr), errors.Is(err, pgx.ErrNoRows), pgconn.SafeToRetry(err):
		return false
	case pgconn.Timeout(err):
		// The context ended while the statement ran. (Ended before it was sent, pgconn says
		// it is safe to retry.)
		return true
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		// Waiting for a pooled connection; or the client left, which pgconn does not tell
		// apart, and which nobody hears the answer to.
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed)
}

// sqlstateClass is the class of a SQLSTATE, its first two characters: a class is matched
// whole, so that a code a newer PostgreSQL adds to it maps as its siblings do.
func sqlstateClass(code string) string {
	if len(code) < 2 {
		return code
	}
	return code[:2]
}

// refusedValue says in uss's words why PostgreSQL refused a value (SQLSTATE class 22).
func refusedValue(code string) string {
	switch code {
	case pgerrcode.CharacterNotInRepertoire: // "invalid byte sequence for encoding"
		return "a value is not valid UTF-8"
	case pgerrcode.UntranslatableCharacter: // \u0000 in jsonb
		return "a value holds a character that cannot be stored (\\u0000)"
	case pgerrcode.NumericValueOutOfRange: // "value overflows numeric format", "bigint out of range"
		return "a number is out of the range that can be stored"
	case pgerrcode.InvalidTextRepresentation: // "invalid input syntax for type ..."
		return "a value is not in the form its field needs"
	case pgerrcode.StringDataRightTruncationDataException:
		return "a value is too long to be stored"
	case pgerrcode.NullValueNotAllowedDataException:
		return "a required value is null"
	}
	return "a value cannot be stored"
}
