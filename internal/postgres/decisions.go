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

// decideSQL is a decision's whole write in one statement, and says which of three things it
// did:
//
//   - kept: the stored row, if its variation is one of the campaign's ($4), is the answer;
//     %s is an UPDATE that adds the exposure count $6 (activate) or a plain SELECT;
//   - inserted: a user without a row gets the candidate $5 (empty for none), with source $7;
//   - replaced: a row whose variation is gone gets the candidate instead, without goals (they
//     were the old variation's): VWO's rule is that such a user is decided again.
//
// Each part acts only on a row as this statement's snapshot saw it, so at most one of them
// answers, and its name is exactly what happened. A row another writer committed after the
// snapshot makes the statement answer nothing (the insert meets it, or the update finds the
// row changed): StoreDecision then runs it again, and the new snapshot sees that row, so the
// first writer wins.
//
// An inserted row is a created event, a replaced one a rebucketed event (previous_variation
// keeps the gone variation), with the request id $8; a kept row is no event.
var decideSQL = `
WITH kept AS (%s),
gone AS (
    SELECT 1 FROM assignments WHERE ` + keyWhere + ` AND NOT (variation_name = ANY($4))
),
inserted AS (
    INSERT INTO assignments (account_id, user_id, campaign_key, variation_name, source, exposures)
    SELECT $1, $2, $3, $5, $7, $6
    WHERE $5 <> '' AND NOT EXISTS (SELECT 1 FROM kept) AND NOT EXISTS (SELECT 1 FROM gone)
    ON CONFLICT (account_id, user_id, campaign_key) DO NOTHING
    RETURNING variation_name, source
),
replaced AS (
    UPDATE assignments SET previous_variation = variation_name,
        variation_name = $5, goals = '{}', source = $7, exposures = $6, updated_at = now()
    WHERE ` + keyWhere + ` AND NOT (variation_name = ANY($4)) AND $5 <> '' AND EXISTS (SELECT 1 FROM gone)
    RETURNING variation_name, source, previous_variation
),
h AS (` + insertEventsSQL + `
    SELECT $1, $2, $3, ` + quoted(history.Created) + `, NULL, variation_name, source, ` + settingsVersionSQL("$1") + `,
           ` + quoted(history.ReasonBucketed) + `, $8, NULL
    FROM inserted
    UNION ALL
    SELECT $1, $2, $3, ` + quoted(history.Rebucketed) + `, previous_variation, variation_name, source, ` + settingsVersionSQL("$1") + `,
           ` + quoted(history.ReasonStoredVariationRemoved) + `, $8, NULL
    FROM replaced
)
SELECT variation_name, 'kept' FROM kept
UNION ALL SELECT variation_name, 'inserted' FROM inserted
UNION ALL SELECT variation_name, 'replaced' FROM replaced`

var (
	decideExposingSQL = fmt.Sprintf(decideSQL,
		`UPDATE assignments SET exposures = exposures + $6 WHERE `+keyWhere+` AND variation_name = ANY($4) RETURNING variation_name`)
	decideReadingSQL = fmt.Sprintf(decideSQL,
		`SELECT variation_name FROM assignments WHERE `+keyWhere+` AND variation_name = ANY($4)`)
)

// maxDecideAttempts bounds the statements of one decision. Each attempt after the first sees
// the row that stopped the one before; only a row that keeps changing between statements
// (deleted and written again, over and over) can use them all.
const maxDecideAttempts = 5

// outcomes names decideSQL's answers.
var outcomes = map[string]decision.Outcome{
	"kept": decision.OutcomeKept, "inserted": decision.OutcomeInserted, "replaced": decision.OutcomeReplaced,
}

// StoreDecision implements decision.Store.
func (s *Store) StoreDecision(ctx context.Context, p decision.StoreParams) (decision.Stored, error) {
	query, exposures := decideReadingSQL, 0
	if p.Expose {
		query, exposures = decideExposingSQL, 1
	}
	for range maxDecideAttempts {
		var st decision.Stored
		var outcome string
		err := s.db.QueryRow(ctx, query, p.Account, p.Key.UserID, p.Key.CampaignKey, p.Valid, p.Candidate,
			exposures, p.Source, requestID(ctx)).Scan(&st.VariationName, &outcome)
		switch {
		case err == nil:
			st.Outcome = outcomes[outcome]
			return st, nil
		case !errors.Is(err, pgx.ErrNoRows):
			return decision.Stored{}, s.writeError(fmt.Errorf("store decision: %w", err))
		case p.Candidate == "":
			return decision.Stored{Outcome: decision.OutcomeNone}, nil
		}
		// With a candidate, no answer means another writer's row appeared meanwhile.
	}
	return decision.Stored{}, fmt.Errorf("store decision: the row changed under %d statements in a row: %w",
		maxDecideAttempts, uss.ErrUnavailable)
}

// Exposing decisions are group-committed (see GroupCommitted) in two statements per round of
// distinct keys, each its own transaction that locks rows in key order, the order every
// multi-row writer takes them, so that concurrent writers cannot deadlock (one statement doing
// both would hold the locks of one kind of row while taking the other's, out of key order):
//
//  1. exposeStoredSQL counts the exposure of every decision whose user has a stored row with a
//     valid variation: that row is the answer (kept);
//  2. insertCandidatesSQL stores the candidate of every other decision that has one, where no
//     row exists (inserted), each a created event with its request's id.
//
// What neither settles (a stored variation that is gone, a row written meanwhile) is decided
// alone with decideExposingSQL. $4 and $5 of the first list every decision's valid variations
// as (ordinal, name) pairs.
var exposeStoredSQL = `
WITH req AS (
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[]) WITH ORDINALITY AS r(account_id, user_id, campaign_key, i)
),
valid AS (
    SELECT * FROM unnest($4::bigint[], $5::text[]) AS v(i, variation_name)
),
locked AS (
    SELECT a.account_id, a.user_id, a.campaign_key, r.i
    FROM assignments a JOIN req r ON ` + sameKey("a", "r") + `
    WHERE EXISTS (SELECT 1 FROM valid v WHERE v.i = r.i AND v.variation_name = a.variation_name)
    ORDER BY a.account_id, a.user_id, a.campaign_key
    FOR UPDATE OF a
)
UPDATE assignments AS a SET exposures = a.exposures + 1
FROM locked l
WHERE ` + sameKey("a", "l") + `
RETURNING l.i, a.variation_name`

var insertCandidatesSQL = `
WITH req AS (
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
        AS r(account_id, user_id, campaign_key, candidate, source, request_id, i)
),
inserted AS (
    INSERT INTO assignments (account_id, user_id, campaign_key, variation_name, source, exposures)
    SELECT account_id, user_id, campaign_key, candidate, source, 1
    FROM req
    ORDER BY account_id, user_id, campaign_key
    ON CONFLICT (account_id, user_id, campaign_key) DO NOTHING
    RETURNING account_id, user_id, campaign_key, variation_name, source
),
h AS (` + insertEventsSQL + `
    SELECT n.account_id, n.user_id, n.campaign_key, ` + quoted(history.Created) + `, NULL, n.variation_name, n.source,
           ` + settingsVersionSQL("n.account_id") + `, ` + quoted(history.ReasonBucketed) + `, nullif(r.request_id, ''), NULL
    FROM inserted n JOIN req r USING (account_id, user_id, campaign_key)
)
SELECT r.i, n.variation_name FROM inserted n JOIN req r USING (account_id, user_id, campaign_key)`

// exposure is one exposing decision of a batch, with the request it answers (for its history
// event).
type exposure struct {
	decision.StoreParams
	RequestID string
}

func decisionKey(e exposure) accountKey { return accountKey{e.Account, e.Key} }

// exposeStored runs exposeStoredSQL over decisions of distinct keys. settled[i] says whether
// ps[i] has its answer: a kept row, or, without a candidate, none.
func (s *Store) exposeStored(ctx context.Context, ps []exposure) (out []decision.Stored, settled []bool, err error) {
	n := len(ps)
	accounts, users, campaigns := make([]int64, n), make([]string, n), make([]string, n)
	var validOrdinals []int64
	var validNames []string
	for i, p := range ps {
		accounts[i], users[i], campaigns[i] = int64(p.Account), p.Key.UserID, p.Key.CampaignKey
		for _, name := range p.Valid {
			validOrdinals, validNames = append(validOrdinals, int64(i+1)), append(validNames, name)
		}
	}
	out, settled, err = s.collectDecisions(ctx, n, decision.OutcomeKept, exposeStoredSQL,
		accounts, users, campaigns, validOrdinals, validNames)
	if err != nil {
		return nil, nil, err
	}
	// Without a valid row there is nothing to expose; without a candidate, nothing to store.
	for i, p := range ps {
		if !settled[i] && p.Candidate == "" {
			settled[i] = true
		}
	}
	return out, settled, nil
}

// insertCandidates runs insertCandidatesSQL over decisions of distinct keys, all with a
// candidate. settled[i] says whether ps[i]'s candidate was stored.
func (s *Store) insertCandidates(ctx context.Context, ps []exposure) ([]decision.Stored, []bool, error) {
	n := len(ps)
	accounts, users, campaigns := make([]int64, n), make([]string, n), make([]string, n)
	candidates, sources, requests := make([]string, n), make([]string, n), make([]string, n)
	for i, p := range ps {
		accounts[i], users[i], campaigns[i] = int64(p.Account), p.Key.UserID, p.Key.CampaignKey
		candidates[i], sources[i], requests[i] = p.Candidate, string(p.Source), p.RequestID
	}
	return s.collectDecisions(ctx, n, decision.OutcomeInserted, insertCandidatesSQL,
		accounts, users, campaigns, candidates, sources, requests)
}

// collectDecisions runs a batched decision statement that returns (ordinal, variation) for
// the decisions it settled, each with outcome.
func (s *Store) collectDecisions(ctx context.Context, n int, outcome decision.Outcome, query string, args ...any) (
	[]decision.Stored, []bool, error) {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, nil, s.writeError(fmt.Errorf("store decisions: %w", err))
	}
	out, settled := make([]decision.Stored, n), make([]bool, n)
	var i int64
	var name string
	_, err = pgx.ForEachRow(rows, []any{&i, &name}, func() error {
		if i < 1 || i > int64(n) {
			return fmt.Errorf("ordinal %d out of range", i)
		}
		out[i-1], settled[i-1] = decision.Stored{VariationName: name, Outcome: outcome}, true
		return nil
	})
	if err != nil {
		return nil, nil, s.writeError(fmt.Errorf("store decisions: %w", err))
	}
	return out, settled, nil
}
