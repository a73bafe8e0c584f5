package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/uss/uss/internal/decision"
	"github.com/uss/uss/internal/groupcommit"
	"github.com/uss/uss/internal/uss"
)

// GroupCommitted is the Store with the two hot writes group-committed: single-row sets
// (POST /v1/storage) and exposing decisions (POST /v1/activate). Concurrent ones, of any
// accounts, share one statement (one round trip, one commit), and each caller is answered
// only after the commit that carried its row. Single-key reads (GET /v1/storage) are
// coalesced likewise (groupread.go). Everything else is the Store's.
type GroupCommitted struct {
	*Store
	sets      *groupcommit.Batcher[accountAssignment, uss.Assignment]
	exposures *groupcommit.Batcher[exposure, decision.Stored]
	gets      *groupcommit.Batcher[accountKey, uss.Assignment]
}

// NewGroupCommitted starts the writers (opts.Writers for each kind of write, and as many
// readers for single-key reads); Close them before closing the pool. observe, when set, is
// told the rows of every batch by kind: "set" or "activate", or GroupRead for the keys of a
// coalesced read.
func NewGroupCommitted(s *Store, opts groupcommit.Options, observe func(write string, rows int)) *GroupCommitted {
	g := &GroupCommitted{Store: s}
	observed := func(write string) groupcommit.Options {
		o := opts
		if observe != nil {
			o.OnBatch = func(rows int) { observe(write, rows) }
		}
		return o
	}
	g.sets = groupcommit.New(g.writeSets, observed("set"))
	g.exposures = groupcommit.New(g.writeExposures, observed("activate"))
	g.gets = groupcommit.New(g.readAssignments, observed(GroupRead))
	return g
}

// Close writes what was already handed in and stops the writers.
func (g *GroupCommitted) Close() {
	g.sets.Close()
	g.exposures.Close()
	g.gets.Close()
}

// Queued is how many writes and reads wait for their statement (for metrics and tests).
func (g *GroupCommitted) Queued() int {
	return g.sets.Queued() + g.exposures.Queued() + g.gets.Queued()
}

// SetAssignment writes one assignment as part of the next batch and returns the stored row.
func (g *GroupCommitted) SetAssignment(ctx context.Context, account uss.AccountID, a uss.Assignment, mode uss.SetMode) (uss.Assignment, error) {
	row, err := g.sets.Do(ctx, accountAssignment{Account: account, Assignment: a, Mode: mode, RequestID: uss.RequestID(ctx)})
	return row, closedIsUnavailable(err)
}

// StoreDecision implements decision.Store; exposing decisions go in batches.
func (g *GroupCommitted) StoreDecision(ctx context.Context, p decision.StoreParams) (decision.Stored, error) {
	if !p.Expose {
		return g.Store.StoreDecision(ctx, p)
	}
	st, err := g.exposures.Do(ctx, exposure{StoreParams: p, RequestID: uss.RequestID(ctx)})
	return st, closedIsUnavailable(err)
}

// closedIsUnavailable: a write refused because the server is shutting down is a 503, and one
// whose caller stopped waiting while it was written has an unknown outcome.
func closedIsUnavailable(err error) error {
	switch {
	case errors.Is(err, groupcommit.ErrClosed):
		return uss.ErrUnavailable
	case errors.Is(err, groupcommit.ErrOutcomeUnknown):
		return fmt.Errorf("%w: %w", uss.ErrOutcomeUnknown, err)
	}
	return err
}

// writeSets writes a batch of sets, round by round (see rounds), one statement per mode.
func (g *GroupCommitted) writeSets(ctx context.Context, rows []accountAssignment) []groupcommit.Result[uss.Assignment] {
	results := make([]groupcommit.Result[uss.Assignment], len(rows))
	for _, round := range rounds(rows, accountAssignment.key) {
		upserts, ifAbsent := partition(round, func(at int) bool { return rows[at].Mode == uss.SetUpsert })
		for _, part := range [][]int{upserts, ifAbsent} {
			if len(part) == 0 {
				continue
			}
			written, err := g.upsertAssignments(ctx, pick(rows, part), rows[part[0]].Mode)
			switch {
			case err == nil:
				for i, at := range part {
					results[at].Value = written[i]
				}
			case len(part) > 1 && retryAlone(ctx, err):
				for _, at := range part {
					r := rows[at]
					results[at].Value, results[at].Err = g.Store.SetAssignment(uss.WithRequestID(ctx, r.RequestID), r.Account, r.Assignment, r.Mode)
				}
			default:
				for _, at := range part {
					results[at].Err = err
				}
			}
		}
	}
	return results
}

// batchStep writes some decisions of a round in one statement; settled[i] says whether it
// answered ps[i].
type batchStep func(ctx context.Context, ps []exposure) (out []decision.Stored, settled []bool, err error)

// writeExposures writes a batch of exposing decisions, round by round: first the exposures of
// stored rows, then the candidates of users without one (see exposeStoredSQL). Those neither
// statement settles (rare: a stale stored variation, or a race with another writer) are
// decided alone with the full single-row statement.
func (g *GroupCommitted) writeExposures(ctx context.Context, ps []exposure) []groupcommit.Result[decision.Stored] {
	results := make([]groupcommit.Result[decision.Stored], len(ps))
	alone := func(at int) {
		results[at].Value, results[at].Err = g.Store.StoreDecision(uss.WithRequestID(ctx, ps[at].RequestID), ps[at].StoreParams)
	}
	// run writes the decisions at with step, answers those it settles and returns the others.
	run := func(at []int, step batchStep) []int {
		if len(at) == 0 {
			return nil
		}
		out, settled, err := step(ctx, pick(ps, at))
		if err != nil {
			for _, i := range at {
				if len(at) > 1 && retryAlone(ctx, err) {
					alone(i)
				} else {
					results[i].Err = err
				}
			}
			return nil
		}
		var rest []int
		for j, i := range at {
			if settled[j] {
				results[i].Value = out[j]
			} else {
				rest = append(rest, i)
			}
		}
		return rest
	}
	for _, round := range rounds(ps, decisionKey) {
		for _, at := range run(run(round, g.exposeStored), g.insertCandidates) {
			alone(at)
		}
	}
	return results
}

// retryAlone says whether the rows of a failed batch statement should be written one by one,
// so that a bad row fails only its own request: yes when the database answered with an error
// (a refused value, a deadlock), no when it could not be reached or time ran out, where each
// row alone would only wait for the same failure, and no when the batch may have committed.
func retryAlone(ctx context.Context, err error) bool {
	var pgErr *pgconn.PgError
	answered := errors.As(err, &pgErr) || (!errors.Is(err, uss.ErrUnavailable) && !errors.Is(err, uss.ErrOutcomeUnknown))
	return answered && ctx.Err() == nil
}

// rounds splits a batch into rounds of distinct keys, as indexes into rows, since one
// statement cannot touch a row twice: the first row of each key in the first round, the
// second in the second, and so on, so rows of one key are written in arrival order.
func rounds[T any](rows []T, key func(T) accountKey) [][]int {
	seen := make(map[accountKey]int, len(rows))
	var out [][]int
	for i, r := range rows {
		k := key(r)
		n := seen[k]
		seen[k] = n + 1
		if n == len(out) {
			out = append(out, nil)
		}
		out[n] = append(out[n], i)
	}
	return out
}

// partition splits indexes by a predicate, keeping their order.
func partition(at []int, pred func(int) bool) (yes, no []int) {
	for _, i := range at {
		if pred(i) {
			yes = append(yes, i)
		} else {
			no = append(no, i)
		}
	}
	return yes, no
}

func pick[T any](rows []T, at []int) []T {
	out := make([]T, len(at))
	for i, j := range at {
		out[i] = rows[j]
	}
	return out
}
