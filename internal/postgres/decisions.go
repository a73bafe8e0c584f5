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
	err := s.db.QueryRow(ctx, query, account, key.UserID, key.CampaignKey, valid, candidate, exposures).
		Scan(&st.VariationName, &st.Goals)
	if errors.Is(err, pgx.ErrNoRows) {
		return decision.Stored{}, false, nil
	}
	if err != nil {
		return decision.Stored{}, false, mapError(fmt.Errorf("store decision: %w", err))
	}
	return st, true, nil
}

// exposeManySQL is decideExposingSQL for many decisions of distinct keys at once, for the
// common cases only: a stored row whose variation is valid gets its exposure (cur), a user
// without a row gets the candidate (ins). A row it cannot settle, a stored row whose variation
// is gone or one committed by another writer meanwhile, it leaves untouched (DO NOTHING) and
// returns nothing for, and the caller decides that one alone with decideExposingSQL. $5 and $6
// list every decision's valid variations as (ordinal, name) pairs.
const exposeManySQL = `
WITH req AS (
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY
        AS r(account_id, user_id, campaign_key, candidate, i)
),
valid AS (
    SELECT * FROM unnest($5::bigint[], $6::text[]) AS v(i, variation_name)
),
cur AS (
    UPDATE assignments AS a SET exposures = a.exposures + 1
    FROM req r
    WHERE a.account_id = r.account_id AND a.user_id = r.user_id AND a.campaign_key = r.campaign_key
      AND EXISTS (SELECT 1 FROM valid v WHERE v.i = r.i AND v.variation_name = a.variation_name)
    RETURNING r.i, a.variation_name, a.goals
),
ins AS (
    INSERT INTO assignments AS a (account_id, user_id, campaign_key, variation_name, source, exposures)
    SELECT r.account_id, r.user_id, r.campaign_key, r.candidate, 'bucketed', 1
    FROM req r
    WHERE r.candidate <> '' AND NOT EXISTS (SELECT 1 FROM cur WHERE cur.i = r.i)
    ORDER BY r.i
    ON CONFLICT (account_id, user_id, campaign_key) DO NOTHING
    RETURNING account_id, user_id, campaign_key, variation_name, goals
)
SELECT i, variation_name, goals FROM cur
UNION ALL
SELECT r.i, ins.variation_name, ins.goals FROM ins JOIN req r USING (account_id, user_id, campaign_key)`

// exposure is one activate's write: StoreDecision's arguments with expose true.
type exposure struct {
	Account   uss.AccountID
	Key       uss.AssignmentKey
	Valid     []string
	Candidate string
}

func (e exposure) key() accountKey { return accountKey{e.Account, e.Key} }

// stored is StoreDecision's answer.
type stored struct {
	decision.Stored
	Found bool
}

// exposeMany runs exposeManySQL for exposures of distinct keys. settled[i] says whether the
// statement settled exposures[i]; the others were not touched.
func (s *Store) exposeMany(ctx context.Context, exposures []exposure) (out []stored, settled []bool, err error) {
	n := len(exposures)
	accounts, users, campaigns, candidates := make([]int64, n), make([]string, n), make([]string, n), make([]string, n)
	var validOrdinals []int64
	var validNames []string
	for i, e := range exposures {
		accounts[i], users[i], campaigns[i], candidates[i] = int64(e.Account), e.Key.UserID, e.Key.CampaignKey, e.Candidate
		for _, name := range e.Valid {
			validOrdinals, validNames = append(validOrdinals, int64(i+1)), append(validNames, name)
		}
	}
	rows, err := s.db.Query(ctx, exposeManySQL, accounts, users, campaigns, candidates, validOrdinals, validNames)
	if err != nil {
		return nil, nil, mapError(fmt.Errorf("store decisions: %w", err))
	}
	out, settled = make([]stored, n), make([]bool, n)
	var i int64
	var st decision.Stored
	_, err = pgx.ForEachRow(rows, []any{&i, &st.VariationName, &st.Goals}, func() error {
		if i < 1 || i > int64(n) {
			return fmt.Errorf("ordinal %d out of range", i)
		}
		out[i-1], settled[i-1] = stored{Stored: st, Found: true}, true
		st = decision.Stored{}
		return nil
	})
	if err != nil {
		return nil, nil, mapError(fmt.Errorf("store decisions: %w", err))
	}
	// Without a candidate there was nothing to insert: no valid row means nothing found, as
	// StoreDecision would answer.
	for i, e := range exposures {
		if !settled[i] && e.Candidate == "" {
			settled[i] = true
		}
	}
	return out, settled, nil
}
