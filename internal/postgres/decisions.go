package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/uss/uss/internal/decision"
	"github.com/uss/uss/internal/history"
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
//
// A row the statement inserts is a created event, one whose gone variation it replaces a
// rebucketed one (previous_variation is what the row had when it was locked), with the
// request id $7; a row another request won, kept as it is, is no event.
var decideSQL = `
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
        updated_at     = CASE WHEN a.variation_name = ANY($4) THEN a.updated_at ELSE now() END,
        previous_variation = a.variation_name
    RETURNING variation_name, goals, source, previous_variation
),
h AS (` + insertEventsSQL + `
    SELECT $1, $2, $3, ` + changeKindSQL("previous_variation", history.Rebucketed) + `, previous_variation,
           variation_name, source, ` + settingsVersionSQL("$1") + `,
           CASE WHEN previous_variation IS NULL THEN ` + quoted(history.ReasonBucketed) + `
                ELSE ` + quoted(history.ReasonStoredVariationRemoved) + ` END, $7, NULL
    FROM ins WHERE previous_variation IS DISTINCT FROM variation_name
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
	err := s.db.QueryRow(ctx, query, account, key.UserID, key.CampaignKey, valid, candidate, exposures, requestID(ctx)).
		Scan(&st.VariationName, &st.Goals)
	if errors.Is(err, pgx.ErrNoRows) {
		return decision.Stored{}, false, nil
	}
	if err != nil {
		return decision.Stored{}, false, mapError(fmt.Errorf("store decision: %w", err))
	}
	return st, true, nil
}

// The batched form of decideExposingSQL takes exposures of distinct keys in two kinds, each
// in its own statement (so its own transaction) that locks rows in key order, the order every
// multi-row writer locks them, so concurrent writers cannot deadlock. One statement for both
// kinds would hold the locks of one while taking the other's, out of key order. Both settle
// the common cases only: a row they cannot settle (a stored variation that is gone, a row
// committed meanwhile with one) they leave untouched and return nothing for, and the caller
// decides that one alone with decideExposingSQL. $5 and $6 list every decision's valid
// variations as (ordinal, name) pairs; $7 the request ids.
const exposeRequestSQL = `
WITH req AS (
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $7::text[]) WITH ORDINALITY
        AS r(account_id, user_id, campaign_key, candidate, request_id, i)
),
valid AS (
    SELECT * FROM unnest($5::bigint[], $6::text[]) AS v(i, variation_name)
),`

// exposeCandidatesSQL: decisions with a candidate. A user without a row gets the candidate (a
// created event); a stored row whose variation is valid gets its exposure (first writer
// wins).
var exposeCandidatesSQL = exposeRequestSQL + `
upsert AS (
    INSERT INTO assignments AS a (account_id, user_id, campaign_key, variation_name, source, exposures)
    SELECT r.account_id, r.user_id, r.campaign_key, r.candidate, 'bucketed', 1
    FROM req r
    ORDER BY r.account_id, r.user_id, r.campaign_key
    ON CONFLICT (account_id, user_id, campaign_key) DO UPDATE
    SET exposures = a.exposures + 1, previous_variation = a.variation_name
    WHERE EXISTS (
        SELECT 1 FROM req r JOIN valid v ON v.i = r.i
        WHERE r.account_id = a.account_id AND r.user_id = a.user_id AND r.campaign_key = a.campaign_key
          AND v.variation_name = a.variation_name)
    RETURNING account_id, user_id, campaign_key, variation_name, goals, source, previous_variation
),
h AS (` + insertEventsSQL + `
    SELECT u.account_id, u.user_id, u.campaign_key, ` + quoted(history.Created) + `, NULL, u.variation_name, u.source,
           ` + settingsVersionSQL("u.account_id") + `, ` + quoted(history.ReasonBucketed) + `, nullif(r.request_id, ''), NULL
    FROM upsert u JOIN req r USING (account_id, user_id, campaign_key)
    WHERE u.previous_variation IS NULL
)
SELECT r.i, u.variation_name, u.goals FROM upsert u JOIN req r USING (account_id, user_id, campaign_key)`

// exposeStoredSQL: decisions without a candidate (a user outside traffic or segments) can only
// count an exposure on a stored row whose variation is valid; the rows are locked in key
// order before they are updated.
var exposeStoredSQL = exposeRequestSQL + `
locked AS (
    SELECT a.account_id, a.user_id, a.campaign_key, r.i
    FROM assignments a JOIN req r USING (account_id, user_id, campaign_key)
    WHERE EXISTS (SELECT 1 FROM valid v WHERE v.i = r.i AND v.variation_name = a.variation_name)
    ORDER BY a.account_id, a.user_id, a.campaign_key
    FOR UPDATE OF a
)
UPDATE assignments AS a SET exposures = a.exposures + 1
FROM locked l
WHERE a.account_id = l.account_id AND a.user_id = l.user_id AND a.campaign_key = l.campaign_key
RETURNING l.i, a.variation_name, a.goals`

// exposure is one activate's write: StoreDecision's arguments with expose true, and the
// request's id for the history event.
type exposure struct {
	Account   uss.AccountID
	Key       uss.AssignmentKey
	Valid     []string
	Candidate string
	RequestID string
}

func (e exposure) key() accountKey { return accountKey{e.Account, e.Key} }

// stored is StoreDecision's answer.
type stored struct {
	decision.Stored
	Found bool
}

// exposeMany writes exposures of distinct keys, all with a candidate or all without, in one
// statement. settled[i] says whether the statement settled exposures[i]; the others were not
// touched.
func (s *Store) exposeMany(ctx context.Context, exposures []exposure) (out []stored, settled []bool, err error) {
	query := exposeCandidatesSQL
	if exposures[0].Candidate == "" {
		query = exposeStoredSQL
	}
	n := len(exposures)
	accounts, users, campaigns, candidates := make([]int64, n), make([]string, n), make([]string, n), make([]string, n)
	requests := make([]string, n)
	var validOrdinals []int64
	var validNames []string
	for i, e := range exposures {
		accounts[i], users[i], campaigns[i], candidates[i] = int64(e.Account), e.Key.UserID, e.Key.CampaignKey, e.Candidate
		requests[i] = e.RequestID
		for _, name := range e.Valid {
			validOrdinals, validNames = append(validOrdinals, int64(i+1)), append(validNames, name)
		}
	}
	rows, err := s.db.Query(ctx, query, accounts, users, campaigns, candidates, validOrdinals, validNames, requests)
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
