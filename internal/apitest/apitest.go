// Package apitest runs real uss servers on real PostgreSQL databases for tests that go
// through HTTP, and gives them a small client. Every exchange with such a server is held to
// the OpenAPI document, api/openapi.yaml (openapi.go).
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apikey"
	"github.com/uss/uss/internal/config"
	"github.com/uss/uss/internal/pgtest"
	"github.com/uss/uss/internal/postgres"
	"github.com/uss/uss/internal/server"
)

// Server is one running uss server.
type Server struct {
	URL         string
	DatabaseURL string
	srv         *server.Server
	ts          *httptest.Server
}

// ConfigT is the server configuration, named here so tests need not import config.
type ConfigT = config.Config

// Option changes a test server's configuration.
type Option func(*config.Config)

// Config returns the configuration tests start from: the defaults with short timeouts.
func Config(databaseURL string) config.Config {
	cfg := config.Default()
	cfg.DatabaseURL = databaseURL
	// Through the test PgBouncer, session work goes to the server directly, as in production.
	if direct := pgtest.Direct(databaseURL); direct != databaseURL {
		cfg.Database.DirectURL = direct
	}
	cfg.RequestTimeout = 5 * time.Second
	cfg.ShutdownTimeout = 5 * time.Second
	return cfg
}

// Start runs a server on a new migrated database.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	return StartOn(t, pgtest.URL(t), opts...)
}

// StartOn runs a server on an existing database, so several servers can share one.
func StartOn(t testing.TB, databaseURL string, opts ...Option) *Server {
	t.Helper()
	return StartLogged(t, databaseURL, Logger(), opts...)
}

// StartLogged is StartOn with the server's log going to logger.
func StartLogged(t testing.TB, databaseURL string, logger *slog.Logger, opts ...Option) *Server {
	t.Helper()
	cfg := Config(databaseURL)
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := server.New(context.Background(), cfg, logger)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.WaitStarted(ctx); err != nil {
		srv.Close()
		require.NoError(t, err, "the server starts")
	}
	ts := httptest.NewServer(validated(t, srv.Handler()))
	s := &Server{URL: ts.URL, DatabaseURL: databaseURL, srv: srv, ts: ts}
	t.Cleanup(s.Stop)
	return s
}

// Stop stops the server before the test ends: its requests finish, then its pool closes (so
// the database's own statistics of its sessions are final). Stopping twice is harmless.
func (s *Server) Stop() {
	s.ts.Close()
	s.srv.Close()
}

// Logger discards logs unless USS_TEST_LOG is set.
func Logger() *slog.Logger {
	if os.Getenv("USS_TEST_LOG") != "" {
		return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// Handler is the server's HTTP handler, for in-process requests (fuzzing); requests made
// through it are not held to the document.
func (s *Server) Handler() http.Handler { return s.srv.Handler() }

// NewKey issues an API key for the named account.
func (s *Server) NewKey(t testing.TB, account string) string {
	t.Helper()
	key, err := apikey.Create(context.Background(), postgres.NewStore(s.srv.Pool()), account)
	require.NoError(t, err)
	return key
}

// Response is what a request got.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Decode decodes the JSON body into v.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), "body: %s", r.Body)
}

// ErrorCode is the code of a JSON error body ("" when it is not one).
func (r Response) ErrorCode(t testing.TB) string {
	t.Helper()
	var e struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"requestId"`
		} `json:"error"`
	}
	r.Decode(t, &e)
	require.NotEmpty(t, e.Error.Message, "error body without message: %s", r.Body)
	require.NotEmpty(t, e.Error.RequestID, "error body without requestId: %s", r.Body)
	return e.Error.Code
}

// Do sends a request with the key (none when empty). body is sent as is when it is a string or
// []byte, else encoded as JSON; nil sends no body.
func (s *Server) Do(t testing.TB, key, method, path string, body any) Response {
	t.Helper()
	resp, err := s.Request(key, method, path, body)
	require.NoError(t, err)
	return resp
}

// Request is Do for a goroutine other than the test's, where a failed require could not stop
// the test: it returns what went wrong for the test's goroutine to check.
func (s *Server) Request(key, method, path string, body any) (Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			return Response{}, err
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		return Response{}, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return send(req)
}

// DoNDJSON sends an NDJSON body (an import) with the key.
func (s *Server) DoNDJSON(t testing.TB, key, path string, body string) Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	return s.Send(t, req)
}

// noRedirects answers a redirect with the redirect itself, so tests see what the server said.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Send sends a request built by the test (to s.URL) as it is; redirects are not followed.
func (s *Server) Send(t testing.TB, req *http.Request) Response {
	t.Helper()
	resp, err := send(req)
	require.NoError(t, err)
	return resp
}

func send(req *http.Request) (Response, error) {
	resp, err := noRedirects.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}
