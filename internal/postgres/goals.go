package postgres

import (
	"context"
	"fmt"

	"github.com/uss/uss/internal/goals"
	"github.com/uss/uss/internal/history"
	"github.com/uss/uss/internal/uss"
)

// recordConversionSQL adds a goal and writes its conversion in one statement:
//
//   - cur: the stored row, locked, so its variation cannot change before the conversion is
//     written in it.
//   - goal: append the goal to the assignment's set unless it is there (creating the row for a
//     user who has none, e.g. a whitelisted one). ON CONFLICT DO UPDATE locks the row and
//     re-checks the condition on its newest version, so concurrent tracks of different goals
//     each append theirs and two tracks of the same goal append it once.
//   - attributed: the variation the conversion counts in: the row's own, never the caller's, so the
//     user and the conversion are reported under the same variation.
//   - conv: write the conversion when the goal was new, or always when repeats count ($8).
//   - h: a row the goal created is a created event, with the request id $9.
var recordConversionSQL = `
WITH cur AS (
    SELECT variation_name FROM assignments
    WHERE ` + keyWhere + `
    FOR UPDATE
),
goal AS (
    INSERT INTO assignments AS a (account_id, user_id, campaign_key, variation_name, source, goals)
    VALUES ($1, $2, $3, $4, $5, ARRAY[$6::text])
    ON CONFLICT (account_id, user_id, campaign_key) DO UPDATE
        SET goals = array_append(a.goals, $6::text), updated_at = now(), previous_variation = a.variation_name
        WHERE NOT ($6::text = ANY (a.goals))
    RETURNING variation_name, source, previous_variation
),
h AS (` + insertEventsSQL + `
    SELECT $1, $2, $3, ` + quoted(history.Created) + `, NULL, variation_name, source, ` + settingsVersionSQL("$1") + `,
           ` + quoted(history.ReasonConverted) + `, $9, NULL
    FROM goal WHERE previous_variation IS NULL
),
attributed AS (
    SELECT variation_name FROM goal
    UNION ALL SELECT variation_name FROM cur WHERE NOT EXISTS (SELECT 1 FROM goal)
    -- neither: the row appeared, goal included, after this statement's snapshot
    UNION ALL SELECT $4 WHERE NOT EXISTS (SELECT 1 FROM goal) AND NOT EXISTS (SELECT 1 FROM cur)
),
conv AS (
    INSERT INTO conversions (account_id, user_id, campaign_key, variation_name, goal_identifier, revenue, repeat)
    SELECT $1, $2, $3, attributed.variation_name, $6, nullif($7, '')::numeric, NOT EXISTS (SELECT 1 FROM goal)
    FROM attributed
    WHERE EXISTS (SELECT 1 FROM goal) OR $8
    RETURNING 1
)
SELECT (SELECT variation_name FROM attributed), EXISTS (SELECT 1 FROM goal), EXISTS (SELECT 1 FROM conv)`

// RecordConversion implements goals.TxStore.
func (s *Store) RecordConversion(ctx context.Context, account uss.AccountID, c goals.Conversion) (goals.Recorded, error) {
	var r goals.Recorded
	err := s.db.QueryRow(ctx, recordConversionSQL, account, c.UserID, c.CampaignKey, c.VariationName,
		c.Source, c.Goal, c.Revenue, c.Repeatable, requestID(ctx)).Scan(&r.VariationName, &r.NewGoal, &r.Converted)
	if err != nil {
		return goals.Recorded{}, s.writeError(fmt.Errorf("record conversion: %w", err))
	}
	return r, nil
}
