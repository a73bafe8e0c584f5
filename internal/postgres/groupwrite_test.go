package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/decision"
	"github.com/uss/uss/internal/groupcommit"
	"github.com/uss/uss/internal/pgtest"
	"github.com/uss/uss/internal/postgres"
	"github.com/uss/uss/internal/uss"
)

const acct = uss.AccountID(1)

// groupRig is a GroupCommitted with one writer, and a way to keep that writer busy: a row
// locked by another transaction, which the writer's first batch waits for. Writes handed in
// meanwhile queue, and go out together as the next batch once the lock is released.
type groupRig struct {
	t       *testing.T
	pool    *pgxpool.Pool
	g       *postgres.GroupCommitted
	mu      sync.Mutex
	batches []int
}

func newGroupRig(t *testing.T) *groupRig {
	r := &groupRig{t: t, pool: pgtest.Pool(t)}
	r.g = postgres.NewGroupCommitted(postgres.NewStore(r.pool), groupcommit.Options{
		Writers: 1, MaxBatch: 64, Timeout: 10 * time.Second,
	}, func(_ string, n int) { r.mu.Lock(); r.batches = append(r.batches, n); r.mu.Unlock() })
	t.Cleanup(r.g.Close)
	return r
}

func (r *groupRig) batchSizes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.batches...)
}

// occupySets and occupyExposures make the writer of sets or of exposures wait on a locked row
// until release is called; the blocked write's own outcome is checked by release.
func (r *groupRig) occupySets() (release func()) {
	return r.occupy(func(ctx context.Context, blocker uss.Assignment) error {
		_, err := r.g.SetAssignment(ctx, acct, blocker, uss.SetUpsert)
		return err
	})
}

func (r *groupRig) occupyExposures() (release func()) {
	return r.occupy(func(ctx context.Context, blocker uss.Assignment) error {
		_, err := r.g.StoreDecision(ctx, decision.StoreParams{Account: acct,
			Key:   uss.AssignmentKey{UserID: blocker.UserID, CampaignKey: blocker.CampaignKey},
			Valid: []string{blocker.VariationName}, Expose: true})
		return err
	})
}

func (r *groupRig) occupy(write func(context.Context, uss.Assignment) error) (release func()) {
	t, ctx := r.t, context.Background()
	blocker := uss.Assignment{UserID: "blocker", CampaignKey: "c", VariationName: "Control", Source: uss.SourceSet}
	_, err := postgres.NewStore(r.pool).SetAssignment(ctx, acct, blocker, uss.SetUpsert)
	require.NoError(t, err)
	tx, err := r.pool.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) }) // a failed test must not leave the pool waiting
	_, err = tx.Exec(ctx, "SELECT 1 FROM assignments WHERE user_id = 'blocker' FOR UPDATE")
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() { done <- write(ctx, blocker) }()
	require.Eventually(t, func() bool {
		var waiting int
		_ = r.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		return waiting == 1
	}, 5*time.Second, 5*time.Millisecond, "the writer waits on the locked row")
	return func() {
		require.NoError(t, tx.Rollback(ctx))
		require.NoError(t, <-done)
	}
}

func (r *groupRig) waitQueued(n int) {
	require.Eventually(r.t, func() bool { return r.g.Queued() == n }, 5*time.Second, time.Millisecond)
}

func (r *groupRig) variation(userID, campaignKey string) (string, bool) {
	var v string
	err := r.pool.QueryRow(context.Background(), `SELECT variation_name FROM assignments
		WHERE account_id = $1 AND user_id = $2 AND campaign_key = $3`, acct, userID, campaignKey).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false
	}
	require.NoError(r.t, err)
	return v, true
}

// A row the database refuses, in a batch with good ones: the good ones are committed and
// answered with their rows, the bad one alone fails, and nothing of it is stored.
func TestGroupCommitABadRowFailsOnlyItself(t *testing.T) {
	t.Parallel()
	r := newGroupRig(t)
	release := r.occupySets()

	type outcome struct {
		stored uss.Assignment
		err    error
	}
	results := make([]chan outcome, 10)
	for i := range results {
		results[i] = make(chan outcome, 1)
		a := uss.Assignment{UserID: fmt.Sprintf("user-%d", i), CampaignKey: "c", VariationName: fmt.Sprintf("V-%d", i),
			Goals: []string{"g"}, Source: uss.SourceSet}
		if i == 4 {
			a.Source = "bogus" // the table's CHECK refuses it: a statement error, not a lost connection
		}
		go func() {
			st, err := r.g.SetAssignment(context.Background(), acct, a, uss.SetUpsert)
			results[i] <- outcome{st, err}
		}()
	}
	r.waitQueued(10)
	release()

	for i, ch := range results {
		o := <-ch
		user := fmt.Sprintf("user-%d", i)
		v, found := r.variation(user, "c")
		if i == 4 {
			require.Error(t, o.err)
			require.False(t, found, "the refused row must not be stored")
			continue
		}
		require.NoError(t, o.err, user)
		require.Equal(t, fmt.Sprintf("V-%d", i), o.stored.VariationName)
		require.Equal(t, []string{"g"}, o.stored.Goals)
		require.True(t, found)
		require.Equal(t, fmt.Sprintf("V-%d", i), v)
	}
	require.Equal(t, []int{1, 10}, r.batchSizes(), "the ten went out as one batch")
}

// A request whose caller gives up while it waits for a writer is never written; the others
// are.
func TestGroupCommitACancelledWaitingWriteIsNeverWritten(t *testing.T) {
	t.Parallel()
	r := newGroupRig(t)
	release := r.occupySets()

	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() {
		_, err := r.g.SetAssignment(ctx, acct, uss.Assignment{UserID: "gone", CampaignKey: "c", VariationName: "V", Source: uss.SourceSet}, uss.SetUpsert)
		gaveUp <- err
	}()
	r.waitQueued(1)
	cancel()
	require.ErrorIs(t, <-gaveUp, context.Canceled)

	kept := make(chan error, 1)
	go func() {
		_, err := r.g.SetAssignment(context.Background(), acct, uss.Assignment{UserID: "kept", CampaignKey: "c", VariationName: "V", Source: uss.SourceSet}, uss.SetUpsert)
		kept <- err
	}()
	r.waitQueued(2) // the abandoned one still sits in the queue, to be skipped
	release()
	require.NoError(t, <-kept)

	_, found := r.variation("gone", "c")
	require.False(t, found, "a write abandoned before a writer took it must not happen")
	_, found = r.variation("kept", "c")
	require.True(t, found)
	require.Equal(t, []int{1, 1}, r.batchSizes())
}

// Exposing decisions batched together follow the single-row rules in every case, and say
// which: a new user gets the candidate (inserted), a valid stored row is kept and counted
// whether or not it equals the candidate, a stored variation that is gone is replaced, no
// candidate and no row is nothing found, and the same user twice in one batch is decided once
// (the second time kept) and counted twice.
func TestGroupCommitBatchedActivationsKeepTheDecisionRules(t *testing.T) {
	t.Parallel()
	r := newGroupRig(t)
	ctx := context.Background()
	store := postgres.NewStore(r.pool)
	for _, a := range []uss.Assignment{
		{UserID: "kept", CampaignKey: "c", VariationName: "A", Goals: []string{"g1"}, Source: uss.SourceSet},
		{UserID: "returning", CampaignKey: "c", VariationName: "B", Source: uss.SourceBucketed},
		{UserID: "stale", CampaignKey: "c", VariationName: "Removed", Goals: []string{"g1"}, Source: uss.SourceSet},
	} {
		_, err := store.SetAssignment(ctx, acct, a, uss.SetUpsert)
		require.NoError(t, err)
	}
	release := r.occupyExposures()

	valid := []string{"A", "B"}
	cases := []struct {
		user, candidate string
		want            decision.Stored
	}{
		{"new", "B", decision.Stored{VariationName: "B", Outcome: decision.OutcomeInserted}},
		{"kept", "B", decision.Stored{VariationName: "A", Outcome: decision.OutcomeKept}},
		{"returning", "B", decision.Stored{VariationName: "B", Outcome: decision.OutcomeKept}},
		{"stale", "B", decision.Stored{VariationName: "B", Outcome: decision.OutcomeReplaced}},
		{"outside", "", decision.Stored{Outcome: decision.OutcomeNone}},
		{"new", "A", decision.Stored{VariationName: "B", Outcome: decision.OutcomeKept}}, // first writer won
	}
	type outcome struct {
		st  decision.Stored
		err error
	}
	results := make([]chan outcome, len(cases))
	for i, c := range cases {
		results[i] = make(chan outcome, 1)
		go func() {
			st, err := r.g.StoreDecision(ctx, decision.StoreParams{Account: acct,
				Key:   uss.AssignmentKey{UserID: c.user, CampaignKey: "c"},
				Valid: valid, Candidate: c.candidate, Source: uss.SourceBucketed, Expose: true})
			results[i] <- outcome{st, err}
		}()
		r.waitQueued(i + 1) // in this order, so that "new" with B is first
	}
	release()
	for i, c := range cases {
		o := <-results[i]
		require.NoError(t, o.err, c.user)
		require.Equal(t, c.want, o.st, "%s with candidate %q", c.user, c.candidate)
	}
	require.Equal(t, []int{1, len(cases)}, r.batchSizes(), "the blocker, then the cases as one batch")

	exposures := func(user string) (n int64, found bool) {
		err := r.pool.QueryRow(ctx, `SELECT exposures FROM assignments WHERE user_id = $1`, user).Scan(&n)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, false
		}
		require.NoError(t, err)
		return n, true
	}
	for user, want := range map[string]int64{"new": 2, "kept": 1, "returning": 1, "stale": 1} {
		n, found := exposures(user)
		require.True(t, found, user)
		require.Equal(t, want, n, user)
	}
	_, found := exposures("outside")
	require.False(t, found)
}

// Sets of both modes batched together: each follows its own rule, and ifAbsent sets of one new
// user all get the row of the first.
func TestGroupCommitBatchedSetsFollowTheirMode(t *testing.T) {
	t.Parallel()
	r := newGroupRig(t)
	ctx := context.Background()
	_, err := postgres.NewStore(r.pool).SetAssignment(ctx, acct,
		uss.Assignment{UserID: "stored", CampaignKey: "c", VariationName: "A", Goals: []string{"g1"}, Source: uss.SourceSet}, uss.SetUpsert)
	require.NoError(t, err)
	release := r.occupySets()

	cases := []struct {
		user, variation string
		mode            uss.SetMode
		want            string
	}{
		{"new", "A", uss.SetIfAbsent, "A"},
		{"stored", "B", uss.SetIfAbsent, "A"},
		{"new", "B", uss.SetIfAbsent, "A"},
		{"replaced", "A", uss.SetUpsert, "A"},
		{"replaced", "B", uss.SetUpsert, "B"},
	}
	type outcome struct {
		a   uss.Assignment
		err error
	}
	results := make([]chan outcome, len(cases))
	for i, c := range cases {
		results[i] = make(chan outcome, 1)
		go func() {
			a, err := r.g.SetAssignment(ctx, acct, uss.Assignment{UserID: c.user, CampaignKey: "c",
				VariationName: c.variation, Goals: []string{"g2"}, Source: uss.SourceSet}, c.mode)
			results[i] <- outcome{a, err}
		}()
		r.waitQueued(i + 1)
	}
	release()
	for i, c := range cases {
		o := <-results[i]
		require.NoError(t, o.err)
		require.Equal(t, c.want, o.a.VariationName, "%s set %s", c.user, c.variation)
	}
	require.Equal(t, []int{1, len(cases)}, r.batchSizes())
	v, _ := r.variation("stored", "c")
	require.Equal(t, "A", v)
	v, _ = r.variation("replaced", "c")
	require.Equal(t, "B", v)
}
