package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/uss/uss/internal/decision"
	"github.com/uss/uss/internal/uss"
)

// decideSQL is a decision's whole write in one statement, so concurrent first decisions of a
// user on any number of processes end with one row and one answer:
//
//   - cur: the stored row, if its variation still exists ($4 lists the campaign's variations);
//   - ins: only without such a row and with a candidate ($5), insert it; on a conflict keep a
//     row whose variation exists (another request won: first writer wins) or replace one whose
//     variation is gone (VWO's rule: such a user is decided again). DO UPDATE, unlike DO
//     NOTHING, returns the row even when it was committed after this statement's snapshot.
//
// $6 is the exposure count to add (1 for activate, 0 otherwise). %s is the cur CTE: an UPDATE
// that counts the exposure, or a plain SELECT for decisions that must not write.
const decideSQL = `
WITH cur AS (%s),
ins AS (
    INSERT INTO assignments AS a (account_id, user_id, campaign_key, variation_name, source, exposures)
    SELECT $1, $2, $3, $5, 'bucketed', $6
    WHERE $5 <> '' AND NOT EXISTS (SELECT 1 FROM cur)
    ON CONFLICT (account_id, user_id, campaign_key) DO UPDATE SET
        variation_name = CASE WHEN a.variation_name = ANY($4) THEN a.variation_name ELSE excluded.variation_name END,
        goals          = CASE WHEN a.variation_name = ANY($4) THEN a.goals ELSE '{}' END,
        source         = CASE WHEN a.variation_name = ANY($4) THEN a.source ELSE excluded.source END,
        exposures      = CASE WHEN a.variation_name = ANY($4) THEN a.exposures ELSE 0 END + excluded.exposures,
        updated_at     = CASE WHEN a.variation_name = ANY($4) THEN a.updated_at ELSE now() END
    RETURNING variation_name, goals
)
SELECT variation_name, goals FROM cur
UNION ALL
SELECT variation_name, goals FROM ins`

const currentWhere = `account_id = $1 AND user_id = $2 AND campaign_key = $3 AND variation_name = ANY($4)`

var (
	decideExposingSQL = fmt.Sprintf(decideSQL,
		`UPDATE assignments SET exposures = exposures + $6 WHERE `+currentWhere+` RETURNING variation_name, goals`)
	decideReadingSQL = fmt.Sprintf(decideSQL,
		`SELECT variation_name, goals FROM assignments WHERE `+currentWhere+``)
)

// StoreDecision implements decision.Store.
func (s *Store) StoreDecision(ctx context.Context, account uss.AccountID, key uss.AssignmentKey, valid []string,
	candidate string, expose bool) (decision.Stored, bool, error) {
	query, exposures := decideReadingSQL, 0
	if expose {
		query, exposures = decideExposingSQL, 1
	}
	var st decision.Stored
	err := s.pool.QueryRow(ctx, query, account, key.UserID, key.CampaignKey, valid, candidate, exposures).
		Scan(&st.VariationName, &st.Goals)
	if errors.Is(err, pgx.ErrNoRows) {
		return decision.Stored{}, false, nil
	}
	if err != nil {
		return decision.Stored{}, false, mapError(fmt.Errorf("store decision: %w", err))
	}
	return st, true, nil
}
