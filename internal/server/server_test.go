package server_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apikey"
	"github.com/uss/uss/internal/apitest"
	"github.com/uss/uss/internal/pgtest"
	"github.com/uss/uss/internal/postgres"
	"github.com/uss/uss/internal/server"
)

// serving is a server run as `uss-server serve` runs it, on a listener of its own.
type serving struct {
	srv    *server.Server
	dbURL  string
	key    string
	ln     net.Listener
	base   string
	stop   context.CancelFunc // what SIGTERM does in main
	served chan error         // what Serve returned
}

func serve(t *testing.T, opts ...apitest.Option) serving {
	t.Helper()
	ctx := context.Background()
	s := serving{dbURL: pgtest.URL(t), served: make(chan error, 1)}
	cfg := apitest.Config(s.dbURL)
	for _, o := range opts {
		o(&cfg)
	}
	var err error
	s.srv, err = server.New(ctx, cfg, apitest.Logger())
	require.NoError(t, err)
	require.NoError(t, s.srv.WaitStarted(ctx))
	s.key, err = apikey.Create(ctx, postgres.NewStore(s.srv.Pool()), "acme")
	require.NoError(t, err)
	s.ln, err = net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.base = "http://" + s.ln.Addr().String()
	serveCtx, stop := context.WithCancel(ctx)
	s.stop = stop
	go func() { s.served <- s.srv.Serve(serveCtx, s.ln) }()
	return s
}

// SIGTERM (a cancelled context) stops new connections, lets an in-flight write finish and
// answer, and only then closes the pool.
func TestShutdownDrainsInFlightRequestsThenClosesThePool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Budgets far beyond what the steps below take, even on a busy machine: the in-flight write
	// must be answered by the drain, not by its own timeout.
	s := serve(t, func(c *apitest.ConfigT) { c.RequestTimeout, c.ShutdownTimeout = 30*time.Second, 30*time.Second })
	srv, dbURL, key, ln, base, stop, served := s.srv, s.dbURL, s.key, s.ln, s.base, s.stop, s.served

	post := func(variation string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/storage",
			strings.NewReader(`{"userId":"u","campaignKey":"c","variationName":"`+variation+`"}`))
		req.Header.Set("Authorization", "Bearer "+key)
		return (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	}
	resp, err := post("Control")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// Hold the row so the next write waits inside the server.
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "SELECT 1 FROM assignments WHERE user_id = 'u' FOR UPDATE")
	require.NoError(t, err)

	inflight := make(chan int, 1)
	go func() {
		resp, err := post("Variation-1")
		if err != nil {
			inflight <- -1
			return
		}
		resp.Body.Close()
		inflight <- resp.StatusCode
	}()
	require.Eventually(t, func() bool {
		var waiting int
		_ = conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		return waiting == 1
	}, 20*time.Second, 10*time.Millisecond, "the write is waiting on the row lock")

	stop() // what SIGTERM does in main
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 100*time.Millisecond)
		if err != nil {
			return true
		}
		// A probe accepted before the listener closed must not linger: the drain waits up to
		// 5 s for a connection that has sent nothing, longer than the shutdown budget.
		c.Close()
		return false
	}, 20*time.Second, 10*time.Millisecond, "no new connections while draining")
	select {
	case err := <-served:
		t.Fatalf("Serve returned (%v) while a request was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}

	require.NoError(t, tx.Commit(ctx))
	require.Equal(t, http.StatusOK, <-inflight, "the in-flight write was answered")
	require.NoError(t, <-served)

	var variation string
	require.NoError(t, conn.QueryRow(ctx, "SELECT variation_name FROM assignments WHERE user_id = 'u'").Scan(&variation))
	require.Equal(t, "Variation-1", variation, "the acknowledged write is committed")
	require.Error(t, srv.Pool().Ping(ctx), "the pool is closed after the drain")
}

// Shutdown under a stream of group-committed writes: every write acknowledged with a 200 is
// committed with what it wrote, and every write refused is absent, whatever moment the
// shutdown hits.
func TestShutdownWithGroupCommittedWritesInFlightLosesNoAcknowledgedWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := serve(t)
	dbURL, key, base, stop, served := s.dbURL, s.key, s.base, s.stop, s.served

	// 16 clients write distinct rows as fast as they can until the server stops answering.
	type write struct {
		user   string
		status int // 0: no answer (connection refused or closed)
	}
	const clients = 16
	writes := make(chan write, 100000)
	var wg sync.WaitGroup
	var answered atomic.Int64
	for c := range clients {
		wg.Go(func() {
			client := &http.Client{Timeout: 10 * time.Second}
			for n := 0; ; n++ {
				user := fmt.Sprintf("user-%d-%d", c, n)
				req, _ := http.NewRequest(http.MethodPost, base+"/v1/storage",
					strings.NewReader(`{"userId":"`+user+`","campaignKey":"c","variationName":"V-`+user+`"}`))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(req)
				if err != nil {
					writes <- write{user: user}
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				writes <- write{user: user, status: resp.StatusCode}
				answered.Add(1)
				if resp.StatusCode != http.StatusOK {
					return
				}
			}
		})
	}
	require.Eventually(t, func() bool { return answered.Load() >= 500 }, 30*time.Second, time.Millisecond)
	stop() // what SIGTERM does in main
	require.NoError(t, <-served)
	wg.Wait()
	close(writes)

	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT user_id, variation_name FROM assignments")
	require.NoError(t, err)
	stored := map[string]string{}
	var user, variation string
	_, err = pgx.ForEachRow(rows, []any{&user, &variation}, func() error { stored[user] = variation; return nil })
	require.NoError(t, err)

	var acked int
	for w := range writes {
		switch w.status {
		case http.StatusOK:
			acked++
			require.Equal(t, "V-"+w.user, stored[w.user], "acknowledged write of %s is committed", w.user)
		case 0:
			// Never answered: committed or not, the client cannot know and may retry (set is idempotent).
		default:
			_, found := stored[w.user]
			require.False(t, found, "%s was refused with %d but stored", w.user, w.status)
		}
	}
	require.GreaterOrEqual(t, acked, 500)
	t.Logf("%d writes acknowledged before the shutdown, %d rows stored", acked, len(stored))
}

func TestReadinessWaitsForMigrationsWhenNotAppliedOnStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := pgtest.EmptyURL(t)
	s := apitest.StartOn(t, dbURL, func(c *apitest.ConfigT) { c.MigrateOnStart = false })
	resp := s.Do(t, "", http.MethodGet, "/readyz", nil)
	require.Equal(t, http.StatusServiceUnavailable, resp.Status)
	require.Contains(t, string(resp.Body), "migrations pending")

	pool, err := postgres.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer pool.Close()
	m, err := postgres.NewMigrator(pool)
	require.NoError(t, err)
	defer m.Close()
	_, err = m.Up(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, s.Do(t, "", http.MethodGet, "/readyz", nil).Status)
}

func TestServeAppliesMigrationsOnStartByDefault(t *testing.T) {
	t.Parallel()
	s := apitest.StartOn(t, pgtest.EmptyURL(t))
	require.Equal(t, http.StatusOK, s.Do(t, "", http.MethodGet, "/readyz", nil).Status)
	key := s.NewKey(t, "acme")
	resp := s.Do(t, key, http.MethodPost, "/v1/storage", `{"userId":"u","campaignKey":"c","variationName":"V"}`)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
}
