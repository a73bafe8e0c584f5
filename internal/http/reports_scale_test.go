package httpapi_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
	"github.com/uss/uss/internal/reports"
)

// millionUsers is the size of the campaign the scale test reports on.
const millionUsers = 1_000_000

// millionRowReport is a server whose account "acme" has a campaign "big" of a million
// assignments (Control and Variation-1 alternating, one exposure each) with a purchase of
// revenue (i % 100) × 0.01 by every tenth user i; a campaign "small" of 10,000 assignments; and
// another account with 10,000 assignments in its own "big".
type millionRowReport struct {
	s       *apitest.Server
	key     string
	conn    *pgx.Conn
	account int64
}

func loadMillionRowReport(tb testing.TB) millionRowReport {
	tb.Helper()
	ctx := context.Background()
	s := apitest.Start(tb)
	key := s.NewKey(tb, "acme")
	other := s.NewKey(tb, "other")
	settings := settingsJSON(campaignJSON("big", 100, [2]float64{50, 50}, ""), campaignJSON("small", 100, [2]float64{50, 50}, ""))
	for _, k := range []string{key, other} {
		require.Equal(tb, http.StatusOK, s.Do(tb, k, http.MethodPut, "/v1/settings", settings).Status)
	}
	conn, err := pgx.Connect(ctx, s.DatabaseURL)
	require.NoError(tb, err)
	tb.Cleanup(func() { conn.Close(context.Background()) })
	acme, otherID := accountID(tb, conn, "acme"), accountID(tb, conn, "other")

	start := time.Now()
	// User ids are zero-padded so rows arrive in primary-key order, as a real table's
	// appends would not, but loading stays a few seconds.
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO assignments (account_id, user_id, campaign_key, variation_name, source, exposures)
		  SELECT $1, 'user-' || lpad(i::text, 8, '0'), 'big', CASE i % 2 WHEN 0 THEN 'Control' ELSE 'Variation-1' END, 'bucketed', 1
		  FROM generate_series(1, $2::int) i`, []any{acme, millionUsers}},
		{`INSERT INTO conversions (account_id, user_id, campaign_key, variation_name, goal_identifier, revenue)
		  SELECT $1, 'user-' || lpad(i::text, 8, '0'), 'big', CASE i % 2 WHEN 0 THEN 'Control' ELSE 'Variation-1' END,
		         'purchase', (i % 100) * 0.01
		  FROM generate_series(1, $2::int, 10) i`, []any{acme, millionUsers}},
		{`INSERT INTO assignments (account_id, user_id, campaign_key, variation_name, source)
		  SELECT $1, 'user-' || lpad(i::text, 8, '0'), 'small', CASE i % 2 WHEN 0 THEN 'Control' ELSE 'Variation-1' END, 'bucketed'
		  FROM generate_series(1, 10000) i`, []any{acme}},
		{`INSERT INTO assignments (account_id, user_id, campaign_key, variation_name, source)
		  SELECT $1, 'user-' || lpad(i::text, 8, '0'), 'big', 'Control', 'bucketed'
		  FROM generate_series(1, 10000) i`, []any{otherID}},
		{`VACUUM ANALYZE assignments, conversions, settings, settings_variations, settings_goals`, nil},
	} {
		_, err := conn.Exec(ctx, stmt.sql, stmt.args...)
		require.NoError(tb, err)
	}
	tb.Logf("loaded %d assignments and %d conversions in %v", millionUsers+20000, millionUsers/10, time.Since(start).Round(time.Millisecond))
	return millionRowReport{s: s, key: key, conn: conn, account: acme}
}

// explain returns the plan of EXPLAIN (ANALYZE, BUFFERS) of a report view filtered to one
// campaign, and how long the query itself takes (EXPLAIN ANALYZE's timing of every row adds
// to its own figure).
func (m millionRowReport) explain(tb testing.TB, view, campaignKey string) (string, time.Duration) {
	tb.Helper()
	ctx := context.Background()
	query := `SELECT * FROM ` + view + ` WHERE account_id = $1 AND campaign_key = $2`
	rows, err := m.conn.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS) `+query, m.account, campaignKey)
	require.NoError(tb, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(tb, err)
	start := time.Now()
	rows, err = m.conn.Query(ctx, query, m.account, campaignKey)
	require.NoError(tb, err)
	rows.Close()
	require.NoError(tb, rows.Err())
	return strings.Join(lines, "\n"), time.Since(start)
}

var scanOf = regexp.MustCompile(`(Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan)( using \w+)? on (assignments|conversions)\b`)

func TestReportOnAMillionAssignmentsReadsTheReportIndexes(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a million assignments: left out in short mode, run by USS_TEST_FULL=1 make test and in CI")
	}
	t.Parallel()
	m := loadMillionRowReport(t)

	// Each view must reach the campaign's rows through the report indexes, index-only where
	// no column outside the index is needed: every view but report_variation_users, which
	// sums exposures, kept out of the index so that activate's updates stay HOT.
	for _, c := range []struct {
		view, campaign string
		want           []string
	}{
		{"report_variation_users", "small", []string{"Index Scan using assignments_report_idx on assignments"}},
		{"report_variation_users", "big", nil},
		{"report_goal_conversions", "big", []string{"Index Only Scan using conversions_report_idx on conversions"}},
		{"report_conversion_rates", "big", []string{
			"Index Only Scan using conversions_report_idx on conversions",
			"Index Only Scan using assignments_report_idx on assignments"}},
		{"report_sample_ratio", "big", []string{"Index Only Scan using assignments_report_idx on assignments"}},
	} {
		plan, took := m.explain(t, c.view, c.campaign)
		t.Logf("EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM %s WHERE campaign_key = '%s' (account %d):\n%s", c.view, c.campaign, m.account, plan)
		t.Logf("SELECT * FROM %s WHERE campaign_key = '%s': %v", c.view, c.campaign, took.Round(time.Millisecond))
		for _, w := range c.want {
			require.Contains(t, plan, w, c.view)
		}
		// However it reads them, a view reads each table once: no plan rescans a million rows.
		scans := map[string]int{}
		for _, s := range scanOf.FindAllStringSubmatch(plan, -1) {
			scans[s[3]]++
		}
		for table, n := range scans {
			require.LessOrEqual(t, n, 1, "%s scans %s %d times", c.view, table, n)
		}
	}

	for _, round := range []string{"first", "second"} {
		start := time.Now()
		resp := m.s.Do(t, m.key, http.MethodGet, "/v1/reports/campaign?campaignKey=big", nil)
		t.Logf("GET /v1/reports/campaign?campaignKey=big (%s call): %v", round, time.Since(start).Round(time.Millisecond))
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		var r reports.Campaign
		resp.Decode(t, &r)
		require.Len(t, r.Variations, 2)
		for _, v := range r.Variations {
			require.Equal(t, int64(millionUsers/2), v.Users, v.Name)
			require.Equal(t, int64(millionUsers/2), v.Exposures, v.Name)
		}
		require.NotNil(t, r.SampleRatio)
		require.Equal(t, int64(millionUsers), r.SampleRatio.Users)
		require.False(t, r.SampleRatio.Mismatch)
		// Every tenth user i = 1, 11, 21, … bought: all odd, so all in Variation-1, for
		// (i % 100) × 0.01 = 0.01, 0.11, …, 0.91 (summing to 4.60), each 10,000 times.
		var purchases []reports.Goal
		for _, g := range r.Goals {
			if g.Identifier == "purchase" && g.Conversions > 0 {
				purchases = append(purchases, g)
			}
		}
		require.Equal(t, []reports.Goal{{Identifier: "purchase", Variation: "Variation-1", ConvertedUsers: millionUsers / 10,
			Conversions: millionUsers / 10, Revenue: "46000.00", Users: millionUsers / 2, ConversionRate: ptr(0.2)}},
			countsOnly(reports.Campaign{Goals: purchases}).Goals)
	}
}

// BenchmarkCampaignReport times GET /v1/reports/campaign on the million-assignment campaign:
//
//	go test -run '^$' -bench CampaignReport ./internal/http
func BenchmarkCampaignReport(b *testing.B) {
	m := loadMillionRowReport(b)
	for b.Loop() {
		if resp := m.s.Do(b, m.key, http.MethodGet, "/v1/reports/campaign?campaignKey=big", nil); resp.Status != http.StatusOK {
			b.Fatalf("report: %d %s", resp.Status, resp.Body)
		}
	}
}
