package postgres_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/pgtest"
	"github.com/uss/uss/internal/postgres"
	"github.com/uss/uss/internal/settings"
	"github.com/uss/uss/internal/uss"
)

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
	registry := settings.NewRegistry(postgres.NewStore(pool), slog.New(slog.DiscardHandler))
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
