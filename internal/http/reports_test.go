package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
	"github.com/uss/uss/internal/reports"
)

// reportSettings has "checkout" (Control and Variation-1 at the given weights, Variation-2 at
// 0; goals signup, purchase with revenue, newsletter) and "skewed" (50/50, no goals).
func reportSettings(control, variation1 string) string {
	return fmt.Sprintf(`{"sdkKey": "k", "accountId": 1, "version": 1, "campaigns": [
	  {"id": 1, "key": "checkout", "name": "checkout", "status": "RUNNING", "type": "VISUAL_AB", "percentTraffic": 100,
	   "goals": [{"id": 1, "identifier": "signup", "type": "CUSTOM_GOAL"},
	             {"id": 2, "identifier": "purchase", "type": "REVENUE_TRACKING"},
	             {"id": 3, "identifier": "newsletter", "type": "CUSTOM_GOAL"}],
	   "variations": [{"id": 1, "name": "Control", "weight": %s, "changes": {}},
	                  {"id": 2, "name": "Variation-1", "weight": %s, "changes": {}},
	                  {"id": 3, "name": "Variation-2", "weight": 0, "changes": {}}]},
	  {"id": 2, "key": "skewed", "name": "skewed", "status": "RUNNING", "type": "VISUAL_AB", "percentTraffic": 100,
	   "goals": [],
	   "variations": [{"id": 1, "name": "Control", "weight": 50, "changes": {}},
	                  {"id": 2, "name": "Variation-1", "weight": 50, "changes": {}}]}]}`, control, variation1)
}

func accountID(tb testing.TB, conn *pgx.Conn, name string) int64 {
	tb.Helper()
	var id int64
	require.NoError(tb, conn.QueryRow(context.Background(), `SELECT account_id FROM accounts WHERE name = $1`, name).Scan(&id))
	return id
}

func ptr[T any](v T) *T { return &v }

func reportPath(campaignKey string) string {
	return "/v1/reports/campaign?" + url.Values{"campaignKey": {campaignKey}}.Encode()
}

func getReport(t *testing.T, s *apitest.Server, key, campaignKey string) reports.Campaign {
	t.Helper()
	resp := s.Do(t, key, http.MethodGet, reportPath(campaignKey), nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var r reports.Campaign
	resp.Decode(t, &r)
	return r
}

// viewReport assembles a campaign's report from the SQL views alone, as a SQL user reads them.
func viewReport(t *testing.T, conn *pgx.Conn, account int64, campaignKey string) reports.Campaign {
	t.Helper()
	ctx := context.Background()
	r := reports.Campaign{CampaignKey: campaignKey, Variations: []reports.Variation{}, Goals: []reports.Goal{}}
	rows, err := conn.Query(ctx, `SELECT variation_name, users, whitelisted_users, exposures, weight::float8
		FROM report_variation_users WHERE account_id = $1 AND campaign_key = $2 ORDER BY variation_name`, account, campaignKey)
	require.NoError(t, err)
	r.Variations, err = pgx.AppendRows(r.Variations, rows, func(row pgx.CollectableRow) (reports.Variation, error) {
		var v reports.Variation
		return v, row.Scan(&v.Name, &v.Users, &v.WhitelistedUsers, &v.Exposures, &v.Weight)
	})
	require.NoError(t, err)

	rows, err = conn.Query(ctx, `SELECT goal_identifier, variation_name, converted_users, conversions, revenue::text,
		users, conversion_rate::float8
		FROM report_conversion_rates WHERE account_id = $1 AND campaign_key = $2 ORDER BY goal_identifier, variation_name`,
		account, campaignKey)
	require.NoError(t, err)
	r.Goals, err = pgx.AppendRows(r.Goals, rows, func(row pgx.CollectableRow) (reports.Goal, error) {
		var g reports.Goal
		return g, row.Scan(&g.Identifier, &g.Variation, &g.ConvertedUsers, &g.Conversions, &g.Revenue, &g.Users, &g.ConversionRate)
	})
	require.NoError(t, err)

	// report_conversion_rates carries report_goal_conversions' columns: they must agree.
	rows, err = conn.Query(ctx, `SELECT goal_identifier, variation_name, converted_users, conversions, revenue::text
		FROM report_goal_conversions WHERE account_id = $1 AND campaign_key = $2 ORDER BY goal_identifier, variation_name`,
		account, campaignKey)
	require.NoError(t, err)
	conversions, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (reports.Goal, error) {
		var g reports.Goal
		return g, row.Scan(&g.Identifier, &g.Variation, &g.ConvertedUsers, &g.Conversions, &g.Revenue)
	})
	require.NoError(t, err)
	require.Len(t, conversions, len(r.Goals))
	for i, g := range r.Goals {
		g.Users, g.ConversionRate = 0, nil
		require.Equal(t, g, conversions[i])
	}

	var sr reports.SampleRatio
	err = conn.QueryRow(ctx, `SELECT variations, users, chi_square, degrees_of_freedom, p_value, mismatch
		FROM report_sample_ratio WHERE account_id = $1 AND campaign_key = $2`, account, campaignKey).
		Scan(&sr.Variations, &sr.Users, &sr.ChiSquare, &sr.DegreesOfFreedom, &sr.PValue, &sr.Mismatch)
	if !errors.Is(err, pgx.ErrNoRows) {
		require.NoError(t, err)
		r.SampleRatio = &sr
	}
	return r
}

// roughly rounds every float of a report to 12 significant digits, so that figures computed
// in PostgreSQL and by hand in float64 compare equal; everything else compares exactly. It
// leaves out the control and the statistics, which the views do not have
// (TestCampaignReportStatistics checks them).
func roughly(r reports.Campaign) reports.Campaign {
	r = countsOnly(r)
	round := func(f *float64) *float64 {
		if f == nil {
			return nil
		}
		x, _ := strconv.ParseFloat(strconv.FormatFloat(*f, 'g', 12, 64), 64)
		return &x
	}
	out := r
	out.Variations = append([]reports.Variation(nil), r.Variations...)
	for i := range out.Variations {
		out.Variations[i].Weight = round(out.Variations[i].Weight)
	}
	out.Goals = append([]reports.Goal(nil), r.Goals...)
	for i := range out.Goals {
		out.Goals[i].ConversionRate = round(out.Goals[i].ConversionRate)
	}
	if r.SampleRatio != nil {
		sr := *r.SampleRatio
		sr.ChiSquare, sr.PValue = round(sr.ChiSquare), round(sr.PValue)
		out.SampleRatio = &sr
	}
	return out
}

func TestCampaignReportFiguresMatchHandComputedOnes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := apitest.Start(t)
	acmeKey, globexKey, initechKey := s.NewKey(t, "acme"), s.NewKey(t, "globex"), s.NewKey(t, "initech")
	conn, err := pgx.Connect(ctx, s.DatabaseURL)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	acme, globex := accountID(t, conn, "acme"), accountID(t, conn, "globex")

	// Version 1 weighs checkout 90/10; version 2, the current one, 50/50. Reports compare
	// with the current version only.
	putSettings(t, s, acmeKey, reportSettings("90", "10"))
	putSettings(t, s, acmeKey, reportSettings("50", "50"))

	sql := func(stmt string, args ...any) {
		t.Helper()
		_, err := conn.Exec(ctx, stmt, args...)
		require.NoError(t, err)
	}
	// checkout, through SQL: 510 bucketed Control users with 2 exposures each, 3 whitelisted
	// Control users, 470 bucketed Variation-1 users with 1 exposure each.
	sql(`INSERT INTO assignments (account_id, user_id, campaign_key, variation_name, source, exposures)
		SELECT $1, 'c-' || lpad(i::text, 3, '0'), 'checkout', 'Control', 'bucketed', 2 FROM generate_series(0, 509) i`, acme)
	sql(`INSERT INTO assignments (account_id, user_id, campaign_key, variation_name, source)
		SELECT $1, 'w-' || i, 'checkout', 'Control', 'whitelisted' FROM generate_series(0, 2) i`, acme)
	sql(`INSERT INTO assignments (account_id, user_id, campaign_key, variation_name, source, exposures)
		SELECT $1, 'v-' || lpad(i::text, 3, '0'), 'checkout', 'Variation-1', 'bucketed', 1 FROM generate_series(0, 469) i`, acme)
	// skewed: 600 Control, 400 Variation-1. retired (in no settings): 4 users in "A".
	sql(`INSERT INTO assignments (account_id, user_id, campaign_key, variation_name, source)
		SELECT $1, 's-' || i, 'skewed', CASE WHEN i < 600 THEN 'Control' ELSE 'Variation-1' END, 'bucketed'
		FROM generate_series(0, 999) i`, acme)
	sql(`INSERT INTO assignments (account_id, user_id, campaign_key, variation_name, source)
		SELECT $1, 'r-' || i, 'retired', 'A', 'set' FROM generate_series(0, 3) i`, acme)

	// checkout, through the API: 20 Variation-1 users and 7 users of "Old", a variation no
	// longer in the settings, set by an SDK; one activation of a stored Control user.
	var set records
	for i := range 20 {
		set.Records = append(set.Records, record{UserID: fmt.Sprintf("x-%02d", i), CampaignKey: "checkout", VariationName: "Variation-1"})
	}
	for i := range 7 {
		set.Records = append(set.Records, record{UserID: fmt.Sprintf("o-%d", i), CampaignKey: "checkout", VariationName: "Old"})
	}
	require.Equal(t, http.StatusOK, s.Do(t, acmeKey, http.MethodPost, "/v1/storage/batch-set", set).Status)
	resp := s.Do(t, acmeKey, http.MethodPost, "/v1/activate", map[string]any{"campaignKey": "checkout", "userId": "c-000"})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.Contains(t, string(resp.Body), `"source":"stored"`)

	// Conversions, through SQL: signup by c-001..c-099 in Control and v-000..v-048 in
	// Variation-1; signup by o-0 in Old; legacy-goal (no longer in the settings) by c-005.
	sql(`INSERT INTO conversions (account_id, user_id, campaign_key, variation_name, goal_identifier)
		SELECT $1, 'c-' || lpad(i::text, 3, '0'), 'checkout', 'Control', 'signup' FROM generate_series(1, 99) i`, acme)
	sql(`INSERT INTO conversions (account_id, user_id, campaign_key, variation_name, goal_identifier)
		SELECT $1, 'v-' || lpad(i::text, 3, '0'), 'checkout', 'Variation-1', 'signup' FROM generate_series(0, 48) i`, acme)
	sql(`INSERT INTO conversions (account_id, user_id, campaign_key, variation_name, goal_identifier) VALUES
		($1, 'o-0', 'checkout', 'Old', 'signup'), ($1, 'c-005', 'checkout', 'Control', 'legacy-goal')`, acme)
	// Through the API: c-000 signs up, then twice more as a returning user; purchases.
	for _, tr := range []map[string]any{
		{"userId": "c-000", "goalIdentifier": "signup"},
		{"userId": "c-000", "goalIdentifier": "signup", "shouldTrackReturningUser": true},
		{"userId": "c-000", "goalIdentifier": "signup", "shouldTrackReturningUser": true},
		{"userId": "c-000", "goalIdentifier": "purchase", "revenueValue": "0.1"},
		{"userId": "c-001", "goalIdentifier": "purchase", "revenueValue": "0.2"},
		{"userId": "v-000", "goalIdentifier": "purchase", "revenueValue": "1000000000000.01"},
		{"userId": "v-000", "goalIdentifier": "purchase", "revenueValue": "19.90", "shouldTrackReturningUser": true},
		{"userId": "v-001", "goalIdentifier": "purchase", "revenueValue": 0.01},
	} {
		tr["campaignKey"] = "checkout"
		require.True(t, track(t, s, acmeKey, tr).Results[0].Tracked, "%v", tr)
	}

	// globex has its own "checkout": 5 Control users set by an SDK, one signup, no settings.
	var globexSet records
	for i := range 5 {
		globexSet.Records = append(globexSet.Records, record{UserID: fmt.Sprintf("g-%d", i), CampaignKey: "checkout", VariationName: "Control"})
	}
	require.Equal(t, http.StatusOK, s.Do(t, globexKey, http.MethodPost, "/v1/storage/batch-set", globexSet).Status)
	sql(`INSERT INTO conversions (account_id, user_id, campaign_key, variation_name, goal_identifier)
		VALUES ($1, 'g-0', 'checkout', 'Control', 'signup')`, globex)

	f, zero := ptr[float64], ptr(0.0)
	want := map[string]reports.Campaign{
		"checkout": {
			CampaignKey: "checkout",
			Variations: []reports.Variation{
				// 510 bucketed + 3 whitelisted; 510 × 2 exposures + 1 activation = 1021
				{Name: "Control", Users: 513, WhitelistedUsers: 3, Exposures: 1021, Weight: f(50)},
				// set through the API, not in the settings: no weight
				{Name: "Old", Users: 7, WhitelistedUsers: 0, Exposures: 0},
				// 470 bucketed with 1 exposure + 20 set with none
				{Name: "Variation-1", Users: 490, WhitelistedUsers: 0, Exposures: 470, Weight: f(50)},
				// configured, at weight 0, nobody in it
				{Name: "Variation-2", Users: 0, WhitelistedUsers: 0, Exposures: 0, Weight: f(0)},
			},
			Goals: []reports.Goal{
				{Identifier: "legacy-goal", Variation: "Control", ConvertedUsers: 1, Conversions: 1, Revenue: "0", Users: 513, ConversionRate: f(1.0 / 513)},
				// configured, converted by nobody: zeros for every configured variation
				{Identifier: "newsletter", Variation: "Control", Revenue: "0", Users: 513, ConversionRate: zero},
				{Identifier: "newsletter", Variation: "Variation-1", Revenue: "0", Users: 490, ConversionRate: zero},
				{Identifier: "newsletter", Variation: "Variation-2", Revenue: "0", Users: 0},
				// 0.1 + 0.2 = 0.3 exactly (a float64 sum would be 0.30000000000000004)
				{Identifier: "purchase", Variation: "Control", ConvertedUsers: 2, Conversions: 2, Revenue: "0.3", Users: 513, ConversionRate: f(2.0 / 513)},
				// v-000 twice (1000000000000.01 + 19.90) and v-001 (0.01): 2 users, 3 conversions,
				// 1000000000019.92, beyond float64's 15-16 significant digits
				{Identifier: "purchase", Variation: "Variation-1", ConvertedUsers: 2, Conversions: 3, Revenue: "1000000000019.92", Users: 490, ConversionRate: f(2.0 / 490)},
				{Identifier: "purchase", Variation: "Variation-2", Revenue: "0", Users: 0},
				// c-001..c-099 once, c-000 three times: 100 users, 102 conversions
				{Identifier: "signup", Variation: "Control", ConvertedUsers: 100, Conversions: 102, Revenue: "0", Users: 513, ConversionRate: f(100.0 / 513)},
				{Identifier: "signup", Variation: "Old", ConvertedUsers: 1, Conversions: 1, Revenue: "0", Users: 7, ConversionRate: f(1.0 / 7)},
				{Identifier: "signup", Variation: "Variation-1", ConvertedUsers: 49, Conversions: 49, Revenue: "0", Users: 490, ConversionRate: f(0.1)},
				{Identifier: "signup", Variation: "Variation-2", Revenue: "0", Users: 0},
			},
			// Counted: Control 513 - 3 whitelisted = 510, Variation-1 490 (Old: no weight,
			// Variation-2: weight 0). N = 1000, expected 500 each:
			// chi² = 10²/500 + 10²/500 = 0.4, df = 1, p = Q(1/2, 0.2) = erfc(√0.2) ≈ 0.527.
			SampleRatio: &reports.SampleRatio{Variations: 2, Users: 1000, ChiSquare: f(0.4), DegreesOfFreedom: 1,
				PValue: f(math.Erfc(math.Sqrt(0.2))), Mismatch: false},
		},
		"skewed": {
			CampaignKey: "skewed",
			Variations: []reports.Variation{
				{Name: "Control", Users: 600, Weight: f(50)},
				{Name: "Variation-1", Users: 400, Weight: f(50)},
			},
			Goals: []reports.Goal{},
			// chi² = 100²/500 + 100²/500 = 40, df = 1, p = erfc(√20) ≈ 2.54e-10 < 0.001
			SampleRatio: &reports.SampleRatio{Variations: 2, Users: 1000, ChiSquare: f(40), DegreesOfFreedom: 1,
				PValue: f(math.Erfc(math.Sqrt(20))), Mismatch: true},
		},
		"retired": {
			CampaignKey: "retired",
			Variations:  []reports.Variation{{Name: "A", Users: 4}},
			Goals:       []reports.Goal{},
		},
	}
	for campaignKey, w := range want {
		require.Equal(t, roughly(w), roughly(viewReport(t, conn, acme, campaignKey)), "views of %s", campaignKey)
		require.Equal(t, roughly(w), roughly(getReport(t, s, acmeKey, campaignKey)), "GET report of %s", campaignKey)
	}

	// globex sees its own checkout only, and initech, with nothing, none at all.
	globexWant := reports.Campaign{
		CampaignKey: "checkout",
		Variations:  []reports.Variation{{Name: "Control", Users: 5}},
		Goals:       []reports.Goal{{Identifier: "signup", Variation: "Control", ConvertedUsers: 1, Conversions: 1, Revenue: "0", Users: 5, ConversionRate: f(0.2)}},
	}
	require.Equal(t, globexWant, roughly(getReport(t, s, globexKey, "checkout")))
	require.Equal(t, globexWant, roughly(viewReport(t, conn, globex, "checkout")))
	resp = s.Do(t, initechKey, http.MethodGet, reportPath("checkout"), nil)
	require.Equal(t, http.StatusNotFound, resp.Status, "%s", resp.Body)
	require.Equal(t, "not_found", resp.ErrorCode(t))
	resp = s.Do(t, globexKey, http.MethodGet, reportPath("skewed"), nil)
	require.Equal(t, http.StatusNotFound, resp.Status, "another account's campaign is not found: %s", resp.Body)
}

// countsOnly is the report without what the service adds to the views' figures.
func countsOnly(r reports.Campaign) reports.Campaign {
	r.Control = nil
	r.Variations = append([]reports.Variation(nil), r.Variations...)
	for i := range r.Variations {
		r.Variations[i].Share = nil
	}
	r.Goals = append([]reports.Goal(nil), r.Goals...)
	for i := range r.Goals {
		g := &r.Goals[i]
		g.ConversionRateInterval, g.RevenuePerUser, g.ComparedWithControl = nil, nil, nil
	}
	return r
}

func TestCampaignReportRefusesBadCampaignKeys(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	for name, path := range map[string]string{
		"missing":          "/v1/reports/campaign",
		"empty":            "/v1/reports/campaign?campaignKey=",
		"over 255 bytes":   reportPath(strings.Repeat("k", 256)),
		"invalid UTF-8":    "/v1/reports/campaign?campaignKey=%ff",
		"unknown param":    "/v1/reports/campaign?campaignKey=c&userId=u",
		"given twice":      "/v1/reports/campaign?campaignKey=c&campaignKey=d",
		"malformed escape": "/v1/reports/campaign?campaignKey=%zz",
	} {
		resp := s.Do(t, key, http.MethodGet, path, nil)
		require.Equal(t, http.StatusBadRequest, resp.Status, "%s: %s", name, resp.Body)
		require.Equal(t, "invalid_argument", resp.ErrorCode(t), name)
	}
	resp := s.Do(t, key, http.MethodGet, reportPath(strings.Repeat("k", 255)), nil)
	require.Equal(t, http.StatusNotFound, resp.Status, "a 255-byte key is valid, and unknown: %s", resp.Body)
	require.Equal(t, "not_found", resp.ErrorCode(t))
}
