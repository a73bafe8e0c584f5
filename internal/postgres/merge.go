package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/uss/uss/internal/history"
	"github.com/uss/uss/internal/identity"
	"github.com/uss/uss/internal/uss"
)

// copyAssignmentsSQL copies $2's assignments to $3 in campaign order. Where $3 has a row it
// wins; its goals gain $2's when the variation is the same (the usual goal-merge rule), and
// the row is not written at all when they add nothing, so a repeated merge changes nothing. A
// copy carries $2's exposures only when the source is deleted ($4): a move, not a double
// count. A copied row (previous_variation is NULL on a row the statement inserted) is a
// merged event, with the request id $5.
var copyAssignmentsSQL = `
WITH src AS (
    SELECT campaign_key, variation_name, goals, source, exposures
    FROM assignments WHERE account_id = $1 AND user_id = $2
),
copied AS (
    INSERT INTO assignments AS a (account_id, user_id, campaign_key, variation_name, goals, source, exposures)
    SELECT $1, $3, campaign_key, variation_name, goals, source, CASE WHEN $4 THEN exposures ELSE 0 END
    FROM src ORDER BY campaign_key
    ON CONFLICT (account_id, user_id, campaign_key) DO UPDATE SET
        goals = ` + mergedGoalsSQL + `,
        updated_at = now(),
        previous_variation = a.variation_name
    WHERE a.variation_name = excluded.variation_name AND NOT (excluded.goals <@ a.goals)
    RETURNING campaign_key, variation_name, source, previous_variation IS NULL AS inserted
),
h AS (` + insertEventsSQL + `
    SELECT $1, $3, campaign_key, ` + quoted(history.Merged) + `, NULL, variation_name, source, ` + settingsVersionSQL("$1") + `,
           ` + quoted(history.ReasonMerge) + `, $5, $2
    FROM copied WHERE inserted
)
SELECT (SELECT count(*) FROM src), (SELECT count(*) FROM copied WHERE inserted)`

// statsigKey: only values under Statsig's "<unitID>:<idType>" keys are merged, since the
// copy's key is the known id with the same id type.
const statsigKey = `persist_key = unit_id || ':' || substr(persist_key, char_length(unit_id) + 2)`

// copyPersistedSQL copies $2's persisted values to $3; the known id's own values win.
const copyPersistedSQL = `
WITH src AS (
    SELECT persist_key, config_name, value FROM persisted_values
    WHERE account_id = $1 AND unit_id = $2 AND ` + statsigKey + `
),
copied AS (
    INSERT INTO persisted_values (account_id, unit_id, persist_key, config_name, value)
    SELECT $1, $3, $3 || substr(persist_key, char_length($2) + 1), config_name, value
    FROM src ORDER BY 3, 4
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM src), (SELECT count(*) FROM copied)`

// copyVendorsSQL copies $2's entries of the other SDKs' storage to $3: VWO FME records (with
// the record's own userId rewritten), GrowthBook entries of every attribute whose value is $2,
// Optimizely profile entries. The known id's own entries win.
const copyVendorsSQL = `
WITH f_src AS (
    SELECT feature_key, record FROM vwo_fme_records WHERE account_id = $1 AND user_id = $2
),
f AS (
    INSERT INTO vwo_fme_records (account_id, user_id, feature_key, record)
    SELECT $1, $3, feature_key, jsonb_set(record, '{userId}', to_jsonb($3::text)) FROM f_src ORDER BY feature_key
    ON CONFLICT DO NOTHING
    RETURNING 1
),
g_src AS (
    SELECT attribute_name, assignment_key, variation_key FROM growthbook_assignments
    WHERE account_id = $1 AND attribute_value = $2
),
g AS (
    INSERT INTO growthbook_assignments (account_id, attribute_value, attribute_name, assignment_key, variation_key)
    SELECT $1, $3, attribute_name, assignment_key, variation_key FROM g_src ORDER BY attribute_name, assignment_key
    ON CONFLICT DO NOTHING
    RETURNING 1
),
o_src AS (
    SELECT experiment_id, variation_id FROM optimizely_decisions WHERE account_id = $1 AND user_id = $2
),
o AS (
    INSERT INTO optimizely_decisions (account_id, user_id, experiment_id, variation_id)
    SELECT $1, $3, experiment_id, variation_id FROM o_src ORDER BY experiment_id
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM f_src) + (SELECT count(*) FROM g_src) + (SELECT count(*) FROM o_src),
       (SELECT count(*) FROM f) + (SELECT count(*) FROM g) + (SELECT count(*) FROM o)`

// lockSourceSQL locks $2's rows that a deleting merge removes, in key order.
const lockSourceSQL = `
WITH a AS (
    SELECT 1 FROM assignments WHERE account_id = $1 AND user_id = $2
    ORDER BY campaign_key FOR UPDATE
),
p AS (
    SELECT 1 FROM persisted_values WHERE account_id = $1 AND unit_id = $2 AND ` + statsigKey + `
    ORDER BY persist_key, config_name FOR UPDATE
),
f AS (
    SELECT 1 FROM vwo_fme_records WHERE account_id = $1 AND user_id = $2 ORDER BY feature_key FOR UPDATE
),
g AS (
    SELECT 1 FROM growthbook_assignments WHERE account_id = $1 AND attribute_value = $2
    ORDER BY attribute_name, assignment_key FOR UPDATE
),
o AS (
    SELECT 1 FROM optimizely_decisions WHERE account_id = $1 AND user_id = $2 ORDER BY experiment_id FOR UPDATE
)
SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM p) + (SELECT count(*) FROM f) + (SELECT count(*) FROM g)
       + (SELECT count(*) FROM o)`

// deleteSourceSQL removes $2's merged rows (each assignment a deleted event, with the request
// id $4) and moves its conversions to $3, so they count where the assignments now are.
// lockSourceSQL has locked the rows.
var deleteSourceSQL = `
WITH a AS (
    DELETE FROM assignments WHERE account_id = $1 AND user_id = $2
    RETURNING campaign_key, variation_name, source
),
h AS (` + insertEventsSQL + `
    SELECT $1, $2, campaign_key, ` + quoted(history.Deleted) + `, variation_name, NULL, source, ` + settingsVersionSQL("$1") + `,
           ` + quoted(history.ReasonMerge) + `, $4, NULL
    FROM a
),
p AS (DELETE FROM persisted_values WHERE account_id = $1 AND unit_id = $2 AND ` + statsigKey + `),
f AS (DELETE FROM vwo_fme_records WHERE account_id = $1 AND user_id = $2),
g AS (DELETE FROM growthbook_assignments WHERE account_id = $1 AND attribute_value = $2),
o AS (DELETE FROM optimizely_decisions WHERE account_id = $1 AND user_id = $2)
UPDATE conversions SET user_id = $3 WHERE account_id = $1 AND user_id = $2`

// maxMergeAttempts bounds the retries of a merge that met a concurrent write.
const maxMergeAttempts = 5

// MergeIdentities implements identity.Store. The merge runs in one repeatable-read
// transaction: it reads the anonymous id's rows from one snapshot, and a row written by
// someone else meanwhile makes PostgreSQL refuse the transaction, which is then retried from
// the start. The two users' rows are written in user order (the key order every multi-row
// writer follows), so two merges, or a merge and a batch write, cannot deadlock.
func (s *Store) MergeIdentities(ctx context.Context, account uss.AccountID, m identity.Merge) (identity.Merged, error) {
	var out identity.Merged
	err := retryConflicts(ctx, maxMergeAttempts, func() error {
		out = identity.Merged{}
		return s.withTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
			copyTo := func() error {
				for _, q := range []struct {
					sql  string
					args []any
				}{
					{copyAssignmentsSQL, []any{account, m.From, m.To, m.DeleteSource, requestID(ctx)}},
					{copyPersistedSQL, []any{account, m.From, m.To}},
					{copyVendorsSQL, []any{account, m.From, m.To}},
				} {
					var src, copied int64
					if err := tx.QueryRow(ctx, q.sql, q.args...).Scan(&src, &copied); err != nil {
						return fmt.Errorf("merge identities: %w", err)
					}
					out.Copied += copied
					out.Kept += src - copied
				}
				return nil
			}
			if !m.DeleteSource {
				return copyTo()
			}
			lockFrom := func() error {
				if err := tx.QueryRow(ctx, lockSourceSQL, account, m.From).Scan(new(int64)); err != nil {
					return fmt.Errorf("merge identities: lock source: %w", err)
				}
				return nil
			}
			steps := []func() error{copyTo, lockFrom}
			if m.From < m.To {
				steps = []func() error{lockFrom, copyTo}
			}
			for _, step := range steps {
				if err := step(); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, deleteSourceSQL, account, m.From, m.To, requestID(ctx)); err != nil {
				return fmt.Errorf("merge identities: delete source: %w", err)
			}
			return nil
		})
	})
	if err != nil {
		return identity.Merged{}, mapError(err)
	}
	return out, nil
}
