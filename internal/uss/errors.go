package uss

import (
	"errors"
	"fmt"
)

// Errors every layer agrees on. The storage adapter maps database errors onto them once; the
// HTTP layer maps them onto status codes once.
var (
	// ErrNotFound: the row does not exist in the caller's account. Another account's row is
	// not found too: tenants never learn of each other's data.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the database cannot be reached now. It is never reported as not found,
	// so a caller never re-buckets a user whose assignment it could not read.
	ErrUnavailable = errors.New("database unavailable")
	// ErrInvalidArgument: the request is malformed; nothing was changed.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrOutcomeUnknown: a write reached the database, or may have, but no answer came (time
	// ran out, or the connection broke): it may or may not have been committed. It is never
	// reported as "nothing was changed".
	ErrOutcomeUnknown = errors.New("the outcome of the write is unknown")
)

// InvalidArgumentError says which input is wrong and why. It matches ErrInvalidArgument.
type InvalidArgumentError struct {
	Field  string
	Reason string
}

func (e *InvalidArgumentError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + " " + e.Reason
}

// Is makes errors.Is(err, ErrInvalidArgument) true.
func (e *InvalidArgumentError) Is(target error) bool { return target == ErrInvalidArgument }

// Invalid builds an InvalidArgumentError; the reason reads after the field name.
func Invalid(field, format string, args ...any) error {
	return &InvalidArgumentError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
