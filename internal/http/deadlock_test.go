package httpapi_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
)

// stressDuration is how long the concurrency mixes run: a few seconds in every test run,
// minutes when USS_STRESS_DURATION says so (for example USS_STRESS_DURATION=3m).
func stressDuration(t *testing.T) time.Duration {
	t.Helper()
	d := 8 * time.Second
	if v := os.Getenv("USS_STRESS_DURATION"); v != "" {
		var err error
		d, err = time.ParseDuration(v)
		require.NoError(t, err, "USS_STRESS_DURATION")
	}
	return d
}

// Every multi-row writer takes its row locks in one order (account, user, campaign), so
// batch sets, group-committed activations, multi-campaign tracks, erasures, identity merges,
// imports and the retention task (deleting a removed campaign's rows as the others write
// them) on the same users never deadlock: PostgreSQL counts no deadlock in the test's
// database. (A deadlock
// reaches a client as a 503; a 503 can also be a request timeout on a loaded machine, so the
// database's own count is the assertion, and the 503s are only reported.)
func TestConcurrentWritersOnSharedUsersNeverDeadlock(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, func(c *apitest.ConfigT) { c.Retention, c.RetentionInterval = time.Millisecond, 20*time.Millisecond })
	key := s.NewKey(t, "acme")
	const users, campaigns = 40, 6
	var defs []string
	for c := range campaigns {
		defs = append(defs, campaignJSON(fmt.Sprintf("c%d", c), 100, [2]float64{50, 50}, ""))
	}
	// "gone" leaves the settings: the retention task deletes what the writers keep storing in it.
	putSettings(t, s, key, settingsJSON(append(defs, campaignJSON("gone", 100, [2]float64{50, 50}, ""))...))
	putSettings(t, s, key, settingsJSON(defs...))
	user := func(r *rand.Rand) string { return fmt.Sprintf("user-%03d", r.IntN(users)) }
	campaign := func(r *rand.Rand) string { return fmt.Sprintf("c%d", r.IntN(campaigns)) }
	// stored: a campaign of the settings, or the removed one, for writes that need no settings.
	stored := func(r *rand.Rand) string {
		if r.IntN(campaigns+1) == campaigns {
			return "gone"
		}
		return campaign(r)
	}
	distinct := func(r *rand.Rand, n int, each func(user, campaign string)) {
		seen := map[[2]string]bool{}
		for range n {
			k := [2]string{user(r), stored(r)}
			if !seen[k] {
				seen[k] = true
				each(k[0], k[1])
			}
		}
	}

	var requests, unavailable, failures atomic.Int64
	var firstFailure sync.Once
	var failure string
	count := func(method, path string, resp apitest.Response) {
		requests.Add(1)
		if resp.Status == http.StatusServiceUnavailable {
			unavailable.Add(1)
		} else if resp.Status >= 500 {
			failures.Add(1)
			firstFailure.Do(func() { failure = fmt.Sprintf("%s %s: %d %s", method, path, resp.Status, resp.Body) })
		}
	}
	send := func(method, path string, body any) { count(method, path, s.Do(t, key, method, path, body)) }
	mix := map[string]func(r *rand.Rand){
		"batch-set": func(r *rand.Rand) {
			var recs []record
			distinct(r, 1+r.IntN(30), func(u, c string) {
				recs = append(recs, record{UserID: u, CampaignKey: c, VariationName: []string{"Control", "Variation-1"}[r.IntN(2)]})
			})
			send(http.MethodPost, "/v1/storage/batch-set", records{Records: recs})
		},
		"set": func(r *rand.Rand) {
			send(http.MethodPost, "/v1/storage", record{UserID: user(r), CampaignKey: stored(r), VariationName: "Variation-1"})
		},
		"import": func(r *rand.Rand) {
			var lines strings.Builder
			distinct(r, 1+r.IntN(30), func(u, c string) {
				fmt.Fprintf(&lines, `{"userId":%q,"campaignKey":%q,"variationName":%q,"goals":["signup"]}`+"\n",
					u, c, []string{"Control", "Variation-1"}[r.IntN(2)])
			})
			count(http.MethodPost, "/v1/import/assignments", s.DoNDJSON(t, key, "/v1/import/assignments", lines.String()))
		},
		"merge": func(r *rand.Rand) {
			from, to := user(r), user(r)
			if from != to {
				send(http.MethodPost, "/v1/identities/merge", map[string]any{"fromUserId": from, "toUserId": to, "deleteSource": r.IntN(2) == 0})
			}
		},
		"activate": func(r *rand.Rand) {
			send(http.MethodPost, "/v1/activate", map[string]any{"campaignKey": campaign(r), "userId": user(r)})
		},
		"track": func(r *rand.Rand) {
			send(http.MethodPost, "/v1/track", map[string]any{"campaignKey": nil, "userId": user(r), "goalIdentifier": "signup",
				"shouldTrackReturningUser": true})
		},
		"erase": func(r *rand.Rand) { send(http.MethodDelete, storagePath(user(r), ""), nil) },
	}
	deadline := time.Now().Add(stressDuration(t))
	var wg sync.WaitGroup
	workers := map[string]int{"batch-set": 4, "set": 2, "activate": 16, "track": 4, "erase": 4, "import": 2, "merge": 4}
	for name, do := range mix {
		for w := range workers[name] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(len(name)), uint64(w)))
				for time.Now().Before(deadline) {
					do(r)
				}
			}()
		}
	}
	wg.Wait()
	// Stopping the server ends its sessions, which makes the database's statistics final.
	s.Stop()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var deadlocks int64
	require.NoError(t, conn.QueryRow(ctx, `SELECT pg_stat_force_next_flush()`).Scan(new(any)))
	require.NoError(t, conn.QueryRow(ctx, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&deadlocks))
	t.Logf("%d requests in the mix, %d answered 503, %d another 5xx, %d deadlocks",
		requests.Load(), unavailable.Load(), failures.Load(), deadlocks)
	require.Zero(t, failures.Load(), "first: %s", failure)
	require.Zero(t, deadlocks, "deadlocks detected by PostgreSQL")
}
