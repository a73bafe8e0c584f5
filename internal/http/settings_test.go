package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
)

// campaignJSON is one VISUAL_AB campaign with two variations and two goals.
func campaignJSON(key string, percentTraffic int, weights [2]float64, extra string) string {
	segments := `"segments": {},`
	if strings.Contains(extra, `"segments"`) {
		segments = "" // a key twice is refused
	}
	if extra != "" {
		extra = "," + extra
	}
	return fmt.Sprintf(`{"id": %d, "key": %q, "name": %q, "status": "RUNNING", "type": "VISUAL_AB",
		"percentTraffic": %d, `+segments+`
		"goals": [{"identifier": "signup", "id": 1, "type": "CUSTOM_GOAL"},
		          {"identifier": "purchase", "id": 2, "type": "REVENUE_TRACKING"}],
		"variations": [{"id": 1, "name": "Control", "weight": %g, "changes": {}},
		               {"id": 2, "name": "Variation-1", "weight": %g, "changes": {}}]%s}`,
		crc32.ChecksumIEEE([]byte(key))%1000000+1, key, key, percentTraffic, weights[0], weights[1], extra)
}

func settingsJSON(campaigns ...string) string {
	return `{"sdkKey": "sdk-key", "accountId": 123456, "version": 1, "campaigns": [` + strings.Join(campaigns, ",") + `]}`
}

func putSettings(t *testing.T, s *apitest.Server, key, body string) int64 {
	t.Helper()
	resp := s.Do(t, key, http.MethodPut, "/v1/settings", body)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var out struct {
		Version int64 `json:"version"`
	}
	resp.Decode(t, &out)
	return out.Version
}

func TestSettingsAreValidatedVersionedAndReturned(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	require.Equal(t, http.StatusNotFound, s.Do(t, key, http.MethodGet, "/v1/settings", nil).Status)

	v1 := settingsJSON(campaignJSON("c1", 100, [2]float64{50, 50}, ""), campaignJSON("c2", 50, [2]float64{10, 90}, ""))
	resp := s.Do(t, key, http.MethodPut, "/v1/settings", v1)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.JSONEq(t, `{"version": 1, "campaigns": 2, "warnings": []}`, string(resp.Body))

	resp = s.Do(t, key, http.MethodGet, "/v1/settings", nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var got struct {
		Version  int64           `json:"version"`
		Settings json.RawMessage `json:"settings"`
	}
	resp.Decode(t, &got)
	require.Equal(t, int64(1), got.Version)
	require.JSONEq(t, v1, string(got.Settings), "the file comes back as uploaded, accountId and sdkKey included")

	before := s.Snapshot(t)
	bad := settingsJSON(
		campaignJSON("dup", 100, [2]float64{50, 40}, ""),
		campaignJSON("dup", 120, [2]float64{50, 50}, `"segments": {"custom_variable": 7}`))
	resp = s.Do(t, key, http.MethodPut, "/v1/settings", bad)
	require.Equal(t, http.StatusBadRequest, resp.Status, "%s", resp.Body)
	require.Equal(t, "invalid_argument", resp.ErrorCode(t))
	var problems struct {
		Error struct {
			Details []string `json:"details"`
		} `json:"error"`
	}
	resp.Decode(t, &problems)
	joined := strings.Join(problems.Error.Details, "\n")
	require.GreaterOrEqual(t, len(problems.Error.Details), 4, joined)
	for _, want := range []string{"weight", "percentTraffic", "dup", "segments"} {
		require.Contains(t, joined, want, "every problem is listed")
	}
	require.Equal(t, before, s.Snapshot(t), "an invalid file stores nothing")

	for name, body := range map[string]string{
		"not JSON":         `{"campaigns": [`,
		"not an object":    `[1, 2]`,
		"empty":            ``,
		"campaigns absent": `{"accountId": 1}`,
	} {
		resp := s.Do(t, key, http.MethodPut, "/v1/settings", body)
		require.Equal(t, http.StatusBadRequest, resp.Status, "%s: %s", name, resp.Body)
	}

	require.Equal(t, int64(2), putSettings(t, s, key, settingsJSON(campaignJSON("c1", 100, [2]float64{0, 100}, ""))))
	resp = s.Do(t, key, http.MethodGet, "/v1/settings", nil)
	resp.Decode(t, &got)
	require.Equal(t, int64(2), got.Version)

	other := s.NewKey(t, "other")
	require.Equal(t, http.StatusNotFound, s.Do(t, other, http.MethodGet, "/v1/settings", nil).Status,
		"settings belong to one account")
}

func TestSettingsOverTheirLimitGet413(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, func(c *apitest.ConfigT) { c.SettingsBodyLimit = 4096 })
	key := s.NewKey(t, "acme")
	big := settingsJSON(campaignJSON("c1", 100, [2]float64{50, 50}, `"name2": "`+strings.Repeat("x", 5000)+`"`))
	resp := s.Do(t, key, http.MethodPut, "/v1/settings", big)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.Status, "%s", resp.Body)
	require.Equal(t, "payload_too_large", resp.ErrorCode(t))
	require.Contains(t, string(resp.Body), "request body is larger than the limit of 4096 bytes")
	// The settings limit is its own: a file over USS_BODY_LIMIT but under it is fine.
	s2 := apitest.Start(t, func(c *apitest.ConfigT) { c.BodyLimit = 1024 })
	key2 := s2.NewKey(t, "acme")
	require.Equal(t, int64(1), putSettings(t, s2, key2, big))
}

func TestSettingsOverTheCampaignLimitAreRefused(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, func(c *apitest.ConfigT) { c.Limits.SettingsMaxCampaigns = 2 })
	key := s.NewKey(t, "acme")
	two := settingsJSON(campaignJSON("c1", 100, [2]float64{50, 50}, ""), campaignJSON("c2", 100, [2]float64{50, 50}, ""))
	require.Equal(t, int64(1), putSettings(t, s, key, two))
	before := s.Snapshot(t)

	three := settingsJSON(campaignJSON("c1", 100, [2]float64{50, 50}, ""), campaignJSON("c2", 100, [2]float64{50, 50}, ""),
		campaignJSON("c3", 100, [2]float64{50, 50}, ""))
	resp := s.Do(t, key, http.MethodPut, "/v1/settings", three)
	require.Equal(t, http.StatusBadRequest, resp.Status, "%s", resp.Body)
	require.Equal(t, "invalid_argument", resp.ErrorCode(t))
	var e struct {
		Error struct{ Details []string } `json:"error"`
	}
	resp.Decode(t, &e)
	require.Equal(t, []string{"campaigns: the file lists 3 campaigns, more than the 2 this server accepts per account"}, e.Error.Details)
	require.Equal(t, before, s.Snapshot(t), "nothing was stored")
}

// Every upload keeps the account's newest USS_SETTINGS_KEEP versions and removes older ones,
// with their weights and goals, in its transaction; the current version and what the reports
// read of it stay.
func TestOnlyTheNewestSettingsVersionsAreKept(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, func(c *apitest.ConfigT) { c.Limits.SettingsKeep = 3 })
	key := s.NewKey(t, "acme")
	other := s.NewKey(t, "other")
	require.Equal(t, int64(1), putSettings(t, s, other, settingsJSON(campaignJSON("o", 100, [2]float64{50, 50}, ""))))
	for v := 1; v <= 5; v++ {
		body := settingsJSON(campaignJSON("c", 100, [2]float64{float64(10 * v), float64(100 - 10*v)}, ""))
		require.Equal(t, int64(v), putSettings(t, s, key, body))
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	versions := func(table string) map[string][]int64 {
		rows, err := conn.Query(ctx, `SELECT a.name, array_agg(DISTINCT t.version ORDER BY t.version)
			FROM `+table+` t JOIN accounts a USING (account_id) GROUP BY a.name`)
		require.NoError(t, err)
		out := map[string][]int64{}
		for rows.Next() {
			var name string
			var vs []int64
			require.NoError(t, rows.Scan(&name, &vs))
			out[name] = vs
		}
		require.NoError(t, rows.Err())
		return out
	}
	want := map[string][]int64{"acme": {3, 4, 5}, "other": {1}}
	for _, table := range []string{"settings", "settings_variations", "settings_goals"} {
		require.Equal(t, want, versions(table), table)
	}

	resp := s.Do(t, key, http.MethodGet, "/v1/settings", nil)
	require.Equal(t, http.StatusOK, resp.Status)
	var got struct{ Version int64 }
	resp.Decode(t, &got)
	require.Equal(t, int64(5), got.Version)
	var weight string
	require.NoError(t, conn.QueryRow(ctx, `SELECT weight::text FROM report_variation_users r JOIN accounts a USING (account_id)
		WHERE a.name = 'acme' AND campaign_key = 'c' AND variation_name = 'Control'`).Scan(&weight))
	require.Equal(t, "50", weight, "the reports read the current version's weights")
}

// A server that starts loads every account's current settings (one file at a time).
func TestAStartingServerLoadsEveryAccountsSettings(t *testing.T) {
	t.Parallel()
	a := apitest.Start(t)
	keys := map[string]string{}
	for _, account := range []string{"acme", "globex", "initech"} {
		keys[account] = a.NewKey(t, account)
		// An old version gives everyone Control, the current one Variation-1.
		putSettings(t, a, keys[account], settingsJSON(campaignJSON(account+"-c", 100, [2]float64{100, 0}, "")))
		putSettings(t, a, keys[account], settingsJSON(campaignJSON(account+"-c", 100, [2]float64{0, 100}, "")))
	}
	b := apitest.StartOn(t, a.DatabaseURL)
	for account, key := range keys {
		resp := b.Do(t, key, http.MethodPost, "/v1/variation", map[string]any{"campaignKey": account + "-c", "userId": "x", "dryRun": true})
		require.Equal(t, http.StatusOK, resp.Status, "%s: %s", account, resp.Body)
		var d struct{ VariationName string }
		resp.Decode(t, &d)
		require.Equal(t, "Variation-1", d.VariationName, account)
	}
}

// A regex Go's RE2 cannot compile may still be valid where the rule was written (a browser),
// so the file loads; every such condition is reported in the answer, and counted.
func TestSettingsWithARegexGoCannotCompileLoadWithWarnings(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	body := settingsJSON(campaignJSON("c", 100, [2]float64{50, 50},
		`"segments": {"or": [{"custom_variable": {"browser": "regex(([)"}}, {"custom_variable": {"os": "regex((?<=a)b)"}}]}`))
	resp := s.Do(t, key, http.MethodPut, "/v1/settings", body)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var out struct {
		Version  int64    `json:"version"`
		Warnings []string `json:"warnings"`
	}
	resp.Decode(t, &out)
	require.Equal(t, int64(1), out.Version)
	require.Len(t, out.Warnings, 2, "%s", resp.Body)
	require.Contains(t, out.Warnings[0], `campaigns[0].segments.or[0].custom_variable["browser"]`)
	require.Contains(t, out.Warnings[1], `campaigns[0].segments.or[1].custom_variable["os"]`)

	clean := s.Do(t, key, http.MethodPut, "/v1/settings", settingsJSON(campaignJSON("c", 100, [2]float64{50, 50}, "")))
	require.JSONEq(t, `{"version": 2, "campaigns": 1, "warnings": []}`, string(clean.Body))
	metrics := string(s.Do(t, "", http.MethodGet, "/metrics", nil).Body)
	require.Contains(t, metrics, "uss_settings_warnings_total 2")
}
