package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
	"github.com/uss/uss/internal/reports"
	"github.com/uss/uss/internal/stats"
)

// pricingSettings has "pricing", whose first variation in the file, the control, is not the
// first by name: Original, Blue, Green at 40/40/20, goals signup and purchase (revenue).
const pricingSettings = `{"sdkKey": "k", "accountId": 1, "version": 1, "campaigns": [
  {"id": 7, "key": "pricing", "name": "Pricing page", "status": "RUNNING", "type": "VISUAL_AB", "percentTraffic": 100,
   "goals": [{"id": 1, "identifier": "signup", "type": "CUSTOM_GOAL"},
             {"id": 2, "identifier": "purchase", "type": "REVENUE_TRACKING"}],
   "variations": [{"id": 1, "name": "Original", "weight": 40, "changes": {}},
                  {"id": 2, "name": "Blue", "weight": 40, "changes": {}},
                  {"id": 3, "name": "Green", "weight": 20, "changes": {}}]},
  {"id": 8, "key": "paused-test", "name": "Paused", "status": "PAUSED", "type": "VISUAL_AB", "percentTraffic": 100,
   "goals": [], "variations": [{"id": 1, "name": "Control", "weight": 50, "changes": {}},
                               {"id": 2, "name": "Variation-1", "weight": 50, "changes": {}}]}]}`

// seedPricing uploads pricingSettings for the account and writes, through SQL: Original
// 1000 users (100 signed up; 4 purchases of 9.95), Blue 1000 users (130 signed up), Green 500
// users (none signed up); "paused-test" 600 Control and 400 Variation-1 users at 50/50, a
// sample-ratio mismatch; and "legacy", a campaign only stored rows know, with users in "B"
// and "control".
func seedPricing(t *testing.T, s *apitest.Server, key, accountName string) {
	t.Helper()
	putSettings(t, s, key, pricingSettings)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	account := accountID(t, conn, accountName)
	for _, stmt := range []string{
		`INSERT INTO assignments (account_id, user_id, campaign_key, variation_name, source, exposures)
		 SELECT $1, v.name || '-' || i, 'pricing', v.name, 'bucketed', 1
		 FROM (VALUES ('Original', 1000), ('Blue', 1000), ('Green', 500)) v(name, n), generate_series(1, v.n) i`,
		`INSERT INTO conversions (account_id, user_id, campaign_key, variation_name, goal_identifier)
		 SELECT $1, v.name || '-' || i, 'pricing', v.name, 'signup'
		 FROM (VALUES ('Original', 100), ('Blue', 130)) v(name, n), generate_series(1, v.n) i`,
		`INSERT INTO conversions (account_id, user_id, campaign_key, variation_name, goal_identifier, revenue)
		 SELECT $1, 'Original-' || i, 'pricing', 'Original', 'purchase', 9.95 FROM generate_series(1, 4) i`,
		`INSERT INTO assignments (account_id, user_id, campaign_key, variation_name, source)
		 SELECT $1, 'p-' || i, 'paused-test', CASE WHEN i <= 600 THEN 'Control' ELSE 'Variation-1' END, 'bucketed'
		 FROM generate_series(1, 1000) i`,
		`INSERT INTO assignments (account_id, user_id, campaign_key, variation_name, source)
		 SELECT $1, 'l-' || i, 'legacy', CASE WHEN i <= 3 THEN 'B' ELSE 'control' END, 'set' FROM generate_series(1, 5) i`,
	} {
		_, err := conn.Exec(ctx, stmt, account)
		require.NoError(t, err)
	}
}

func goalRow(t *testing.T, r reports.Campaign, goal, variation string) reports.Goal {
	t.Helper()
	for _, g := range r.Goals {
		if g.Identifier == goal && g.Variation == variation {
			return g
		}
	}
	require.Failf(t, "no goal row", "%s in %s", goal, variation)
	return reports.Goal{}
}

func TestCampaignReportStatistics(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	seedPricing(t, s, key, "acme")

	r := getReport(t, s, key, "pricing")
	require.Equal(t, "Original", *r.Control, "the first variation of the settings file, not the first by name")

	shares := map[string]float64{}
	for _, v := range r.Variations {
		shares[v.Name] = *v.Share
	}
	require.Equal(t, map[string]float64{"Blue": 0.4, "Green": 0.2, "Original": 0.4}, shares)

	original := goalRow(t, r, "signup", "Original")
	require.Nil(t, original.ComparedWithControl, "the control is not compared with itself")
	require.InDelta(t, 0.082909443593095701708, original.ConversionRateInterval.Low, 1e-12)
	require.InDelta(t, 0.1201519631953483976, original.ConversionRateInterval.High, 1e-12)
	require.InDelta(t, 0.0, *original.RevenuePerUser, 0)

	// 130 of 1000 against 100 of 1000: the hand-computed case of package stats.
	blue := goalRow(t, r, "signup", "Blue").ComparedWithControl
	require.NotNil(t, blue)
	require.InDelta(t, 0.03, blue.AbsoluteUplift, 1e-12)
	require.InDelta(t, 0.3, *blue.RelativeUplift, 1e-12)
	require.InDelta(t, 0.035488450466474692269, blue.PValue, 1e-12)
	require.InDelta(t, 0.98216506611635052185, blue.ChanceToBeatControl, 1e-9)
	want, _ := stats.Compare(stats.Proportion{Converted: 130, Users: 1000}, stats.Proportion{Converted: 100, Users: 1000})
	require.Equal(t, want, *blue)

	// Nobody in Green signed up: the relative uplift is −100 %, without an interval.
	green := goalRow(t, r, "signup", "Green").ComparedWithControl
	require.InDelta(t, -1.0, *green.RelativeUplift, 1e-12)
	require.Nil(t, green.RelativeUpliftInterval)
	require.Less(t, green.ChanceToBeatControl, 1e-9)

	// Revenue per user divides the exact sum by every user of the variation: 39.80 / 1000.
	require.InDelta(t, 0.0398, *goalRow(t, r, "purchase", "Original").RevenuePerUser, 1e-15)
	// Nobody purchased in Blue or in the control but 4: a relative uplift of −100 %.
	require.InDelta(t, -1.0, *goalRow(t, r, "purchase", "Blue").ComparedWithControl.RelativeUplift, 1e-12)

	// Another control is a query parameter away; the comparison turns around.
	resp := s.Do(t, key, http.MethodGet, reportPath("pricing")+"&control=Blue", nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var againstBlue reports.Campaign
	resp.Decode(t, &againstBlue)
	require.Equal(t, "Blue", *againstBlue.Control)
	require.Nil(t, goalRow(t, againstBlue, "signup", "Blue").ComparedWithControl)
	require.InDelta(t, -0.03, goalRow(t, againstBlue, "signup", "Original").ComparedWithControl.AbsoluteUplift, 1e-12)
	require.Equal(t, countsOnly(r), countsOnly(againstBlue), "the counts do not depend on the control")

	// Without settings, a variation named control in any case, else the first by name.
	require.Equal(t, "control", *getReport(t, s, key, "legacy").Control)
	resp = s.Do(t, key, http.MethodGet, reportPath("legacy")+"&control=B", nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)

	for name, control := range map[string]string{"not a variation": "Purple", "empty": "", "another campaign's": "Control"} {
		resp := s.Do(t, key, http.MethodGet, reportPath("pricing")+"&"+url.Values{"control": {control}}.Encode(), nil)
		require.Equal(t, http.StatusBadRequest, resp.Status, "%s: %s", name, resp.Body)
		require.Equal(t, "invalid_argument", resp.ErrorCode(t), name)
	}
}
