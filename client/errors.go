package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Errors a call's *Error matches with errors.Is.
var (
	// ErrNotFound: the server answered that nothing is stored there (404 with code
	// "not_found"). Only this error means "not stored".
	ErrNotFound = errors.New("uss: not found")
	// ErrUnavailable: uss could not be asked or could not answer: connection refused or
	// broken, timeout, 5xx (its database is down), or an answer that is not uss's. Whether a
	// write took effect is unknown for a broken connection and for a 503 with code
	// "outcome_unknown" (the write was in flight when uss's time ran out), and no for a 503
	// with code "unavailable". Retrying later is reasonable; treating it as "not found" is not.
	ErrUnavailable = errors.New("uss: unavailable")
	// ErrInvalidArgument: the server refused the request as malformed (400, 413); it changed
	// nothing, and retrying the same request will not help.
	ErrInvalidArgument = errors.New("uss: invalid argument")
	// ErrUnauthenticated: the API key is missing, unknown or revoked (401).
	ErrUnauthenticated = errors.New("uss: unauthenticated")
)

// Error is a failed call. errors.Is matches it against the Err* values above by what
// happened, and against the context's error when the call's context ended.
type Error struct {
	// Op names the call, such as "get assignment".
	Op string
	// StatusCode is the HTTP status of the answer, 0 when none came.
	StatusCode int
	// Code, Message and RequestID come from the server's JSON error body, when it sent one.
	Code      string
	Message   string
	RequestID string
	// Err is the cause when no usable answer came (a transport or decoding error).
	Err error

	noAnswer bool
}

func (e *Error) Error() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("uss %s: %v", e.Op, e.Err)
	case e.Code != "":
		return fmt.Sprintf("uss %s: %d %s: %s (request %s)", e.Op, e.StatusCode, e.Code, e.Message, e.RequestID)
	}
	return fmt.Sprintf("uss %s: unexpected answer %d %s", e.Op, e.StatusCode, http.StatusText(e.StatusCode))
}

// Unwrap returns the cause, so errors.Is(err, context.Canceled) works.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the Err* values. A call its caller canceled is not ErrUnavailable: uss did
// nothing wrong, and the caller knows why it stopped.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound && e.Code == "not_found"
	case ErrInvalidArgument:
		return e.Code == "invalid_argument" || e.Code == "payload_too_large"
	case ErrUnauthenticated:
		return e.Code == "unauthenticated"
	case ErrUnavailable:
		if e.noAnswer {
			return !errors.Is(e.Err, context.Canceled)
		}
		return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests || e.Code == "" ||
			e.Code == "unavailable"
	}
	return false
}

// answerError reads a non-2xx answer. One without uss's JSON error body (a proxy's 404 or
// 502 page) is ErrUnavailable: it says nothing about what uss stores.
func answerError(op string, resp *http.Response) error {
	e := &Error{Op: op, StatusCode: resp.StatusCode}
	var body struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"requestId"`
		} `json:"error"`
	}
	if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body) == nil {
		e.Code, e.Message, e.RequestID = body.Error.Code, body.Error.Message, body.Error.RequestID
	}
	return e
}
