package httpapi_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
	"github.com/uss/uss/internal/pgtest"
)

// Two servers whose queries all go through a transaction-pooling PgBouncer, LISTEN on the direct
// URL: a settings change through one is in use by the other within a second or so, by
// notification (the poll is an hour, so it cannot be what delivers it). The bound asserted is
// generous; the figures are printed.
func TestSettingsReachAnotherServerBehindPgBouncerByNotification(t *testing.T) {
	t.Parallel()
	direct := pgtest.Direct(pgtest.URL(t))
	bounced := pgtest.ThroughBouncer(t, direct)
	slowPoll := func(c *apitest.ConfigT) { c.SettingsPollInterval = time.Hour }
	a := apitest.StartOn(t, bounced, slowPoll)
	b := apitest.StartOn(t, bounced, slowPoll)
	key := a.NewKey(t, "acme")

	var took []time.Duration
	for i := range 6 {
		weights := [2]float64{100, 0}
		want := "Control"
		if i%2 == 1 {
			weights, want = [2]float64{0, 100}, "Variation-1"
		}
		start := time.Now()
		putSettings(t, a, key, settingsJSON(campaignJSON("c", 100, weights, "")))
		require.Eventually(t, func() bool { return variationInUse(t, b, key, "Ashley") == want }, 5*time.Second, 2*time.Millisecond, "change %d reached the other server by notification", i)
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	t.Logf("settings change in use on the other server through PgBouncer: median %v, max %v over %d changes",
		took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond), len(took))
}

// variationInUse is the variation server s would give user in campaign "c" now ("" if none).
func variationInUse(t *testing.T, s *apitest.Server, key, user string) string {
	t.Helper()
	resp := s.Do(t, key, http.MethodPost, "/v1/variation", map[string]any{"campaignKey": "c", "userId": user, "dryRun": true})
	if resp.Status != http.StatusOK {
		return ""
	}
	var d decided
	resp.Decode(t, &d)
	return name(d)
}

// lockedBuffer is a log sink safe for a server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Without a direct URL, LISTEN through PgBouncer in transaction mode succeeds and nothing ever
// arrives: the server says so loudly, and settings still reach it by the poll.
func TestAServerThatCannotReceiveNotificationsSaysSoAndPolls(t *testing.T) {
	t.Parallel()
	bounced := pgtest.ThroughBouncer(t, pgtest.Direct(pgtest.URL(t)))
	var log lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	noDirect := func(c *apitest.ConfigT) {
		c.Database.DirectURL = ""
		c.SettingsPollInterval = 500 * time.Millisecond
	}
	a := apitest.StartOn(t, bounced, noDirect)
	b := apitest.StartLogged(t, bounced, logger, noDirect)
	key := a.NewKey(t, "acme")

	require.Eventually(t, func() bool {
		return strings.Contains(log.String(), "settings change notifications are not received")
	}, 15*time.Second, 50*time.Millisecond, "the deaf listener is reported")
	require.Contains(t, log.String(), `"level":"ERROR"`)
	require.Contains(t, log.String(), "USS_DIRECT_DATABASE_URL", "the log says what to do")

	putSettings(t, a, key, settingsJSON(campaignJSON("c", 100, [2]float64{0, 100}, "")))
	require.Eventually(t, func() bool { return variationInUse(t, b, key, "u") == "Variation-1" },
		10*time.Second, 20*time.Millisecond, "the poll still delivers the change")
}

// A server with a direct URL hears its own probe, and says so instead of warning.
func TestAServerListeningOnTheDirectURLHearsItsProbe(t *testing.T) {
	t.Parallel()
	direct := pgtest.Direct(pgtest.URL(t))
	var log lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	apitest.StartLogged(t, pgtest.ThroughBouncer(t, direct), logger, func(c *apitest.ConfigT) { c.Database.DirectURL = direct })
	require.Eventually(t, func() bool { return strings.Contains(log.String(), "notifications are received") },
		15*time.Second, 20*time.Millisecond, "the probe arrives")
	require.NotContains(t, log.String(), "notifications are not received")
}
