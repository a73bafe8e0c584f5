package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/uss/uss/internal/decision"
	"github.com/uss/uss/internal/groupcommit"
	"github.com/uss/uss/internal/uss"
)

// GroupCommitted is the Store with the two hot writes group-committed: single-row sets
// (POST /v1/storage) and exposing decisions (POST /v1/activate). Concurrent ones, of any
// accounts, share one statement (one round trip, one commit), and each caller is answered
// only after the commit that carried its row. Everything else is the Store's.
type GroupCommitted struct {
	*Store
	sets      *groupcommit.Batcher[accountAssignment, uss.Assignment]
	exposures *groupcommit.Batcher[exposure, stored]
}

// NewGroupCommitted starts the writers (opts.Writers for each kind of write); Close them
// before closing the pool. observe, when set, is told the rows of every batch by kind of
// write ("set" or "activate").
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
	return g
}

// Close writes what was already handed in and stops the writers.
func (g *GroupCommitted) Close() {
	g.sets.Close()
	g.exposures.Close()
}

// Queued is how many writes wait for a writer (for metrics and tests).
func (g *GroupCommitted) Queued() int { return g.sets.Queued() + g.exposures.Queued() }

// SetAssignment upserts one assignment as part of the next batch and returns the stored row.
func (g *GroupCommitted) SetAssignment(ctx context.Context, account uss.AccountID, a uss.Assignment) (uss.Assignment, error) {
	row, err := g.sets.Do(ctx, accountAssignment{Account: account, Assignment: a, RequestID: uss.RequestID(ctx)})
	return row, closedIsUnavailable(err)
}

// StoreDecision implements decision.Store; exposing decisions go in batches.
func (g *GroupCommitted) StoreDecision(ctx context.Context, account uss.AccountID, key uss.AssignmentKey, valid []string,
	candidate string, expose bool) (decision.Stored, bool, error) {
	if !expose {
		return g.Store.StoreDecision(ctx, account, key, valid, candidate, false)
	}
	st, err := g.exposures.Do(ctx, exposure{Account: account, Key: key, Valid: valid, Candidate: candidate,
		RequestID: uss.RequestID(ctx)})
	return st.Stored, st.Found, closedIsUnavailable(err)
}

// closedIsUnavailable: a write refused because the server is shutting down is a 503.
func closedIsUnavailable(err error) error {
	if errors.Is(err, groupcommit.ErrClosed) {
		return uss.ErrUnavailable
	}
	return err
}

// writeSets writes a batch of sets, round by round (see rounds).
func (g *GroupCommitted) writeSets(ctx context.Context, rows []accountAssignment) []groupcommit.Result[uss.Assignment] {
	results := make([]groupcommit.Result[uss.Assignment], len(rows))
	for _, round := range rounds(rows, accountAssignment.key) {
		batch := pick(rows, round)
		written, err := g.upsertAssignments(ctx, batch)
		switch {
		case err == nil:
			for i, at := range round {
				results[at].Value = written[i]
			}
		case len(round) > 1 && retryAlone(ctx, err):
			for _, at := range round {
				r := rows[at]
				results[at].Value, results[at].Err = g.Store.SetAssignment(uss.WithRequestID(ctx, r.RequestID), r.Account, r.Assignment)
			}
		default:
			for _, at := range round {
				results[at].Err = err
			}
		}
	}
	return results
}

// writeExposures writes a batch of exposing decisions, round by round. Those the batch
// statement leaves unsettled (rare: a stale stored variation, or a race with another writer)
// are decided alone with the full single-row statement.
func (g *GroupCommitted) writeExposures(ctx context.Context, es []exposure) []groupcommit.Result[stored] {
	results := make([]groupcommit.Result[stored], len(es))
	alone := func(at int) {
		e := es[at]
		st, found, err := g.Store.StoreDecision(uss.WithRequestID(ctx, e.RequestID), e.Account, e.Key, e.Valid, e.Candidate, true)
		results[at] = groupcommit.Result[stored]{Value: stored{Stored: st, Found: found}, Err: err}
	}
	for _, round := range rounds(es, exposure.key) {
		// Decisions with and without a candidate are written by different statements.
		withCandidate, without := partition(round, func(at int) bool { return es[at].Candidate != "" })
		for _, part := range [][]int{withCandidate, without} {
			if len(part) == 0 {
				continue
			}
			out, settled, err := g.exposeMany(ctx, pick(es, part))
			switch {
			case err == nil:
				for i, at := range part {
					if settled[i] {
						results[at].Value = out[i]
					} else {
						alone(at)
					}
				}
			case len(part) > 1 && retryAlone(ctx, err):
				for _, at := range part {
					alone(at)
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

// retryAlone says whether the rows of a failed batch statement should be written one by one,
// so that a bad row fails only its own request: yes when the database answered with an error
// (a refused value, a deadlock), no when it could not be reached or time ran out, where each
// row alone would only wait for the same failure.
func retryAlone(ctx context.Context, err error) bool {
	var pgErr *pgconn.PgError
	answered := errors.As(err, &pgErr) || !errors.Is(err, uss.ErrUnavailable)
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
