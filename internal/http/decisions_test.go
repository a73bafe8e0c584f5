package httpapi_test

import (
	"context"
	"errors"
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

type decided struct {
	CampaignKey   string  `json:"campaignKey"`
	UserID        string  `json:"userId"`
	VariationName *string `json:"variationName"`
	Source        string  `json:"source"`
	ReasonCode    string  `json:"reasonCode"`
	Reason        string  `json:"reason"`
}

func decide(t *testing.T, s *apitest.Server, key, endpoint string, body map[string]any) decided {
	t.Helper()
	resp := s.Do(t, key, http.MethodPost, "/v1/"+endpoint, body)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var d decided
	resp.Decode(t, &d)
	return d
}

func name(d decided) string {
	if d.VariationName == nil {
		return "<none>"
	}
	return *d.VariationName
}

// exposures reads the exposure counter of a stored assignment (-1 when there is no row).
func exposures(t *testing.T, s *apitest.Server, userID, campaignKey string) int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, `SELECT exposures FROM assignments WHERE user_id = $1 AND campaign_key = $2`,
		userID, campaignKey).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return -1
	}
	require.NoError(t, err)
	return n
}

func TestActivateBucketsStoresAndStaysSticky(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	putSettings(t, s, key, settingsJSON(campaignJSON("c", 100, [2]float64{50, 50}, "")))

	first := decide(t, s, key, "activate", map[string]any{"campaignKey": "c", "userId": "Ashley"})
	require.Equal(t, "bucketed", first.Source, first.Reason)
	require.Equal(t, "Control", name(first), "VWO puts Ashley in Control at 50/50 (golden vector)")
	stored, status := getRecord(t, s, key, "Ashley", "c")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "Control", stored.VariationName)
	require.Equal(t, int64(1), exposures(t, s, "Ashley", "c"))

	// Weights flip: the stored variation stands.
	putSettings(t, s, key, settingsJSON(campaignJSON("c", 100, [2]float64{0, 100}, "")))
	again := decide(t, s, key, "activate", map[string]any{"campaignKey": "c", "userId": "Ashley"})
	require.Equal(t, "stored", again.Source, again.Reason)
	require.Equal(t, "Control", name(again))
	require.Equal(t, int64(2), exposures(t, s, "Ashley", "c"), "activate counts every exposure")

	peek := decide(t, s, key, "variation", map[string]any{"campaignKey": "c", "userId": "Ashley"})
	require.Equal(t, "Control", name(peek))
	require.Equal(t, int64(2), exposures(t, s, "Ashley", "c"), "variation counts none")

	fresh := decide(t, s, key, "variation", map[string]any{"campaignKey": "c", "userId": "Bill"})
	require.Equal(t, "Variation-1", name(fresh), "new users follow today's weights")
	require.Equal(t, "bucketed", fresh.Source)
	require.Equal(t, int64(0), exposures(t, s, "Bill", "c"), "variation stores the decision without an exposure")
}

func TestAStoredVariationThatNoLongerExistsIsDecidedAgainAndOverwritten(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	putSettings(t, s, key, settingsJSON(campaignJSON("c", 100, [2]float64{50, 50}, "")))
	s.Do(t, key, http.MethodPost, "/v1/storage",
		record{UserID: "Ashley", CampaignKey: "c", VariationName: "Removed-Variation", GoalIdentifier: "signup"})

	d := decide(t, s, key, "activate", map[string]any{"campaignKey": "c", "userId": "Ashley"})
	require.Equal(t, "bucketed", d.Source, d.Reason)
	require.Equal(t, "Control", name(d))
	got, _ := getRecord(t, s, key, "Ashley", "c")
	require.Equal(t, record{UserID: "Ashley", CampaignKey: "c", VariationName: "Control", GoalIdentifier: ""}, got,
		"overwritten, and the removed variation's goals do not carry over")

	// Outside traffic now, with a stale row: nothing to give, and the stale row stays.
	putSettings(t, s, key, settingsJSON(campaignJSON("c", 0, [2]float64{50, 50}, "")))
	s.Do(t, key, http.MethodPost, "/v1/storage", record{UserID: "Bill", CampaignKey: "c", VariationName: "Gone"})
	d = decide(t, s, key, "activate", map[string]any{"campaignKey": "c", "userId": "Bill"})
	require.Nil(t, d.VariationName, d.Reason)
	got, _ = getRecord(t, s, key, "Bill", "c")
	require.Equal(t, "Gone", got.VariationName)
}

func TestAStoredUserKeepsTheVariationOutsideTrafficAndSegments(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	segmented := `"segments": {"and": [{"custom_variable": {"plan": "pro"}}]}`
	putSettings(t, s, key, settingsJSON(campaignJSON("c", 100, [2]float64{50, 50}, segmented)))
	in := decide(t, s, key, "activate", map[string]any{"campaignKey": "c", "userId": "Ashley",
		"customVariables": map[string]any{"plan": "pro"}})
	require.Equal(t, "Control", name(in), in.Reason)
	out := decide(t, s, key, "activate", map[string]any{"campaignKey": "c", "userId": "Bill",
		"customVariables": map[string]any{"plan": "free"}})
	require.Nil(t, out.VariationName, "Bill does not match the segment")
	require.Equal(t, "none", out.Source)

	// Traffic drops to 0 and Ashley no longer matches: stickiness keeps her variation.
	putSettings(t, s, key, settingsJSON(campaignJSON("c", 0, [2]float64{50, 50}, segmented)))
	kept := decide(t, s, key, "activate", map[string]any{"campaignKey": "c", "userId": "Ashley"})
	require.Equal(t, "stored", kept.Source, kept.Reason)
	require.Equal(t, "Control", name(kept))

	// enforceTargeting (Statsig's option) re-checks pre-segmentation first; the row is kept.
	enforced := decide(t, s, key, "activate", map[string]any{"campaignKey": "c", "userId": "Ashley", "enforceTargeting": true})
	require.Nil(t, enforced.VariationName, enforced.Reason)
	require.Equal(t, "none", enforced.Source)
	_, status := getRecord(t, s, key, "Ashley", "c")
	require.Equal(t, http.StatusOK, status, "enforceTargeting keeps the stored row")
	matching := decide(t, s, key, "activate", map[string]any{"campaignKey": "c", "userId": "Ashley", "enforceTargeting": true,
		"customVariables": map[string]any{"plan": "pro"}})
	require.Equal(t, "Control", name(matching), "matching again, the stored variation returns")
}

func TestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	putSettings(t, s, key, settingsJSON(campaignJSON("c", 100, [2]float64{50, 50}, "")))
	s.Do(t, key, http.MethodPost, "/v1/storage", record{UserID: "Bill", CampaignKey: "c", VariationName: "Variation-1"})
	before := s.Snapshot(t)

	d := decide(t, s, key, "activate", map[string]any{"campaignKey": "c", "userId": "Ashley", "dryRun": true})
	require.Equal(t, "Control", name(d))
	require.Equal(t, "bucketed", d.Source)
	d = decide(t, s, key, "activate", map[string]any{"campaignKey": "c", "userId": "Bill", "dryRun": true})
	require.Equal(t, "Variation-1", name(d))
	require.Equal(t, "stored", d.Source)
	d = decide(t, s, key, "activate", map[string]any{"campaignKey": "c", "userId": "Bill", "dryRun": true, "sticky": false})
	require.Equal(t, "bucketed", d.Source, "dry run without stickiness shows the fresh decision")
	require.Equal(t, before, s.Snapshot(t), "no row, no exposure, no delete")
}

func TestNotStickyIgnoresAndDeletesTheStoredRow(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	putSettings(t, s, key, settingsJSON(campaignJSON("c", 100, [2]float64{0, 100}, "")))
	s.Do(t, key, http.MethodPost, "/v1/storage", record{UserID: "Ashley", CampaignKey: "c", VariationName: "Control"})

	d := decide(t, s, key, "activate", map[string]any{"campaignKey": "c", "userId": "Ashley", "sticky": false})
	require.Equal(t, "Variation-1", name(d), "decided without the stored Control")
	require.Equal(t, "bucketed", d.Source)
	_, status := getRecord(t, s, key, "Ashley", "c")
	require.Equal(t, http.StatusNotFound, status, "the stored row is deleted and nothing new stored")
}

func TestACampaignThatIsNotRunningGivesNothingAndStoresNothing(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	paused := `"status": "PAUSED"`
	body := settingsJSON(campaignJSON("c", 100, [2]float64{50, 50}, ""))
	putSettings(t, s, key, body)
	s.Do(t, key, http.MethodPost, "/v1/storage", record{UserID: "Bill", CampaignKey: "c", VariationName: "Control"})
	putSettings(t, s, key, settingsJSON(fmt.Sprintf(`{"id": 9, "key": "c", "name": "c", "type": "VISUAL_AB", %s,
		"percentTraffic": 100, "goals": [], "variations": [{"id": 1, "name": "Control", "weight": 100, "changes": {}}]}`, paused)))
	before := s.Snapshot(t)
	for _, user := range []string{"Ashley", "Bill"} {
		d := decide(t, s, key, "activate", map[string]any{"campaignKey": "c", "userId": user})
		require.Nil(t, d.VariationName, user)
		require.Equal(t, "none", d.Source)
		require.Contains(t, d.Reason, "PAUSED")
	}
	require.Equal(t, before, s.Snapshot(t), "nothing saved, the stored row kept for when it runs again")
}

func TestWhitelistingWinsAndIsNotStored(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	putSettings(t, s, key, settingsJSON(`{"id": 5, "key": "c", "name": "c", "status": "RUNNING", "type": "VISUAL_AB",
		"percentTraffic": 100, "isForcedVariationEnabled": true, "goals": [],
		"variations": [
			{"id": 1, "name": "Control", "weight": 50, "changes": {}},
			{"id": 2, "name": "Variation-1", "weight": 50, "changes": {},
			 "segments": {"or": [{"custom_variable": {"qa": "true"}}]}}]}`))
	s.Do(t, key, http.MethodPost, "/v1/storage", record{UserID: "Ashley", CampaignKey: "c", VariationName: "Control"})
	before := s.Snapshot(t)
	d := decide(t, s, key, "activate", map[string]any{"campaignKey": "c", "userId": "Ashley",
		"variationTargetingVariables": map[string]any{"qa": true}})
	require.Equal(t, "Variation-1", name(d))
	require.Equal(t, "whitelisted", d.Source)
	d = decide(t, s, key, "activate", map[string]any{"campaignKey": "c", "userId": "Zeba",
		"variationTargetingVariables": map[string]any{"qa": "true"}})
	require.Equal(t, "whitelisted", d.Source)
	require.Equal(t, before, s.Snapshot(t), "whitelisted decisions store nothing")
}

func TestDecisionRequestsAreValidated(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	noSettings := s.Do(t, key, http.MethodPost, "/v1/activate", map[string]any{"campaignKey": "c", "userId": "u"})
	require.Equal(t, http.StatusNotFound, noSettings.Status)
	require.Equal(t, "not_found", noSettings.ErrorCode(t))
	putSettings(t, s, key, settingsJSON(campaignJSON("c", 100, [2]float64{50, 50}, "")))
	before := s.Snapshot(t)
	for name, c := range map[string]struct {
		body   string
		status int
	}{
		"unknown campaign":           {`{"campaignKey":"nope","userId":"u"}`, http.StatusNotFound},
		"missing userId":             {`{"campaignKey":"c"}`, http.StatusBadRequest},
		"empty campaignKey":          {`{"campaignKey":"","userId":"u"}`, http.StatusBadRequest},
		"unknown field":              {`{"campaignKey":"c","userId":"u","userID2":"x"}`, http.StatusBadRequest},
		"customVariables not a map":  {`{"campaignKey":"c","userId":"u","customVariables":[1]}`, http.StatusBadRequest},
		"dryRun not a bool":          {`{"campaignKey":"c","userId":"u","dryRun":"yes"}`, http.StatusBadRequest},
		"userId over 255 bytes":      {`{"campaignKey":"c","userId":"` + string(make([]byte, 0)) + fmt.Sprintf("%0256d", 0) + `"}`, http.StatusBadRequest},
		"sticky null is the default": {`{"campaignKey":"c","userId":"u","sticky":null,"dryRun":true}`, http.StatusOK},
	} {
		for _, endpoint := range []string{"activate", "variation"} {
			resp := s.Do(t, key, http.MethodPost, "/v1/"+endpoint, c.body)
			require.Equal(t, c.status, resp.Status, "%s %s: %s", endpoint, name, resp.Body)
		}
	}
	require.Equal(t, before, s.Snapshot(t))
}

// Two servers share one database: a settings change through one is in use by the other within
// a second, by notification (the poll is set to an hour so it cannot be what delivers it).
func TestASettingsChangeReachesAnotherServerWithinASecond(t *testing.T) {
	t.Parallel()
	slowPoll := func(c *apitest.ConfigT) { c.SettingsPollInterval = time.Hour }
	a := apitest.Start(t, slowPoll)
	b := apitest.StartOn(t, a.DatabaseURL, slowPoll)
	key := a.NewKey(t, "acme")
	peek := func(s *apitest.Server, user string) (int, string) {
		resp := s.Do(t, key, http.MethodPost, "/v1/variation", map[string]any{"campaignKey": "c", "userId": user, "dryRun": true})
		if resp.Status != http.StatusOK {
			return resp.Status, ""
		}
		var d decided
		resp.Decode(t, &d)
		return resp.Status, name(d)
	}
	status, _ := peek(b, "Ashley")
	require.Equal(t, http.StatusNotFound, status)

	for i, weights := range [][2]float64{{100, 0}, {0, 100}, {100, 0}} {
		want := map[float64]string{100: "Control", 0: "Variation-1"}[weights[0]]
		start := time.Now()
		putSettings(t, a, key, settingsJSON(campaignJSON("c", 100, weights, "")))
		require.Eventually(t, func() bool {
			status, got := peek(b, "Ashley")
			return status == http.StatusOK && got == want
		}, time.Second, 5*time.Millisecond, "change %d not in use on the other server within 1s", i)
		t.Logf("change %d in use on the other server after %v", i, time.Since(start).Round(time.Millisecond))
	}
}

// After its listener loses the database and gets it back, a server reloads what it missed.
func TestASettingsChangeMissedDuringAnOutageIsLoadedOnReconnect(t *testing.T) {
	t.Parallel()
	slowPoll := func(c *apitest.ConfigT) { c.SettingsPollInterval = time.Hour }
	a := apitest.Start(t, slowPoll)
	key := a.NewKey(t, "acme")
	putSettings(t, a, key, settingsJSON(campaignJSON("c", 100, [2]float64{100, 0}, "")))
	proxy, viaProxy := proxied(t, a.DatabaseURL)
	b := apitest.StartOn(t, viaProxy, slowPoll)
	require.Equal(t, "Control", name(decide(t, b, key, "variation", map[string]any{"campaignKey": "c", "userId": "u", "dryRun": true})))

	proxy.Break()
	putSettings(t, a, key, settingsJSON(campaignJSON("c", 100, [2]float64{0, 100}, "")))
	proxy.Restore()
	require.Eventually(t, func() bool {
		resp := b.Do(t, key, http.MethodPost, "/v1/variation", map[string]any{"campaignKey": "c", "userId": "u", "dryRun": true})
		var d decided
		if resp.Status == http.StatusOK {
			resp.Decode(t, &d)
		}
		return name(d) == "Variation-1"
	}, 10*time.Second, 20*time.Millisecond)
}

// Concurrent first activations of one user, spread over two servers while the weights flip
// between versions, all get one variation: the stored row's.
func TestConcurrentFirstActivationsOnTwoServersAgree(t *testing.T) {
	t.Parallel()
	a := apitest.Start(t)
	b := apitest.StartOn(t, a.DatabaseURL)
	key := a.NewKey(t, "acme")
	putSettings(t, a, key, settingsJSON(campaignJSON("c", 100, [2]float64{100, 0}, "")))
	require.Eventually(t, func() bool {
		return b.Do(t, key, http.MethodPost, "/v1/variation", map[string]any{"campaignKey": "c", "userId": "x", "dryRun": true}).Status == http.StatusOK
	}, time.Second, 5*time.Millisecond, "the other server has the settings")

	stop := make(chan struct{})
	flipped := make(chan int)
	go func() {
		n := 0
		defer func() { flipped <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			weights := [2]float64{100, 0}
			if n%2 == 0 {
				weights = [2]float64{0, 100}
			}
			s := []*apitest.Server{a, b}[n%2]
			req, _ := http.NewRequest(http.MethodPut, s.URL+"/v1/settings",
				strings.NewReader(settingsJSON(campaignJSON("c", 100, weights, ""))))
			req.Header.Set("Authorization", "Bearer "+key)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					n++
				}
			}
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
			<-flipped
		}
	}()

	const users, perUser = 30, 8
	seen := map[string]bool{}
	for u := 0; u < users; u++ {
		user := fmt.Sprintf("user-%d", u)
		answers := make([]string, perUser)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < perUser; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				s := []*apitest.Server{a, b}[i%2]
				resp := s.Do(t, key, http.MethodPost, "/v1/activate", map[string]any{"campaignKey": "c", "userId": user})
				if resp.Status != http.StatusOK {
					answers[i] = fmt.Sprintf("status %d: %s", resp.Status, resp.Body)
					return
				}
				var d decided
				resp.Decode(t, &d)
				answers[i] = name(d)
			}()
		}
		close(start)
		wg.Wait()
		stored, status := getRecord(t, a, key, user, "c")
		require.Equal(t, http.StatusOK, status)
		for i, got := range answers {
			require.Equal(t, stored.VariationName, got, "%s: request %d disagrees with the stored row", user, i)
		}
		require.Equal(t, int64(perUser), exposures(t, a, user, "c"), "%s: every activation counted once", user)
		seen[stored.VariationName] = true
	}
	close(stop)
	n := <-flipped
	require.Greater(t, n, users, "the weights flipped while the users were decided")
	t.Logf("settings versions flipped %d times during the test; variations seen: %v", n, seen)
}

// A returning user is answered from the stored row, and says so, even when today's bucketing
// would give the same variation; only the first decision, which stores it, is "bucketed". The
// decision metric then counts returning users under source="stored".
func TestAReturningUserIsAnsweredFromTheStoredRow(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	putSettings(t, s, key, settingsJSON(campaignJSON("c", 100, [2]float64{50, 50}, "")))

	first := decide(t, s, key, "activate", map[string]any{"campaignKey": "c", "userId": "Ashley"})
	require.Equal(t, "bucketed", first.Source, first.Reason)
	require.Equal(t, "bucketed", first.ReasonCode)
	for _, endpoint := range []string{"activate", "variation", "activate"} {
		again := decide(t, s, key, endpoint, map[string]any{"campaignKey": "c", "userId": "Ashley"})
		require.Equal(t, name(first), name(again))
		require.Equal(t, "stored", again.Source, "%s: %s", endpoint, again.Reason)
		require.Equal(t, "stored", again.ReasonCode)
		require.Equal(t, `stored assignment "Control"`, again.Reason)
	}
	require.Equal(t, []string{
		`uss_decisions_total{endpoint="activate",reason_code="bucketed",source="bucketed"} 1`,
		`uss_decisions_total{endpoint="activate",reason_code="stored",source="stored"} 2`,
		`uss_decisions_total{endpoint="variation",reason_code="stored",source="stored"} 1`,
	}, metricLines(t, s, "uss_decisions_total{"))
}

// metricLines are the lines of the server's /metrics that start with prefix.
func metricLines(t *testing.T, s *apitest.Server, prefix string) []string {
	t.Helper()
	var lines []string
	for _, line := range strings.Split(string(s.Do(t, "", http.MethodGet, "/metrics", nil).Body), "\n") {
		if strings.HasPrefix(line, prefix) {
			lines = append(lines, line)
		}
	}
	return lines
}

// sticky false with dryRun keeps the stored row: the reason must not say it is removed.
func TestADryRunWithoutStickinessSaysTheRowIsKept(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	putSettings(t, s, key, settingsJSON(campaignJSON("c", 100, [2]float64{0, 100}, "")))
	s.Do(t, key, http.MethodPost, "/v1/storage", record{UserID: "Ashley", CampaignKey: "c", VariationName: "Control"})

	d := decide(t, s, key, "activate", map[string]any{"campaignKey": "c", "userId": "Ashley", "sticky": false, "dryRun": true})
	require.Equal(t, "Variation-1", name(d))
	require.NotContains(t, d.Reason, "removed")
	require.Contains(t, d.Reason, "kept")
	_, status := getRecord(t, s, key, "Ashley", "c")
	require.Equal(t, http.StatusOK, status, "a dry run deletes nothing")
}
