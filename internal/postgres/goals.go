package postgres

import (
	"context"
	"fmt"

	"github.com/uss/uss/internal/goals"
	"github.com/uss/uss/internal/uss"
)

// recordConversionSQL adds a goal and writes its conversion in one statement:
//
//   - goal: append the goal to the assignment's set unless it is there (creating the row for a
//     user who has none, e.g. a whitelisted one). ON CONFLICT DO UPDATE locks the row and
//     re-checks the condition on its newest version, so concurrent tracks of different goals
//     each append theirs and two tracks of the same goal append it once.
//   - conv: write the conversion when the goal was new, or always when repeats count ($8).
const recordConversionSQL = `
WITH goal AS (
    INSERT INTO assignments AS a (account_id, user_id, campaign_key, variation_name, source, goals)
    VALUES ($1, $2, $3, $4, $5, ARRAY[$6::text])
    ON CONFLICT (account_id, user_id, campaign_key) DO UPDATE
        SET goals = array_append(a.goals, $6::text), updated_at = now()
        WHERE NOT ($6::text = ANY (a.goals))
    RETURNING 1
),
conv AS (
    INSERT INTO conversions (account_id, user_id, campaign_key, variation_name, goal_identifier, revenue, repeat)
    SELECT $1, $2, $3, $4, $6, nullif($7, '')::numeric, NOT EXISTS (SELECT 1 FROM goal)
    WHERE EXISTS (SELECT 1 FROM goal) OR $8
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM goal), EXISTS (SELECT 1 FROM conv)`

// RecordConversion implements goals.Store.
func (s *Store) RecordConversion(ctx context.Context, account uss.AccountID, c goals.Conversion) (newGoal, recorded bool, err error) {
	err = s.pool.QueryRow(ctx, recordConversionSQL, account, c.UserID, c.CampaignKey, c.VariationName,
		c.Source, c.Goal, c.Revenue, c.Repeatable).Scan(&newGoal, &recorded)
	if err != nil {
		return false, false, mapWriteError(fmt.Errorf("record conversion: %w", err))
	}
	return newGoal, recorded, nil
}
