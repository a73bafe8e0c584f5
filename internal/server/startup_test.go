package server_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apikey"
	"github.com/uss/uss/internal/apitest"
	"github.com/uss/uss/internal/pgtest"
	"github.com/uss/uss/internal/postgres"
	"github.com/uss/uss/internal/server"
)

// through returns dbURL with its host replaced by addr (a proxy).
func through(t *testing.T, dbURL, addr string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	u.Host = addr
	return u.String()
}

func get(t *testing.T, base, path, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// Started before its database (compose or Kubernetes start everything at once): the server
// is alive but not ready and the API says 503; once PostgreSQL answers, the database is created,
// migrated and served, without a restart.
func TestServerStartedBeforeItsDatabaseServesOnceTheDatabaseAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	direct := pgtest.Direct(pgtest.EmptyURL(t))
	u, err := url.Parse(direct)
	require.NoError(t, err)
	proxy := apitest.NewProxy(t, u.Host)
	proxy.Break() // PostgreSQL is not up yet
	dbURL := through(t, direct, proxy.Addr())

	// The database itself does not exist yet either: the server must create it.
	admin, err := postgres.Connect(ctx, pgtest.Direct(pgtest.EmptyURL(t)))
	require.NoError(t, err)
	defer admin.Close()
	_, err = admin.Exec(ctx, "DROP DATABASE "+strings.TrimPrefix(u.Path, "/")+" WITH (FORCE)")
	require.NoError(t, err)

	srv, err := server.New(ctx, apitest.Config(dbURL), apitest.Logger())
	require.NoError(t, err, "New does not wait for the database")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	serveCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, ln) }()
	defer func() { stop(); require.NoError(t, <-served) }()

	status, _ := get(t, base, "/livez", "")
	require.Equal(t, http.StatusOK, status, "alive while the database is away")
	status, body := get(t, base, "/readyz", "")
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Contains(t, body, "starting")
	status, body = get(t, base, "/v1/storage?userId=u&campaignKey=c", "uss_nokey")
	require.Equal(t, http.StatusServiceUnavailable, status, "the API waits for the database: %s", body)
	time.Sleep(500 * time.Millisecond) // a few failed attempts
	require.Equal(t, http.StatusServiceUnavailable, func() int { s, _ := get(t, base, "/readyz", ""); return s }())

	proxy.Restore() // PostgreSQL comes up
	require.Eventually(t, func() bool { s, _ := get(t, base, "/readyz", ""); return s == http.StatusOK },
		30*time.Second, 50*time.Millisecond, "ready once the database answers")
	key, err := apikey.Create(ctx, postgres.NewStore(srv.Pool()), "acme")
	require.NoError(t, err)
	status, body = get(t, base, "/v1/storage?userId=u&campaignKey=c", key)
	require.Equal(t, http.StatusNotFound, status, "served from the created, migrated database: %s", body)
}

// USS_STARTUP_TIMEOUT restores the old behaviour for those who want it: no database within the
// bound, and serve stops with an error saying so.
func TestStartupTimeoutStopsServeWhenTheDatabaseNeverAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := closed.Addr().String()
	require.NoError(t, closed.Close()) // nothing listens there
	cfg := apitest.Config("postgres://postgres@" + addr + "/uss?sslmode=disable&connect_timeout=1")
	cfg.Database.StartupTimeout = time.Second

	srv, err := server.New(ctx, cfg, apitest.Logger())
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	select {
	case err := <-served:
		require.ErrorContains(t, err, "USS_STARTUP_TIMEOUT")
	case <-time.After(30 * time.Second):
		t.Fatal("serve still running long after its startup timeout")
	}
}

// Behind PgBouncer, a database that does not exist yet is created through the direct URL, and
// the server then serves its queries through PgBouncer.
func TestAServerBehindPgBouncerCreatesItsMissingDatabaseThroughTheDirectURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	direct := pgtest.Direct(pgtest.EmptyURL(t))
	u, err := url.Parse(direct)
	require.NoError(t, err)
	admin, err := postgres.Connect(ctx, pgtest.Direct(pgtest.EmptyURL(t)))
	require.NoError(t, err)
	defer admin.Close()
	_, err = admin.Exec(ctx, "DROP DATABASE "+strings.TrimPrefix(u.Path, "/")+" WITH (FORCE)")
	require.NoError(t, err)

	cfg := apitest.Config(pgtest.ThroughBouncer(t, direct))
	cfg.Database.DirectURL = direct
	srv, err := server.New(ctx, cfg, apitest.Logger())
	require.NoError(t, err)
	defer srv.Close()
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, srv.WaitStarted(waitCtx), "the database is created and migrated")
	key, err := apikey.Create(ctx, postgres.NewStore(srv.Pool()), "acme")
	require.NoError(t, err, "and queried through PgBouncer")
	require.NotEmpty(t, key)
	require.NotEqual(t, u.Port(), fmt.Sprint(srv.Pool().Config().ConnConfig.Port), "the queries go through PgBouncer")
}
