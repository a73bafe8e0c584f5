package postgres_test

import (
	"context"
	"log/slog"
	"math"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/pgtest"
	"github.com/uss/uss/internal/postgres"
	"github.com/uss/uss/internal/settings"
	"github.com/uss/uss/internal/uss"
)

// chiSquareQ is the chi-square upper tail in closed form for whole degrees of freedom
// (Abramowitz & Stegun 26.4.4 and 26.4.5), with y = x/2:
//
//	df = 2k:     Q = e^-y Σ_{i<k} y^i / i!
//	df = 2k + 1: Q = erfc(√y) + e^-y Σ_{i<k} y^(i+1/2) / Γ(i + 3/2)
//
// It shares nothing with the series and continued fraction of chi_square_p_value.
func chiSquareQ(x float64, df int) float64 {
	y := x / 2
	q, offset := 0.0, 0.0
	if df%2 == 1 {
		q, offset = math.Erfc(math.Sqrt(y)), 0.5
	}
	for i := range df / 2 {
		lg, _ := math.Lgamma(float64(i) + 1 + offset)
		q += math.Exp((float64(i)+offset)*math.Log(y) - y - lg)
	}
	return q
}

func TestChiSquarePValueMatchesClosedFormsAndTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	pValue := func(x float64, df int) float64 {
		t.Helper()
		var p float64
		require.NoError(t, pool.QueryRow(ctx, `SELECT chi_square_p_value($1, $2)`, x, df).Scan(&p))
		return p
	}

	// Critical values of chi-square tables: p = 0.05 at 3.841 (df 1), 5.991 (df 2), 124.342 (df 100).
	require.InDelta(t, 0.05, pValue(3.841458820694124, 1), 1e-12)
	require.InDelta(t, 0.05, pValue(5.991464547107979, 2), 1e-12)
	require.InDelta(t, 0.05, pValue(124.342, 100), 1e-5)
	for _, df := range []int{1, 2, 100} {
		require.Equal(t, 1.0, pValue(0, df), "no deviation at all: p = 1")
		require.Equal(t, 0.0, pValue(1e6, df), "a huge deviation: p is 0, not an underflow error")
	}

	var xs []float64
	var dfs []int32
	for _, df := range []int32{1, 2, 3, 4, 5, 10, 11, 30, 99, 100} {
		for _, x := range []float64{1e-6, 0.1, 0.4, 1, 3.841458820694124, 10, 40, 99, 100, 101, 150, 300, 1000} {
			xs, dfs = append(xs, x), append(dfs, df)
		}
	}
	rows, err := pool.Query(ctx, `SELECT chi_square_p_value(x, df) FROM unnest($1::float8[], $2::int[]) AS t(x, df)`, xs, dfs)
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, pgx.RowTo[float64])
	require.NoError(t, err)
	for i, p := range got {
		want := chiSquareQ(xs[i], int(dfs[i]))
		require.InEpsilon(t, want, p, 1e-11, "chi² = %v, df = %d", xs[i], dfs[i])
	}

	for _, bad := range []string{`chi_square_p_value(-1, 1)`, `chi_square_p_value(1, 0)`, `ln_gamma(0)`} {
		_, err := pool.Exec(ctx, `SELECT `+bad)
		require.Error(t, err, bad)
	}
	var null *float64
	require.NoError(t, pool.QueryRow(ctx, `SELECT chi_square_p_value(NULL, 1)`).Scan(&null))
	require.Nil(t, null)
}

func TestLnGammaMatchesGo(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	xs := []float64{1e-10, 0.001, 0.3, 0.5, 1, 1.5, 2, 2.5, 10, 50.5, 100, 1e4}
	rows, err := pool.Query(context.Background(), `SELECT ln_gamma(x) FROM unnest($1::float8[]) AS t(x)`, xs)
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, pgx.RowTo[float64])
	require.NoError(t, err)
	for i, lg := range got {
		want, _ := math.Lgamma(xs[i])
		require.InDelta(t, want, lg, 1e-13*math.Max(1, math.Abs(want)), "ln Γ(%v)", xs[i])
	}
}

func TestSampleRatioCountsOnlyRandomizedUsersOfWeightedVariations(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	type ratio struct {
		Variations, DegreesOfFreedom int
		Users                        int64
		ChiSquare, PValue            *float64
		Mismatch                     bool
	}
	sampleRatio := func(users, whitelisted []int64, weights []*string) []ratio {
		t.Helper()
		rows, err := pool.Query(context.Background(), `SELECT variations, degrees_of_freedom, users, chi_square, p_value, mismatch
			FROM sample_ratio($1, $2, $3::numeric[])`, users, whitelisted, weights)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ratio])
		require.NoError(t, err)
		return out
	}
	f := func(x float64) *float64 { return &x }
	// w lists weights as numeric text, "" for NULL (a variation no longer in the settings).
	w := func(weights ...string) []*string {
		out := make([]*string, len(weights))
		for i := range weights {
			if weights[i] != "" {
				out[i] = &weights[i]
			}
		}
		return out
	}

	// 600 vs 400 at 50/50: chi² = 2 × 100²/500 = 40, p = erfc(√20) ≈ 2.54e-10.
	got := sampleRatio([]int64{600, 400}, []int64{0, 0}, w("50", "50"))
	require.Len(t, got, 1)
	require.InEpsilon(t, math.Erfc(math.Sqrt(20)), *got[0].PValue, 1e-12)
	got[0].PValue = nil
	require.Equal(t, ratio{Variations: 2, DegreesOfFreedom: 1, Users: 1000, ChiSquare: f(40), Mismatch: true}, got[0])

	// Whitelisted users and variations without a weight (gone from the settings) or at
	// weight 0 are left out: 503 - 3 and 500 at 50/50 is a perfect split.
	got = sampleRatio([]int64{503, 500, 7, 9}, []int64{3, 0, 0, 0}, w("50", "50", "", "0"))
	require.Equal(t, []ratio{{Variations: 2, DegreesOfFreedom: 1, Users: 1000, ChiSquare: f(0), PValue: f(1)}}, got)

	// Three equal weights that VWO rounds to 33.3333 (summing to 99.9999) and equal users:
	// no mismatch, and no negative chi² from rounding.
	got = sampleRatio([]int64{1000, 1000, 1000}, []int64{0, 0, 0}, w("33.3333", "33.3333", "33.3333"))
	require.Len(t, got, 1)
	require.InDelta(t, 0, *got[0].ChiSquare, 1e-12)
	require.InDelta(t, 1, *got[0].PValue, 1e-12)
	require.False(t, got[0].Mismatch)

	// 40/30/30 expected of 1000 users, 380/330/290 seen:
	// chi² = 20²/400 + 30²/300 + 10²/300 = 1 + 3 + 1/3, df = 2, p = e^(-chi²/2).
	got = sampleRatio([]int64{380, 330, 290}, []int64{0, 0, 0}, w("40", "30", "30"))
	require.Len(t, got, 1)
	require.InEpsilon(t, 4+1.0/3, *got[0].ChiSquare, 1e-12)
	require.InEpsilon(t, math.Exp(-(4+1.0/3)/2), *got[0].PValue, 1e-12)
	require.Equal(t, 2, got[0].DegreesOfFreedom)

	// Nothing to test: one weighted variation, or no counted user.
	require.Equal(t, []ratio{{Variations: 1, Users: 600}}, sampleRatio([]int64{600}, []int64{0}, w("100")))
	require.Equal(t, []ratio{{Variations: 2, DegreesOfFreedom: 1}}, sampleRatio([]int64{2, 0}, []int64{2, 0}, w("50", "50")))
	require.Empty(t, sampleRatio([]int64{5}, []int64{0}, w("")), "no weighted variation: no row")
}

// settingsRows lists the derived rows of every settings version.
func settingsRows(t *testing.T, pool *pgxpool.Pool) (variations, goals [][]string) {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT ARRAY[account_id::text, version::text, campaign_key, variation_name, weight::text]
		FROM settings_variations ORDER BY 1`)
	require.NoError(t, err)
	variations, err = pgx.CollectRows(rows, pgx.RowTo[[]string])
	require.NoError(t, err)
	rows, err = pool.Query(ctx, `SELECT ARRAY[account_id::text, version::text, campaign_key, goal_identifier, goal_type]
		FROM settings_goals ORDER BY 1`)
	require.NoError(t, err)
	goals, err = pgx.CollectRows(rows, pgx.RowTo[[]string])
	require.NoError(t, err)
	return variations, goals
}

func TestSettingsWeightsAndGoalsAreSavedAndBackfilledAlike(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := postgres.Connect(ctx, pgtest.EmptyURL(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	m, err := postgres.NewMigrator(pool)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	_, err = m.Up(ctx)
	require.NoError(t, err)

	// Uploaded through the registry, as PUT /v1/settings does: weights as numbers and as a
	// string, three that VWO rounds to four decimals.
	registry := settings.NewRegistry(postgres.NewStore(pool), slog.New(slog.DiscardHandler), settings.Limits{})
	_, err = registry.Put(ctx, uss.AccountID(7), []byte(`{"sdkKey": "k", "accountId": 1, "version": 1, "campaigns": [
	  {"id": 1, "key": "thirds", "status": "RUNNING", "type": "VISUAL_AB", "percentTraffic": 100,
	   "goals": [{"id": 1, "identifier": "signup", "type": "CUSTOM_GOAL"}, {"id": 2, "identifier": "buy", "type": "REVENUE_TRACKING"}],
	   "variations": [{"id": 1, "name": "A", "weight": 33.3333, "changes": {}}, {"id": 2, "name": "B", "weight": "33.3333", "changes": {}},
	                  {"id": 3, "name": "C", "weight": 33.3334, "changes": {}}]},
	  {"id": 2, "key": "rollout", "status": "RUNNING", "type": "FEATURE_ROLLOUT", "percentTraffic": 100,
	   "variations": [{"id": 1, "name": "website", "weight": 100, "changes": {}}]}]}`))
	require.NoError(t, err)
	// A version the backfill cannot read (not UTF-8) must not stop the migration.
	_, err = pool.Exec(ctx, `INSERT INTO settings (account_id, version, body, campaigns) VALUES (8, 1, '\xff', 0)`)
	require.NoError(t, err)

	saved, savedGoals := settingsRows(t, pool)
	require.Equal(t, [][]string{
		{"7", "1", "rollout", "website", "100"},
		{"7", "1", "thirds", "A", "33.3333"},
		{"7", "1", "thirds", "B", "33.3333"},
		{"7", "1", "thirds", "C", "33.3334"},
	}, saved)
	require.Equal(t, [][]string{
		{"7", "1", "thirds", "buy", "REVENUE_TRACKING"},
		{"7", "1", "thirds", "signup", "CUSTOM_GOAL"},
	}, savedGoals)

	// Down to before reporting and up again: the backfill derives the same rows from the
	// stored file.
	_, err = m.DownTo(ctx, 5)
	require.NoError(t, err)
	_, err = m.Up(ctx)
	require.NoError(t, err)
	backfilled, backfilledGoals := settingsRows(t, pool)
	require.Equal(t, saved, backfilled)
	require.Equal(t, savedGoals, backfilledGoals)
}
