package retention_test

import (
	"context"
	"fmt"
	"hash/crc32"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
	"github.com/uss/uss/internal/postgres"
	"github.com/uss/uss/internal/retention"
)

func campaignJSON(key string) string {
	return fmt.Sprintf(`{"id": %d, "key": %q, "name": %q, "status": "RUNNING", "type": "VISUAL_AB",
		"percentTraffic": 100, "segments": {},
		"goals": [{"identifier": "signup", "id": 1, "type": "CUSTOM_GOAL"}],
		"variations": [{"id": 1, "name": "Control", "weight": 50, "changes": {}},
		               {"id": 2, "name": "Variation-1", "weight": 50, "changes": {}}]}`,
		crc32.ChecksumIEEE([]byte(key))%1000000+1, key, key)
}

func putSettings(t *testing.T, s *apitest.Server, key string, campaigns ...string) {
	t.Helper()
	var defs []string
	for _, c := range campaigns {
		defs = append(defs, campaignJSON(c))
	}
	body := `{"sdkKey": "k", "accountId": 1, "version": 1, "campaigns": [` + strings.Join(defs, ",") + `]}`
	resp := s.Do(t, key, http.MethodPut, "/v1/settings", body)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
}

// populate gives each campaign users, half of them converted.
func populate(t *testing.T, s *apitest.Server, key string, users int, campaigns ...string) {
	t.Helper()
	for _, c := range campaigns {
		for u := range users {
			user := fmt.Sprintf("user-%03d", u)
			resp := s.Do(t, key, http.MethodPost, "/v1/activate", map[string]any{"campaignKey": c, "userId": user})
			require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
			if u%2 == 0 {
				resp = s.Do(t, key, http.MethodPost, "/v1/track", map[string]any{"campaignKey": c, "userId": user, "goalIdentifier": "signup"})
				require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
			}
		}
	}
}

// rows renders every assignment, conversion and history event, but those of the excluded
// campaign, as text.
func rows(t *testing.T, conn *pgx.Conn, excludeAccount, excludeCampaign string) string {
	t.Helper()
	var out string
	err := conn.QueryRow(context.Background(), `
		SELECT coalesce(string_agg(r, E'\n' ORDER BY r), '') FROM (
			SELECT format('a %s %s %s %s %s %s', a.account_id, user_id, campaign_key, variation_name, goals, exposures) AS r
			FROM assignments a JOIN accounts n USING (account_id)
			WHERE NOT (n.name = $1 AND campaign_key = $2)
			UNION ALL
			SELECT format('c %s %s %s %s %s', c.account_id, user_id, campaign_key, conversion_id, goal_identifier)
			FROM conversions c JOIN accounts n USING (account_id)
			WHERE NOT (n.name = $1 AND campaign_key = $2)
			UNION ALL
			SELECT format('h %s %s %s %s %s', h.account_id, user_id, campaign_key, event_id, kind)
			FROM assignment_history h JOIN accounts n USING (account_id)
			WHERE NOT (n.name = $1 AND campaign_key = $2)
		) x`, excludeAccount, excludeCampaign).Scan(&out)
	require.NoError(t, err)
	return out
}

func count(t *testing.T, conn *pgx.Conn, table, account, campaign string) int64 {
	t.Helper()
	var n int64
	err := conn.QueryRow(context.Background(), `SELECT count(*) FROM `+table+` t JOIN accounts a USING (account_id)
		WHERE a.name = $1 AND t.campaign_key = $2`, account, campaign).Scan(&n)
	require.NoError(t, err)
	return n
}

func newStore(t *testing.T, databaseURL string) *postgres.Store {
	t.Helper()
	pool, err := postgres.Connect(context.Background(), databaseURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return postgres.NewStore(pool)
}

// A campaign removed from the settings two "days" ago, with a retention of one day: two
// servers' tasks run at once; one holds the lock and deletes every row of the campaign once,
// the other skips, and nothing else changes: not the campaign still in the settings, not the
// campaign that never was in them, not another account's campaign of the same key.
func TestRetentionDeletesARemovedCampaignOnceWhileTwoServersRunIt(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	acme, other := s.NewKey(t, "acme"), s.NewKey(t, "other")
	putSettings(t, s, acme, "gone", "kept")
	putSettings(t, s, other, "gone")
	populate(t, s, acme, 40, "gone", "kept")
	populate(t, s, other, 10, "gone")
	for u := range 10 { // a campaign uss's settings never had: an SDK's own decisions
		resp := s.Do(t, acme, http.MethodPost, "/v1/storage",
			map[string]string{"userId": fmt.Sprint("sdk-", u), "campaignKey": "sdk-only", "variationName": "B"})
		require.Equal(t, http.StatusOK, resp.Status)
	}
	putSettings(t, s, acme, "kept") // "gone" leaves acme's settings now
	removedAt := time.Now()

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	assignments, conversions := count(t, conn, "assignments", "acme", "gone"), count(t, conn, "conversions", "acme", "gone")
	require.EqualValues(t, 40, assignments)
	require.EqualValues(t, 20, conversions)
	events := count(t, conn, "assignment_history", "acme", "gone")
	require.EqualValues(t, 40, events, "one created event per user")
	untouched := rows(t, conn, "acme", "gone")

	policy := retention.Policy{Retention: 24 * time.Hour, Batch: 7}
	early := retention.NewTask(newStore(t, s.DatabaseURL), policy, retention.Options{Now: func() time.Time { return removedAt.Add(12 * time.Hour) }})
	r, err := early.RunOnce(ctx)
	require.NoError(t, err)
	require.True(t, r.Ran)
	require.Empty(t, r.Deleted, "half a day after the removal nothing is due")

	// Two servers, each with its own pool and the clock two days on. The first to delete a
	// batch waits, holding the lock, until the other has given up.
	later := func() time.Time { return removedAt.Add(48 * time.Hour) }
	holding, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	tasks := make([]*retention.Task, 2)
	for i := range tasks {
		tasks[i] = retention.NewTask(newStore(t, s.DatabaseURL), policy, retention.Options{Now: later,
			Deleted: func(retention.Table, int64) { once.Do(func() { close(holding); <-release }) }})
	}
	reports := make([]retention.Report, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, task := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reports[i], errs[i] = task.RunOnce(ctx)
			if !reports[i].Ran {
				close(release)
			}
		}()
	}
	select {
	case <-holding:
	case <-time.After(30 * time.Second):
		t.Fatal("no task started deleting")
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.NotEqual(t, reports[0].Ran, reports[1].Ran, "exactly one task ran: %+v", reports)
	done := reports[0]
	if !done.Ran {
		done = reports[1]
	}
	require.Equal(t, map[retention.Table]int64{retention.Assignments: assignments, retention.Conversions: conversions,
		retention.History: events}, done.Deleted)

	require.Zero(t, count(t, conn, "assignments", "acme", "gone"))
	require.Zero(t, count(t, conn, "conversions", "acme", "gone"))
	require.Zero(t, count(t, conn, "assignment_history", "acme", "gone"))
	require.Equal(t, untouched, rows(t, conn, "acme", "gone"), "nothing else was touched")

	// A campaign that comes back is no longer removed: nothing of it is deleted any more.
	populate(t, s, acme, 4, "kept")
	putSettings(t, s, acme, "kept", "gone")
	populate(t, s, acme, 3, "gone")
	far := retention.NewTask(newStore(t, s.DatabaseURL), policy, retention.Options{Now: func() time.Time { return removedAt.Add(1000 * time.Hour) }})
	r, err = far.RunOnce(ctx)
	require.NoError(t, err)
	require.Empty(t, r.Deleted)
	require.EqualValues(t, 3, count(t, conn, "assignments", "acme", "gone"))
}

// The server runs the task when USS_RETENTION is set, and counts what it deleted. Settings
// versions pruned at upload (here all but the newest) take nothing of the record of when a
// campaign left.
func TestTheServerRunsRetentionAndCountsWhatItDeleted(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, func(c *apitest.ConfigT) {
		c.Retention, c.RetentionInterval = time.Millisecond, 50*time.Millisecond
		c.Limits.SettingsKeep = 1
	})
	key := s.NewKey(t, "acme")
	putSettings(t, s, key, "gone", "kept")
	populate(t, s, key, 6, "gone", "kept")
	putSettings(t, s, key, "kept")
	require.Eventually(t, func() bool {
		return s.Count(t, `SELECT count(*) FROM assignments WHERE campaign_key = 'gone'`) == 0
	}, 10*time.Second, 50*time.Millisecond)
	require.EqualValues(t, 6, s.Count(t, `SELECT count(*) FROM assignments WHERE campaign_key = 'kept'`))
	require.Eventually(t, func() bool {
		metrics := string(s.Do(t, "", http.MethodGet, "/metrics", nil).Body)
		return strings.Contains(metrics, `uss_retention_deleted_rows_total{table="assignments"} 6`) &&
			strings.Contains(metrics, `uss_retention_deleted_rows_total{table="conversions"} 3`)
	}, 5*time.Second, 50*time.Millisecond)
}
