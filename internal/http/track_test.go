package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
)

type tracked struct {
	Results []struct {
		CampaignKey string `json:"campaignKey"`
		Tracked     bool   `json:"tracked"`
		Reason      string `json:"reason"`
	} `json:"results"`
}

func track(t *testing.T, s *apitest.Server, key string, body map[string]any) tracked {
	t.Helper()
	resp := s.Do(t, key, http.MethodPost, "/v1/track", body)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var out tracked
	resp.Decode(t, &out)
	return out
}

// trackedIn maps campaign keys to whether the goal was tracked there.
func trackedIn(r tracked) map[string]bool {
	m := map[string]bool{}
	for _, x := range r.Results {
		m[x.CampaignKey] = x.Tracked
	}
	return m
}

type conversionRow struct {
	Variation string
	Goal      string
	Revenue   *string
	Repeat    bool
}

func conversions(t *testing.T, s *apitest.Server, userID, campaignKey string) []conversionRow {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT variation_name, goal_identifier, revenue::text, repeat FROM conversions
		WHERE user_id = $1 AND campaign_key = $2 ORDER BY conversion_id`, userID, campaignKey)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (conversionRow, error) {
		var c conversionRow
		err := r.Scan(&c.Variation, &c.Goal, &c.Revenue, &c.Repeat)
		return c, err
	})
	require.NoError(t, err)
	return out
}

func TestTrackFollowsVWOGoalRules(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	putSettings(t, s, key, settingsJSON(campaignJSON("c", 100, [2]float64{50, 50}, "")))

	// A user with no variation yet is decided first (the Go SDK's behaviour).
	r := track(t, s, key, map[string]any{"campaignKey": "c", "userId": "Ashley", "goalIdentifier": "signup"})
	require.Equal(t, map[string]bool{"c": true}, trackedIn(r), "%+v", r)
	got, _ := getRecord(t, s, key, "Ashley", "c")
	require.Equal(t, record{UserID: "Ashley", CampaignKey: "c", VariationName: "Control", GoalIdentifier: "signup"}, got)

	r = track(t, s, key, map[string]any{"campaignKey": "c", "userId": "Ashley", "goalIdentifier": "signup"})
	require.False(t, r.Results[0].Tracked, "a converted goal is not tracked again")
	require.Contains(t, r.Results[0].Reason, "already converted")
	r = track(t, s, key, map[string]any{"campaignKey": "c", "userId": "Ashley", "goalIdentifier": "signup", "shouldTrackReturningUser": true})
	require.True(t, r.Results[0].Tracked, "a returning user is tracked again when asked")

	r = track(t, s, key, map[string]any{"campaignKey": "c", "userId": "Ashley", "goalIdentifier": "purchase"})
	require.False(t, r.Results[0].Tracked)
	require.Contains(t, r.Results[0].Reason, "revenueValue")
	r = track(t, s, key, map[string]any{"campaignKey": "c", "userId": "Ashley", "goalIdentifier": "purchase", "revenueValue": 12.5})
	require.True(t, r.Results[0].Tracked)
	r = track(t, s, key, map[string]any{"campaignKey": "c", "userId": "Ashley", "goalIdentifier": "purchase", "revenueValue": "0.10",
		"shouldTrackReturningUser": true})
	require.True(t, r.Results[0].Tracked)
	r = track(t, s, key, map[string]any{"campaignKey": "c", "userId": "Ashley", "goalIdentifier": "nope"})
	require.False(t, r.Results[0].Tracked)
	require.Contains(t, r.Results[0].Reason, "no goal")

	got, _ = getRecord(t, s, key, "Ashley", "c")
	require.Equal(t, "signup_vwo_purchase", got.GoalIdentifier, "GET /v1/storage shows the set joined by _vwo_")
	ten, twelveFifty := "0.10", "12.5"
	require.Equal(t, []conversionRow{
		{Variation: "Control", Goal: "signup"},
		{Variation: "Control", Goal: "signup", Repeat: true},
		{Variation: "Control", Goal: "purchase", Revenue: &twelveFifty},
		{Variation: "Control", Goal: "purchase", Revenue: &ten, Repeat: true},
	}, conversions(t, s, "Ashley", "c"), "one row per tracked conversion, none for refused ones; revenue exact")
}

func TestTrackChoosesCampaignsByKeyListOrGoal(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	noPurchase := `{"id": 77, "key": "other", "name": "other", "status": "RUNNING", "type": "VISUAL_AB", "percentTraffic": 100,
		"goals": [{"identifier": "signup", "id": 1, "type": "REVENUE_TRACKING"}],
		"variations": [{"id": 1, "name": "Control", "weight": 100, "changes": {}}]}`
	paused := strings.Replace(campaignJSON("paused", 100, [2]float64{50, 50}, ""), `"RUNNING"`, `"PAUSED"`, 1)
	rollout := `{"id": 78, "key": "rollout", "name": "rollout", "status": "RUNNING", "type": "FEATURE_ROLLOUT", "percentTraffic": 100,
		"goals": [], "variations": [{"id": 1, "name": "website", "weight": 100, "changes": {}}]}`
	putSettings(t, s, key, settingsJSON(campaignJSON("a", 100, [2]float64{50, 50}, ""), campaignJSON("b", 100, [2]float64{50, 50}, ""),
		noPurchase, paused, rollout))

	r := track(t, s, key, map[string]any{"campaignKey": nil, "userId": "u1", "goalIdentifier": "signup"})
	require.Equal(t, map[string]bool{"a": true, "b": true, "other": false}, trackedIn(r),
		"null: every running campaign having the goal (other's signup is a revenue goal without revenueValue)")
	r = track(t, s, key, map[string]any{"userId": "u2", "goalIdentifier": "signup", "goalTypeToTrack": "CUSTOM_GOAL"})
	require.Equal(t, map[string]bool{"a": true, "b": true}, trackedIn(r), "goalTypeToTrack filters the campaigns")
	r = track(t, s, key, map[string]any{"userId": "u3", "goalIdentifier": "signup", "goalTypeToTrack": "REVENUE_TRACKING", "revenueValue": 3})
	require.Equal(t, map[string]bool{"other": true}, trackedIn(r))
	r = track(t, s, key, map[string]any{"campaignKey": []string{"b", "paused", "rollout"}, "userId": "u4", "goalIdentifier": "signup"})
	require.Equal(t, map[string]bool{"b": true, "paused": false, "rollout": false}, trackedIn(r))
	r = track(t, s, key, map[string]any{"campaignKey": "a", "userId": "u4", "goalIdentifier": "signup", "goalTypeToTrack": "REVENUE_TRACKING"})
	require.Equal(t, map[string]bool{"a": false}, trackedIn(r), "the goal's type must match goalTypeToTrack")
}

func TestTrackNeedsAVariation(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	putSettings(t, s, key, settingsJSON(campaignJSON("c", 0, [2]float64{50, 50}, "")))
	r := track(t, s, key, map[string]any{"campaignKey": "c", "userId": "u", "goalIdentifier": "signup"})
	require.False(t, r.Results[0].Tracked)
	require.Contains(t, r.Results[0].Reason, "no variation")
	_, status := getRecord(t, s, key, "u", "c")
	require.Equal(t, http.StatusNotFound, status)
	require.Empty(t, conversions(t, s, "u", "c"))
}

func TestTrackingAWhitelistedUserStoresTheGoal(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	putSettings(t, s, key, settingsJSON(`{"id": 5, "key": "c", "name": "c", "status": "RUNNING", "type": "VISUAL_AB",
		"percentTraffic": 100, "isForcedVariationEnabled": true, "goals": [{"identifier": "signup", "id": 1, "type": "CUSTOM_GOAL"}],
		"variations": [
			{"id": 1, "name": "Control", "weight": 100, "changes": {}},
			{"id": 2, "name": "Variation-1", "weight": 0, "changes": {}, "segments": {"or": [{"custom_variable": {"qa": "true"}}]}}]}`))
	qa := map[string]any{"campaignKey": "c", "userId": "tester", "goalIdentifier": "signup",
		"variationTargetingVariables": map[string]any{"qa": "true"}}
	require.True(t, track(t, s, key, qa).Results[0].Tracked)
	require.False(t, track(t, s, key, qa).Results[0].Tracked, "deduplicated like any other conversion")
	got, _ := getRecord(t, s, key, "tester", "c")
	require.Equal(t, record{UserID: "tester", CampaignKey: "c", VariationName: "Variation-1", GoalIdentifier: "signup"}, got)
	require.Equal(t, []conversionRow{{Variation: "Variation-1", Goal: "signup"}}, conversions(t, s, "tester", "c"))
}

func TestBadTrackRequestsChangeNothing(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	putSettings(t, s, key, settingsJSON(campaignJSON("c", 100, [2]float64{50, 50}, "")))
	before := s.Snapshot(t)
	for name, c := range map[string]struct {
		body   string
		status int
	}{
		"goal with the delimiter":   {`{"campaignKey":"c","userId":"u","goalIdentifier":"a_vwo_b"}`, 400},
		"empty goal":                {`{"campaignKey":"c","userId":"u","goalIdentifier":""}`, 400},
		"goal over 255 bytes":       {`{"campaignKey":"c","userId":"u","goalIdentifier":"` + strings.Repeat("g", 256) + `"}`, 400},
		"missing userId":            {`{"campaignKey":"c","goalIdentifier":"signup"}`, 400},
		"unknown campaign":          {`{"campaignKey":"nope","userId":"u","goalIdentifier":"signup"}`, 404},
		"one unknown in a list":     {`{"campaignKey":["c","nope"],"userId":"u","goalIdentifier":"signup"}`, 404},
		"empty campaign list":       {`{"campaignKey":[],"userId":"u","goalIdentifier":"signup"}`, 400},
		"campaignKey a number":      {`{"campaignKey":5,"userId":"u","goalIdentifier":"signup"}`, 400},
		"bad goalTypeToTrack":       {`{"campaignKey":"c","userId":"u","goalIdentifier":"signup","goalTypeToTrack":"SOME"}`, 400},
		"revenue not numeric":       {`{"campaignKey":"c","userId":"u","goalIdentifier":"purchase","revenueValue":"12 EUR"}`, 400},
		"revenue a bool":            {`{"campaignKey":"c","userId":"u","goalIdentifier":"purchase","revenueValue":true}`, 400},
		"revenue NaN":               {`{"campaignKey":"c","userId":"u","goalIdentifier":"purchase","revenueValue":"NaN"}`, 400},
		"revenue huge":              {`{"campaignKey":"c","userId":"u","goalIdentifier":"purchase","revenueValue":1e99}`, 400},
		"revenue huge exponent":     {`{"campaignKey":"c","userId":"u","goalIdentifier":"purchase","revenueValue":"1e999999999"}`, 400},
		"returning flag not a bool": {`{"campaignKey":"c","userId":"u","goalIdentifier":"signup","shouldTrackReturningUser":1}`, 400},
		"unknown field":             {`{"campaignKey":"c","userId":"u","goalIdentifier":"signup","goal":"x"}`, 400},
	} {
		resp := s.Do(t, key, http.MethodPost, "/v1/track", c.body)
		require.Equal(t, c.status, resp.Status, "%s: %s", name, resp.Body)
	}
	require.Equal(t, before, s.Snapshot(t))
}

// 40 different goals tracked at once for one user through two servers all end in the goal set
// and the conversions table: the append is atomic, not a read-modify-write.
func TestConcurrentTracksOfDifferentGoalsLoseNone(t *testing.T) {
	t.Parallel()
	a := apitest.Start(t)
	b := apitest.StartOn(t, a.DatabaseURL)
	key := a.NewKey(t, "acme")
	const n = 40
	goals := make([]string, n)
	goalsJSON := make([]string, n)
	for i := range goals {
		goals[i] = fmt.Sprintf("goal-%02d", i)
		goalsJSON[i] = fmt.Sprintf(`{"identifier": %q, "id": %d, "type": "CUSTOM_GOAL"}`, goals[i], i+1)
	}
	putSettings(t, a, key, settingsJSON(`{"id": 1, "key": "c", "name": "c", "status": "RUNNING", "type": "VISUAL_AB",
		"percentTraffic": 100, "goals": [`+strings.Join(goalsJSON, ",")+`],
		"variations": [{"id": 1, "name": "Control", "weight": 50, "changes": {}}, {"id": 2, "name": "Variation-1", "weight": 50, "changes": {}}]}`))
	require.Eventually(t, func() bool {
		return b.Do(t, key, http.MethodPost, "/v1/variation", map[string]any{"campaignKey": "c", "userId": "x", "dryRun": true}).Status == http.StatusOK
	}, 5*time.Second, 5*time.Millisecond)

	for round, returning := range []bool{false, true} {
		var wg sync.WaitGroup
		results := make([]tracked, n)
		start := make(chan struct{})
		for i := range goals {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				s := []*apitest.Server{a, b}[i%2]
				resp := s.Do(t, key, http.MethodPost, "/v1/track",
					map[string]any{"campaignKey": "c", "userId": "u", "goalIdentifier": goals[i], "shouldTrackReturningUser": returning})
				if resp.Status == http.StatusOK {
					resp.Decode(t, &results[i])
				}
			}()
		}
		close(start)
		wg.Wait()
		for i, r := range results {
			require.Len(t, r.Results, 1, "round %d goal %d", round, i)
			require.True(t, r.Results[0].Tracked, "round %d goal %d: %s", round, i, r.Results[0].Reason)
		}
	}
	got, _ := getRecord(t, a, key, "u", "c")
	set := strings.Split(got.GoalIdentifier, "_vwo_")
	require.ElementsMatch(t, goals, set, "every goal is in the set, once")
	rows := conversions(t, a, "u", "c")
	require.Len(t, rows, 2*n, "40 first conversions and 40 returning ones")
	firsts := map[string]int{}
	for _, r := range rows {
		require.Equal(t, got.VariationName, r.Variation)
		if !r.Repeat {
			firsts[r.Goal]++
		}
	}
	for _, g := range goals {
		require.Equal(t, 1, firsts[g], g)
	}
}

// A track that reaches several campaigns commits all of them or none: with one campaign's row
// locked until the request times out, the 503 leaves the other campaign untouched too, and a
// retry then counts each conversion once.
func TestATrackThatFailsInOneCampaignWritesNoneOfThem(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, func(c *apitest.ConfigT) { c.RequestTimeout = time.Second })
	key := s.NewKey(t, "acme")
	putSettings(t, s, key, settingsJSON(campaignJSON("a", 100, [2]float64{50, 50}, ""), campaignJSON("b", 100, [2]float64{50, 50}, "")))
	for _, c := range []string{"a", "b"} {
		decide(t, s, key, "activate", map[string]any{"campaignKey": c, "userId": "u"})
	}
	before := s.Snapshot(t)

	// Hold b's row: campaigns are written in key order, so a is written before b blocks.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `SELECT 1 FROM assignments WHERE user_id = 'u' AND campaign_key = 'b' FOR UPDATE`)
	require.NoError(t, err)
	body := map[string]any{"campaignKey": nil, "userId": "u", "goalIdentifier": "signup", "shouldTrackReturningUser": true}
	resp := s.Do(t, key, http.MethodPost, "/v1/track", body)
	require.Equal(t, http.StatusServiceUnavailable, resp.Status, "%s", resp.Body)
	require.Contains(t, string(resp.Body), "nothing was changed")
	require.NoError(t, tx.Rollback(ctx))
	require.Equal(t, before, s.Snapshot(t), "the 503 said nothing was changed, and nothing was")
	require.Empty(t, conversions(t, s, "u", "a"))

	// The retry the 503 invites counts each campaign's conversion exactly once.
	require.Equal(t, map[string]bool{"a": true, "b": true}, trackedIn(track(t, s, key, body)))
	require.Len(t, conversions(t, s, "u", "a"), 1)
	require.Len(t, conversions(t, s, "u", "b"), 1)
}

// A user stored in one variation and whitelisted into another converts in the stored one: the
// goal joins the stored row and the conversion row names the same variation, so the report
// counts the user and the conversion under one variation.
func TestAWhitelistedConversionCountsInTheStoredVariation(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	putSettings(t, s, key, settingsJSON(`{"id": 5, "key": "c", "name": "c", "status": "RUNNING", "type": "VISUAL_AB",
		"percentTraffic": 100, "isForcedVariationEnabled": true, "goals": [{"identifier": "signup", "id": 1, "type": "CUSTOM_GOAL"}],
		"variations": [
			{"id": 1, "name": "Control", "weight": 50, "changes": {}, "segments": {"or": [{"custom_variable": {"qa": "true"}}]}},
			{"id": 2, "name": "Variation-1", "weight": 50, "changes": {}}]}`))
	stored := record{UserID: "u", CampaignKey: "c", VariationName: "Variation-1"}
	require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodPost, "/v1/storage", stored).Status)

	r := track(t, s, key, map[string]any{"campaignKey": "c", "userId": "u", "goalIdentifier": "signup",
		"variationTargetingVariables": map[string]any{"qa": "true"}})
	require.True(t, r.Results[0].Tracked, r.Results[0].Reason)
	require.Contains(t, r.Results[0].Reason, `"Variation-1"`, "the answer names the variation counted")
	got, _ := getRecord(t, s, key, "u", "c")
	require.Equal(t, record{UserID: "u", CampaignKey: "c", VariationName: "Variation-1", GoalIdentifier: "signup"}, got)
	require.Equal(t, []conversionRow{{Variation: "Variation-1", Goal: "signup"}}, conversions(t, s, "u", "c"))

	var report struct {
		Variations []struct {
			Name  string `json:"name"`
			Users int64  `json:"users"`
		} `json:"variations"`
		Goals []struct {
			Variation      string `json:"variation"`
			ConvertedUsers int64  `json:"convertedUsers"`
		} `json:"goals"`
	}
	resp := s.Do(t, key, http.MethodGet, "/v1/reports/campaign?campaignKey=c", nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	resp.Decode(t, &report)
	users, converted := map[string]int64{}, map[string]int64{}
	for _, v := range report.Variations {
		users[v.Name] = v.Users
	}
	for _, g := range report.Goals {
		converted[g.Variation] += g.ConvertedUsers
	}
	require.Equal(t, int64(1), users["Variation-1"], "%s", resp.Body)
	require.Equal(t, int64(1), converted["Variation-1"], "%s", resp.Body)
	require.Zero(t, converted["Control"], "%s", resp.Body)
}
