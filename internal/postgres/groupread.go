package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/uss/uss/internal/groupcommit"
	"github.com/uss/uss/internal/uss"
)

// GroupRead names coalesced reads to NewGroupCommitted's observe.
const GroupRead = "get"

// getManySQL reads the assignments of many keys, of any accounts, in one statement: each
// found row with the ordinal of its key. A key without a row has no answer.
var getManySQL = `
SELECT r.i, a.user_id, a.campaign_key, a.variation_name, a.goals, a.source, a.created_at, a.updated_at
FROM unnest($1::bigint[], $2::text[], $3::text[]) WITH ORDINALITY AS r(account_id, user_id, campaign_key, i)
JOIN assignments a ON ` + sameKey("a", "r")

// readAssignments answers a batch of single-key reads with one statement. The batcher takes a
// key only once its caller has handed it in, and the statement's snapshot is taken after
// that, so a read sees every write acknowledged before it began. If the statement fails with
// an answer from the database, each key is read alone, so that a bad key fails only its own
// caller.
func (g *GroupCommitted) readAssignments(ctx context.Context, keys []accountKey) []groupcommit.Result[uss.Assignment] {
	results := make([]groupcommit.Result[uss.Assignment], len(keys))
	readAlone := func() {
		for i, k := range keys {
			results[i].Value, results[i].Err = g.Store.GetAssignment(ctx, k.Account, k.AssignmentKey)
		}
	}
	if len(keys) == 1 {
		readAlone()
		return results
	}
	n := len(keys)
	accounts, users, campaigns := make([]int64, n), make([]string, n), make([]string, n)
	for i, k := range keys {
		accounts[i], users[i], campaigns[i] = int64(k.Account), k.UserID, k.CampaignKey
	}
	err := g.getMany(ctx, accounts, users, campaigns, results)
	switch {
	case err == nil:
	case retryAlone(ctx, err):
		readAlone()
	default:
		for i := range results {
			results[i].Err = err
		}
	}
	return results
}

// getMany runs getManySQL and fills results: the row of each key found, ErrNotFound for the
// others.
func (g *GroupCommitted) getMany(ctx context.Context, accounts []int64, users, campaigns []string, results []groupcommit.Result[uss.Assignment]) error {
	rows, err := g.db.Query(ctx, getManySQL, accounts, users, campaigns)
	if err != nil {
		return mapError(fmt.Errorf("get assignments: %w", err))
	}
	found := make([]bool, len(results))
	var i int64
	var a uss.Assignment
	_, err = pgx.ForEachRow(rows, []any{&i, &a.UserID, &a.CampaignKey, &a.VariationName, &a.Goals, &a.Source, &a.CreatedAt, &a.UpdatedAt},
		func() error {
			if i < 1 || int(i) > len(results) {
				return fmt.Errorf("key ordinal %d out of range", i)
			}
			results[i-1].Value, found[i-1] = a, true
			a.Goals = nil // the next row scans into a slice of its own
			return nil
		})
	if err != nil {
		return mapError(fmt.Errorf("get assignments: %w", err))
	}
	for j, ok := range found {
		if !ok {
			results[j].Err = mapError(fmt.Errorf("get assignment: %w", pgx.ErrNoRows))
		}
	}
	return nil
}

// GetAssignment reads one assignment as part of the next batch of reads.
func (g *GroupCommitted) GetAssignment(ctx context.Context, account uss.AccountID, key uss.AssignmentKey) (uss.Assignment, error) {
	a, err := g.gets.Do(ctx, accountKey{account, key})
	switch {
	case errors.Is(err, groupcommit.ErrClosed):
		return uss.Assignment{}, uss.ErrUnavailable
	case errors.Is(err, groupcommit.ErrOutcomeUnknown):
		// A read changes nothing: its caller simply stopped waiting.
		return uss.Assignment{}, ctx.Err()
	}
	return a, err
}
