package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/uss/uss/internal/apikey"
	"github.com/uss/uss/internal/campaign"
	"github.com/uss/uss/internal/uss"
)

// Stable, machine-readable error codes of the API.
const (
	codeInvalidArgument  = "invalid_argument"
	codeUnauthenticated  = "unauthenticated"
	codeForbidden        = "forbidden"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codePayloadTooLarge  = "payload_too_large"
	codeUnavailable      = "unavailable"
	codeOutcomeUnknown   = "outcome_unknown"
	codeCanceled         = "canceled"
	codeInternal         = "internal"
)

// statusClientClosedRequest is the conventional status of a request its client abandoned.
const statusClientClosedRequest = 499

// apiError is an error with everything the client sees.
type apiError struct {
	Status  int
	Code    string
	Message string
	// Details lists every problem when there are several (a settings file).
	Details []string
	// RetryAfter, in seconds, is sent as Retry-After when not zero.
	RetryAfter int
}

func (e *apiError) Error() string { return e.Message }

type errorBody struct {
	Error errorPayload `json:"error"`
}

type errorPayload struct {
	Code      string   `json:"code"`
	Message   string   `json:"message"`
	RequestID string   `json:"requestId"`
	Details   []string `json:"details,omitempty"`
}

func invalid(format string, args ...any) error {
	return uss.Invalid("", format, args...)
}

// classify turns any error into what the client sees. Internal errors keep their text out of
// the response; the log has it.
func classify(err error) *apiError {
	var ae *apiError
	var he *echo.HTTPError
	var tooLarge *http.MaxBytesError
	var invalidSettings *campaign.ValidationError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &tooLarge):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: codePayloadTooLarge,
			Message: fmt.Sprintf("request body is larger than the limit of %d bytes", tooLarge.Limit)}
	case errors.Is(err, uss.ErrInvalidArgument):
		return &apiError{Status: http.StatusBadRequest, Code: codeInvalidArgument, Message: invalidMessage(err)}
	case errors.Is(err, apikey.ErrUnauthenticated):
		return &apiError{Status: http.StatusUnauthorized, Code: codeUnauthenticated, Message: err.Error()}
	case errors.As(err, &invalidSettings):
		return &apiError{Status: http.StatusBadRequest, Code: codeInvalidArgument,
			Message: fmt.Sprintf("the settings file is invalid (%d problems); nothing was stored", len(invalidSettings.Problems)),
			Details: invalidSettings.Problems}
	case errors.Is(err, uss.ErrNotFound):
		// Not-found errors are built by uss from what the caller asked for; safe to show.
		return &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: err.Error()}
	case errors.Is(err, uss.ErrOutcomeUnknown):
		// Checked before the deadline below, which it may wrap: here something may have changed.
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeOutcomeUnknown,
			Message: "the request ran out of time, or lost the database, while its write was in flight: " +
				"it may or may not have been committed; read it back before retrying"}
	case errors.Is(err, uss.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable,
			Message: "the database is unavailable; nothing was changed by this request, retry later"}
	case errors.Is(err, context.Canceled):
		return &apiError{Status: statusClientClosedRequest, Code: codeCanceled, Message: "request canceled"}
	case errors.As(err, &he):
		return fromEchoError(he)
	}
	return &apiError{Status: http.StatusInternalServerError, Code: codeInternal, Message: "internal error"}
}

func invalidMessage(err error) string {
	var ia *uss.InvalidArgumentError
	if errors.As(err, &ia) {
		return ia.Error()
	}
	// Only uss's own words are shown; any other text is for the log.
	return "the request is invalid"
}

func fromEchoError(he *echo.HTTPError) *apiError {
	switch he.Code {
	case http.StatusNotFound:
		return &apiError{Status: he.Code, Code: codeNotFound, Message: "no such route"}
	case http.StatusMethodNotAllowed:
		return &apiError{Status: he.Code, Code: codeMethodNotAllowed, Message: "method not allowed on this route"}
	case http.StatusRequestEntityTooLarge:
		return &apiError{Status: he.Code, Code: codePayloadTooLarge, Message: "request body is larger than the limit"}
	case http.StatusServiceUnavailable:
		return &apiError{Status: he.Code, Code: codeUnavailable, Message: "service unavailable, retry later"}
	case http.StatusUnauthorized:
		return &apiError{Status: he.Code, Code: codeUnauthenticated, Message: apikey.ErrUnauthenticated.Error()}
	}
	if he.Code >= 400 && he.Code < 500 {
		return &apiError{Status: he.Code, Code: codeInvalidArgument, Message: http.StatusText(he.Code)}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: codeInternal, Message: "internal error"}
}

// errorHandler renders every error in the one JSON shape and logs what the client cannot see.
// Its log lines carry the code and message the client got, beside the error itself (and the
// database's SQLSTATE when it has one), so a client's report can be found in the log.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		ae := classify(err)
		rid := requestID(c)
		c.Set(ctxErrorCode, ae.Code)
		level, msg := slog.LevelError, "request failed"
		switch {
		case ae.Status == http.StatusServiceUnavailable:
			level, msg = slog.LevelWarn, "request failed: "+ae.Code
		case ae.Status < 500:
			level = slog.LevelDebug // the access log has it; details help only when debugging
		}
		if logger.Enabled(c.Request().Context(), level) {
			attrs := []slog.Attr{slog.String("request_id", rid), slog.String("route", c.Path()),
				slog.Int("status", ae.Status), slog.String("code", ae.Code), slog.String("message", ae.Message),
				slog.Any("error", err)}
			if state := sqlState(err); state != "" {
				attrs = append(attrs, slog.String("sqlstate", state))
			}
			logger.LogAttrs(c.Request().Context(), level, msg, attrs...)
		}
		if ae.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
		}
		if ae.Status == http.StatusUnauthorized {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, "Bearer")
		}
		body := errorBody{Error: errorPayload{Code: ae.Code, Message: ae.Message, RequestID: rid, Details: ae.Details}}
		if c.Request().Method == http.MethodHead {
			err = c.NoContent(ae.Status)
		} else {
			err = c.JSON(ae.Status, body)
		}
		if err != nil {
			logger.Debug("write error response", "request_id", rid, "error", err)
		}
	}
}

// sqlState is the SQLSTATE of a database error in err's chain (pgconn.PgError has the
// method), or "".
func sqlState(err error) string {
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		return pg.SQLState()
	}
	return ""
}
