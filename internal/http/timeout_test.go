package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
)

type timedAnswer struct {
	user   string
	status int
	code   string
	took   time.Duration
	err    error
}

// post sends POST /v1/storage for user in the background and tells how it was answered.
func post(s *apitest.Server, key, user string) <-chan timedAnswer {
	out := make(chan timedAnswer, 1)
	go func() {
		a := timedAnswer{user: user}
		start := time.Now()
		defer func() { a.took = time.Since(start); out <- a }()
		req, err := http.NewRequest(http.MethodPost, s.URL+"/v1/storage",
			strings.NewReader(`{"userId":"`+user+`","campaignKey":"c","variationName":"Control"}`))
		if err != nil {
			a.err = err
			return
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			a.err = err
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		a.status = resp.StatusCode
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		a.code = e.Error.Code
	}()
	return out
}

// A write the database cannot take (a table lock held elsewhere) is answered within
// USS_REQUEST_TIMEOUT, time spent queued for a group commit included, and the 503 is
// truthful: "unavailable" only where nothing was written, "outcome_unknown" where the write
// was in flight. Before, a write queued behind a stalled batch waited for that batch and then
// for its own whole flush: about twice the timeout.
func TestAStalledWriteIsAnsweredWithinTheRequestTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 2 * time.Second
	s := apitest.Start(t, func(c *apitest.ConfigT) { c.RequestTimeout = timeout })
	key := s.NewKey(t, "acme")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	lock, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer lock.Rollback(ctx) //nolint:errcheck // released below; a no-op then
	_, err = lock.Exec(ctx, "LOCK TABLE assignments IN ACCESS EXCLUSIVE MODE")
	require.NoError(t, err)
	probe, err := pgx.Connect(ctx, s.DatabaseURL)
	require.NoError(t, err)
	defer probe.Close(ctx)
	count := func(sql string, args ...any) int {
		var n int
		require.NoError(t, probe.QueryRow(ctx, sql, args...).Scan(&n))
		return n
	}
	waiting := func() int {
		return count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)
	}

	first := post(s, key, "first")
	require.Eventually(t, func() bool { return waiting() == 1 }, 10*time.Second, 5*time.Millisecond,
		"the first write's batch waits for the lock")
	second := post(s, key, "second") // queued behind that batch
	answers := []timedAnswer{<-first, <-second}
	require.NoError(t, lock.Rollback(ctx), "the lock is released only once both are answered")

	for _, a := range answers {
		t.Logf("%s: %d %s after %v", a.user, a.status, a.code, a.took.Round(time.Millisecond))
		require.NoError(t, a.err, a.user)
		require.Equal(t, http.StatusServiceUnavailable, a.status, a.user)
		require.Contains(t, []string{"unavailable", "outcome_unknown"}, a.code, a.user)
		require.Less(t, a.took, timeout+timeout/2, "%s answered after %v, with a request timeout of %v", a.user, a.took, timeout)
	}
	// What was in flight may still commit now that the lock is gone; wait for it, then hold
	// the answers to the truth.
	require.Eventually(t, func() bool {
		return count(`SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`) == 0
	}, 10*time.Second, 5*time.Millisecond)
	for _, a := range answers {
		t.Logf("%s written after its 503: %d row", a.user, count(`SELECT count(*) FROM assignments WHERE user_id = $1`, a.user))
		if a.code == "unavailable" {
			require.Zero(t, count(`SELECT count(*) FROM assignments WHERE user_id = $1`, a.user),
				"%s was told nothing was changed", a.user)
		}
	}
}
