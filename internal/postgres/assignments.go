package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/uss/uss/internal/history"
	"github.com/uss/uss/internal/uss"
)

const assignmentColumns = `user_id, campaign_key, variation_name, goals, source, created_at, updated_at`

// keyWhere finds the assignment of account $1, user $2 and campaign $3 through the primary key
// whatever the table's statistics. Written as three equalities, the lookup can also be served
// by assignments_report_idx (account, campaign, variation), which walks every user of the
// campaign; on a table loaded in bulk and not yet analyzed (an import, a large batch set, a
// restored backup) the planner, guessing both at one row, picks either. The pair of row
// comparisons says the same (a key compares equal only to itself) but, as an index condition,
// only on an index whose columns are (user_id, campaign_key) in that order: the primary key.
// No other index can use more than account_id, so the primary key always wins, and with
// user_id = $2 among its conditions the planner expects one row and scans the index plainly
// (TestKeyLookupsUseThePrimaryKeyWithoutStatistics holds every key lookup to this).
const keyWhere = `account_id = $1 AND user_id = $2
    AND (user_id, campaign_key) >= ($2, $3) AND (user_id, campaign_key) <= ($2, $3)`

// sameKey is keyWhere for a join: the assignment a has the key of the row r.
func sameKey(a, r string) string {
	return fmt.Sprintf(`%[1]s.account_id = %[2]s.account_id AND %[1]s.user_id = %[2]s.user_id
    AND (%[1]s.user_id, %[1]s.campaign_key) >= (%[2]s.user_id, %[2]s.campaign_key)
    AND (%[1]s.user_id, %[1]s.campaign_key) <= (%[2]s.user_id, %[2]s.campaign_key)`, a, r)
}

const getAssignmentSQL = `
SELECT ` + assignmentColumns + `
FROM assignments
WHERE ` + keyWhere

const getUserAssignmentsSQL = `
SELECT ` + assignmentColumns + `
FROM assignments
WHERE account_id = $1 AND user_id = $2
ORDER BY campaign_key`

const getUserAssignmentsInSQL = `
SELECT ` + assignmentColumns + `
FROM assignments
WHERE account_id = $1 AND user_id = $2 AND campaign_key = ANY($3)
ORDER BY campaign_key`

// mergedGoalsSQL is the goal set of a write in the stored variation: the stored goals, then
// the written ones not among them, in their order.
const mergedGoalsSQL = `a.goals || ARRAY(SELECT g FROM unnest(excluded.goals) WITH ORDINALITY AS u(g, i)
                                           WHERE g <> ALL (a.goals) ORDER BY i)`

// onConflictSQL is what a set (or an import: SetUpsert) does to a stored row, by mode. Both
// merge the goals while the variation stays the same (and the source stays), and keep the
// variation they found in previous_variation, for the history event.
//
//   - SetUpsert: a new variation replaces goals and source.
//   - SetIfAbsent: a stored variation is never replaced (the first writer wins). DO UPDATE,
//     even when it changes nothing, returns the stored row, also one committed after this
//     statement's snapshot, so every caller is answered with the row that won.
var onConflictSQL = [...]string{
	uss.SetUpsert: `
ON CONFLICT (account_id, user_id, campaign_key) DO UPDATE SET
    goals = CASE WHEN a.variation_name = excluded.variation_name THEN ` + mergedGoalsSQL + ` ELSE excluded.goals END,
    source = CASE WHEN a.variation_name = excluded.variation_name THEN a.source ELSE excluded.source END,
    previous_variation = a.variation_name,
    variation_name = excluded.variation_name,
    updated_at = now()`,
	uss.SetIfAbsent: `
ON CONFLICT (account_id, user_id, campaign_key) DO UPDATE SET
    goals = CASE WHEN a.variation_name = excluded.variation_name THEN ` + mergedGoalsSQL + ` ELSE a.goals END,
    previous_variation = a.variation_name,
    updated_at = CASE WHEN a.variation_name = excluded.variation_name THEN now() ELSE a.updated_at END`,
}

// setAssignmentsSQL writes many rows, of one account (batch set) or of many (group commit),
// in the order given: writers that lock rows in one order cannot deadlock each other. Goals
// travel joined by the delimiter, which no goal can contain, because unnest cannot take a
// ragged array of arrays. A row created or given another variation gets its event, with the
// request id ($7) of the set that wrote it.
var setAssignmentsSQL = [...]string{
	uss.SetUpsert:   setManySQL(uss.SetUpsert),
	uss.SetIfAbsent: setManySQL(uss.SetIfAbsent),
}

func setManySQL(mode uss.SetMode) string {
	return `
WITH r AS (
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
        WITH ORDINALITY AS r(account_id, user_id, campaign_key, variation_name, goals, source, request_id, i)
),
w AS (
    INSERT INTO assignments AS a (account_id, user_id, campaign_key, variation_name, goals, source)
    SELECT r.account_id, r.user_id, r.campaign_key, r.variation_name, string_to_array(r.goals, '` + uss.GoalDelimiter + `'), r.source
    FROM r ORDER BY r.i` + onConflictSQL[mode] + `
    RETURNING account_id, ` + assignmentColumns + `, previous_variation
),
h AS (` + insertEventsSQL + `
    SELECT w.account_id, w.user_id, w.campaign_key, ` + changeKindSQL("w.previous_variation", history.Overwritten) + `,
           w.previous_variation, w.variation_name, w.source, ` + settingsVersionSQL("w.account_id") + `,
           ` + quoted(history.ReasonSet) + `, nullif(r.request_id, ''), NULL
    FROM w JOIN r USING (account_id, user_id, campaign_key)
    WHERE w.previous_variation IS DISTINCT FROM w.variation_name
)
SELECT account_id, ` + assignmentColumns + ` FROM w`
}

// deleteAssignmentSQL removes one row and writes its deleted event with the reason $4 and
// the request id $5.
var deleteAssignmentSQL = `
WITH d AS (
    DELETE FROM assignments WHERE ` + keyWhere + `
    RETURNING variation_name, source
),
h AS (` + insertEventsSQL + `
    SELECT $1, $2, $3, ` + quoted(history.Deleted) + `, variation_name, NULL, source, ` + settingsVersionSQL("$1") + `,
           $4, $5, NULL
    FROM d
)
SELECT count(*) FROM d`

// eraseUserSQL removes a user's rows from every table in one statement, history included,
// and the user's id from the merged events of the ids it was merged into. The rows of the
// tables that statements write several of at once (assignments, history, GrowthBook
// documents, Optimizely profiles) are locked first, in key order (the order every multi-row
// writer locks them), so an erasure cannot deadlock with batched writes, document saves of
// the same user or the retention task. GrowthBook entries are matched by attribute value,
// whatever the attribute (id, deviceId, ...). History is keyed by campaign first (one index
// serves the API, retention and this): campaigns walks the account's campaigns of the index
// one probe each, and the user's events are found with one more probe per campaign.
const eraseUserSQL = `
WITH RECURSIVE locked AS (
    SELECT campaign_key FROM assignments WHERE account_id = $1 AND user_id = $2
    ORDER BY campaign_key FOR UPDATE
),
campaigns AS (
    (SELECT campaign_key FROM assignment_history WHERE account_id = $1 ORDER BY campaign_key LIMIT 1)
    UNION ALL
    SELECT (SELECT h.campaign_key FROM assignment_history h
            WHERE h.account_id = $1 AND h.campaign_key > c.campaign_key ORDER BY h.campaign_key LIMIT 1)
    FROM campaigns c WHERE c.campaign_key IS NOT NULL
),
events AS (
    SELECT h.user_id, h.campaign_key, h.event_id FROM assignment_history h
    WHERE h.account_id = $1 AND (h.campaign_key, h.user_id, h.event_id) IN (
        SELECT o.campaign_key, o.user_id, o.event_id FROM campaigns c
        JOIN assignment_history o ON o.account_id = $1 AND o.campaign_key = c.campaign_key AND o.user_id = $2
        UNION
        SELECT m.campaign_key, m.user_id, m.event_id FROM assignment_history m WHERE m.account_id = $1 AND m.merged_from = $2)
    ORDER BY h.user_id, h.campaign_key, h.event_id FOR UPDATE
),
     locked_growthbook AS (
    SELECT attribute_name, assignment_key FROM growthbook_assignments WHERE account_id = $1 AND attribute_value = $2
    ORDER BY attribute_name, assignment_key FOR UPDATE
),
     locked_optimizely AS (
    SELECT experiment_id FROM optimizely_decisions WHERE account_id = $1 AND user_id = $2
    ORDER BY experiment_id FOR UPDATE
),
     a AS (DELETE FROM assignments WHERE account_id = $1 AND user_id = $2
               AND campaign_key IN (SELECT campaign_key FROM locked) RETURNING 1),
     c AS (DELETE FROM conversions WHERE account_id = $1 AND user_id = $2 RETURNING 1),
     p AS (DELETE FROM persisted_values WHERE account_id = $1 AND unit_id = $2 RETURNING 1),
     h AS (DELETE FROM assignment_history h USING events e
           WHERE h.account_id = $1 AND e.user_id = $2 AND h.campaign_key = e.campaign_key
             AND h.user_id = e.user_id AND h.event_id = e.event_id),
     m AS (UPDATE assignment_history h SET merged_from = NULL FROM events e
           WHERE h.account_id = $1 AND e.user_id <> $2 AND h.campaign_key = e.campaign_key
             AND h.user_id = e.user_id AND h.event_id = e.event_id),
     f AS (DELETE FROM vwo_fme_records WHERE account_id = $1 AND user_id = $2 RETURNING 1),
     g AS (DELETE FROM growthbook_assignments WHERE account_id = $1 AND attribute_value = $2
               AND (attribute_name, assignment_key) IN (SELECT attribute_name, assignment_key FROM locked_growthbook)
               RETURNING 1),
     o AS (DELETE FROM optimizely_decisions WHERE account_id = $1 AND user_id = $2
               AND experiment_id IN (SELECT experiment_id FROM locked_optimizely) RETURNING 1)
SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM c), (SELECT count(*) FROM p),
       (SELECT count(*) FROM f), (SELECT count(*) FROM g), (SELECT count(*) FROM o)`

func scanAssignment(row pgx.Row) (uss.Assignment, error) {
	var a uss.Assignment
	err := row.Scan(&a.UserID, &a.CampaignKey, &a.VariationName, &a.Goals, &a.Source, &a.CreatedAt, &a.UpdatedAt)
	return a, err
}

// GetAssignment reads one assignment.
func (s *Store) GetAssignment(ctx context.Context, account uss.AccountID, key uss.AssignmentKey) (uss.Assignment, error) {
	a, err := scanAssignment(s.db.QueryRow(ctx, getAssignmentSQL, account, key.UserID, key.CampaignKey))
	if err != nil {
		return uss.Assignment{}, mapError(fmt.Errorf("get assignment: %w", err))
	}
	return a, nil
}

// GetAssignments reads a user's assignments in campaignKeys (all when empty) in one query.
func (s *Store) GetAssignments(ctx context.Context, account uss.AccountID, userID string, campaignKeys []string) ([]uss.Assignment, error) {
	var rows pgx.Rows
	var err error
	if len(campaignKeys) == 0 {
		rows, err = s.db.Query(ctx, getUserAssignmentsSQL, account, userID)
	} else {
		rows, err = s.db.Query(ctx, getUserAssignmentsInSQL, account, userID, campaignKeys)
	}
	if err != nil {
		return nil, mapError(fmt.Errorf("get assignments: %w", err))
	}
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (uss.Assignment, error) { return scanAssignment(r) })
	if err != nil {
		return nil, mapError(fmt.Errorf("get assignments: %w", err))
	}
	return as, nil
}

// SetAssignment writes one assignment as mode says and returns the stored row.
func (s *Store) SetAssignment(ctx context.Context, account uss.AccountID, a uss.Assignment, mode uss.SetMode) (uss.Assignment, error) {
	stored, err := s.upsertAssignments(ctx, []accountAssignment{{Account: account, Assignment: a, RequestID: uss.RequestID(ctx)}}, mode)
	if err != nil {
		return uss.Assignment{}, err
	}
	return stored[0], nil
}

// SetAssignments writes every assignment in one statement, so all are stored or none. The
// result is in the order of the input.
func (s *Store) SetAssignments(ctx context.Context, account uss.AccountID, as []uss.Assignment, mode uss.SetMode) ([]uss.Assignment, error) {
	rows := make([]accountAssignment, len(as))
	for i, a := range as {
		rows[i] = accountAssignment{Account: account, Assignment: a, RequestID: uss.RequestID(ctx)}
	}
	return s.upsertAssignments(ctx, rows, mode)
}

// accountAssignment is an assignment with its account: one statement may write many
// accounts'. Mode is the set's, for the group commit, which writes each mode apart, and
// RequestID the request's, for the history event.
type accountAssignment struct {
	Account uss.AccountID
	uss.Assignment
	Mode      uss.SetMode
	RequestID string
}

func (r accountAssignment) key() accountKey {
	return accountKey{r.Account, uss.AssignmentKey{UserID: r.UserID, CampaignKey: r.CampaignKey}}
}

type accountKey struct {
	Account uss.AccountID
	uss.AssignmentKey
}

func (k accountKey) compare(o accountKey) int {
	return cmp.Or(cmp.Compare(k.Account, o.Account), strings.Compare(k.UserID, o.UserID),
		strings.Compare(k.CampaignKey, o.CampaignKey))
}

// upsertAssignments writes rows with distinct keys in one statement, as mode says, and
// returns the stored rows in the input's order. Rows go in key order, so that concurrent
// statements lock rows in the same order and cannot deadlock.
func (s *Store) upsertAssignments(ctx context.Context, rows []accountAssignment, mode uss.SetMode) ([]uss.Assignment, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	sorted := slices.Clone(rows)
	slices.SortFunc(sorted, func(a, b accountAssignment) int { return a.key().compare(b.key()) })
	n := len(sorted)
	accounts, users, campaigns := make([]int64, n), make([]string, n), make([]string, n)
	variations, goals, sources, requests := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, r := range sorted {
		accounts[i], users[i], campaigns[i] = int64(r.Account), r.UserID, r.CampaignKey
		variations[i], goals[i], sources[i], requests[i] = r.VariationName, r.GoalIdentifier(), string(r.Source), r.RequestID
	}
	result, err := s.db.Query(ctx, setAssignmentsSQL[mode], accounts, users, campaigns, variations, goals, sources, requests)
	if err != nil {
		return nil, s.writeError(fmt.Errorf("set assignments: %w", err))
	}
	stored, err := pgx.CollectRows(result, func(r pgx.CollectableRow) (accountAssignment, error) {
		var a accountAssignment
		err := r.Scan(&a.Account, &a.UserID, &a.CampaignKey, &a.VariationName, &a.Goals, &a.Source, &a.CreatedAt, &a.UpdatedAt)
		return a, err
	})
	if err != nil {
		return nil, s.writeError(fmt.Errorf("set assignments: %w", err))
	}
	byKey := make(map[accountKey]uss.Assignment, len(stored))
	for _, a := range stored {
		byKey[a.key()] = a.Assignment
	}
	out := make([]uss.Assignment, len(rows))
	for i, r := range rows {
		a, ok := byKey[r.key()]
		if !ok {
			return nil, fmt.Errorf("set assignments: no row returned for %v", r.key())
		}
		out[i] = a
	}
	return out, nil
}

// DeleteAssignment removes one assignment and returns how many rows went. Its history event
// gives reason: the storage API's or the decision's code.
func (s *Store) DeleteAssignment(ctx context.Context, account uss.AccountID, key uss.AssignmentKey, reason string) (int64, error) {
	var n int64
	err := s.db.QueryRow(ctx, deleteAssignmentSQL, account, key.UserID, key.CampaignKey, reason, requestID(ctx)).Scan(&n)
	if err != nil {
		return 0, s.writeError(fmt.Errorf("delete assignment: %w", err))
	}
	return n, nil
}

// EraseUser removes everything of one user in one statement, so an erasure is all or nothing.
func (s *Store) EraseUser(ctx context.Context, account uss.AccountID, userID string) (uss.Erased, error) {
	var e uss.Erased
	err := s.db.QueryRow(ctx, eraseUserSQL, account, userID).Scan(&e.Assignments, &e.Conversions, &e.PersistedValues,
		&e.VWOFMERecords, &e.GrowthBookAssignments, &e.OptimizelyDecisions)
	if err != nil {
		return uss.Erased{}, s.writeError(fmt.Errorf("erase user: %w", err))
	}
	return e, nil
}
