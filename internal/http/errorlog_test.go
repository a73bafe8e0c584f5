package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/uss"
)

// dbError stands for a driver's error: it carries a SQLSTATE the way pgconn.PgError does.
type dbError struct{ state, text string }

func (e *dbError) Error() string    { return e.text }
func (e *dbError) SQLState() string { return e.state }

// An operator given a client's error (its code, message and request id) finds the line in
// the log, with the cause the client was not shown.
func TestErrorLogLinesCarryTheCodeAndMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		err      error
		level    string
		code     string
		message  string
		sqlstate string
	}{
		{"an internal error from the database", fmt.Errorf("save: %w", &dbError{pgerrcode.InternalError, "ERROR: boom (SQLSTATE XX000)"}),
			"ERROR", codeInternal, "internal error", pgerrcode.InternalError},
		{"the database unavailable", fmt.Errorf("%w: %w", uss.ErrUnavailable, &dbError{pgerrcode.AdminShutdown, "terminating connection"}),
			"WARN", codeUnavailable, "the database is unavailable; nothing was changed by this request, retry later", pgerrcode.AdminShutdown},
		{"a refused value", fmt.Errorf("%w (%w)", uss.Invalid("", "a value is not valid UTF-8"), &dbError{pgerrcode.CharacterNotInRepertoire, "invalid byte sequence"}),
			"DEBUG", codeInvalidArgument, "a value is not valid UTF-8", pgerrcode.CharacterNotInRepertoire},
		{"an error without a SQLSTATE", errors.New("something broke"), "ERROR", codeInternal, "internal error", ""},
	} {
		var logs bytes.Buffer
		handle := errorHandler(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
		rec := httptest.NewRecorder()
		c := echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/v1/storage", nil), rec)
		c.SetPath("/v1/storage")
		c.Set(ctxRequestID, "req-1")
		handle(tc.err, c)

		var line map[string]any
		require.NoError(t, json.Unmarshal(logs.Bytes(), &line), "%s: one JSON line: %s", tc.name, logs.String())
		require.Equal(t, tc.level, line["level"], tc.name)
		require.Equal(t, tc.code, line["code"], tc.name)
		require.Equal(t, tc.message, line["message"], tc.name)
		require.Equal(t, "req-1", line["request_id"], tc.name)
		require.Equal(t, tc.err.Error(), line["error"], tc.name)
		if tc.sqlstate == "" {
			require.NotContains(t, line, "sqlstate", tc.name)
		} else {
			require.Equal(t, tc.sqlstate, line["sqlstate"], tc.name)
		}

		var body errorBody
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		require.Equal(t, tc.code, body.Error.Code, "%s: the log says what the client got", tc.name)
		require.Equal(t, tc.message, body.Error.Message, tc.name)
	}
}
