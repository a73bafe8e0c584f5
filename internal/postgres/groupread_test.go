package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/groupcommit"
	"github.com/uss/uss/internal/pgtest"
	"github.com/uss/uss/internal/postgres"
	"github.com/uss/uss/internal/uss"
)

// readRig is a GroupCommitted with one reader, and a way to keep the reader busy: the table
// locked by another transaction, which the reader's statement waits for. Reads handed in
// meanwhile queue, and go out together as the next batch once the lock is released.
type readRig struct {
	t       *testing.T
	pool    *pgxpool.Pool
	g       *postgres.GroupCommitted
	mu      sync.Mutex
	batches []int
}

func newReadRig(t *testing.T) *readRig {
	r := &readRig{t: t, pool: pgtest.Pool(t)}
	r.g = postgres.NewGroupCommitted(postgres.NewStore(r.pool), groupcommit.Options{
		Writers: 1, MaxBatch: 64, Timeout: 10 * time.Second,
	}, func(write string, n int) {
		if write == postgres.GroupRead {
			r.mu.Lock()
			r.batches = append(r.batches, n)
			r.mu.Unlock()
		}
	})
	t.Cleanup(r.g.Close)
	return r
}

func (r *readRig) batchSizes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.batches...)
}

func (r *readRig) set(userID, variation string) {
	_, err := r.g.SetAssignment(context.Background(), acct,
		uss.Assignment{UserID: userID, CampaignKey: "c", VariationName: variation, Source: uss.SourceSet}, uss.SetUpsert)
	require.NoError(r.t, err)
}

type readOutcome struct {
	a   uss.Assignment
	err error
}

// get hands in a read of userID's row and returns where its outcome will arrive.
func (r *readRig) get(ctx context.Context, userID string) <-chan readOutcome {
	out := make(chan readOutcome, 1)
	go func() {
		a, err := r.g.GetAssignment(ctx, acct, uss.AssignmentKey{UserID: userID, CampaignKey: "c"})
		out <- readOutcome{a, err}
	}()
	return out
}

// lockTable locks the table against every read until unlock.
func (r *readRig) lockTable() (unlock func()) {
	t, ctx := r.t, context.Background()
	tx, err := r.pool.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) }) // a failed test must not leave the reader waiting
	_, err = tx.Exec(ctx, "LOCK TABLE assignments IN ACCESS EXCLUSIVE MODE")
	require.NoError(t, err)
	return func() { require.NoError(t, tx.Rollback(ctx)) }
}

// waitReaderBlocked waits until the reader's statement waits on the locked table.
func (r *readRig) waitReaderBlocked() {
	require.Eventually(r.t, func() bool {
		var waiting int
		_ = r.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		return waiting == 1
	}, 5*time.Second, 5*time.Millisecond, "the reader waits on the locked table")
}

// occupy keeps the reader busy with a read of "blocker" until release, which checks that
// read's answer.
func (r *readRig) occupy() (release func()) {
	r.set("blocker", "Control")
	unlock := r.lockTable()
	blocked := r.get(context.Background(), "blocker")
	r.waitReaderBlocked()
	return func() {
		unlock()
		o := <-blocked
		require.NoError(r.t, o.err)
		require.Equal(r.t, "Control", o.a.VariationName)
	}
}

func (r *readRig) waitQueued(n int) {
	require.Eventually(r.t, func() bool { return r.g.Queued() == n }, 5*time.Second, time.Millisecond)
}

// Every read issued after a write was acknowledged sees that write, however many reads share
// a statement: each client writes a new variation, then reads its row back at once.
func TestGroupReadSeesEveryAcknowledgedWrite(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	var mu sync.Mutex
	largest := 0
	g := postgres.NewGroupCommitted(postgres.NewStore(pool), groupcommit.Options{Writers: 1, MaxBatch: 64},
		func(write string, n int) {
			if write == postgres.GroupRead {
				mu.Lock()
				largest = max(largest, n)
				mu.Unlock()
			}
		})
	t.Cleanup(g.Close)
	ctx := context.Background()
	const clients, rounds = 24, 30
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := uss.AssignmentKey{UserID: fmt.Sprintf("user-%d", c), CampaignKey: "c"}
			for i := range rounds {
				want := fmt.Sprintf("V-%d", i)
				if _, err := g.SetAssignment(ctx, acct, uss.Assignment{UserID: key.UserID, CampaignKey: "c",
					VariationName: want, Source: uss.SourceSet}, uss.SetUpsert); err != nil {
					errs <- err
					return
				}
				a, err := g.GetAssignment(ctx, acct, key)
				if err != nil {
					errs <- err
					return
				}
				if a.VariationName != want {
					errs <- fmt.Errorf("%s read %q after %q was acknowledged", key.UserID, a.VariationName, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Greater(t, largest, 1, "reads must have shared a statement for the test to mean anything")
}

// Reads batched together are each answered with their own row, or not found; a key the
// database refuses (a user id that is not UTF-8) fails only its own caller.
func TestGroupReadABadKeyFailsOnlyItself(t *testing.T) {
	t.Parallel()
	r := newReadRig(t)
	for i := range 6 {
		r.set(fmt.Sprintf("user-%d", i), fmt.Sprintf("V-%d", i))
	}
	release := r.occupy()
	users := []string{"user-0", "user-1", "user-2", "absent", "bad-\xff", "user-3", "user-4", "user-5"}
	outcomes := make([]<-chan readOutcome, len(users))
	for i, u := range users {
		outcomes[i] = r.get(context.Background(), u)
	}
	r.waitQueued(len(users))
	release()

	for i, u := range users {
		o := <-outcomes[i]
		switch u {
		case "absent":
			require.ErrorIs(t, o.err, uss.ErrNotFound)
		case "bad-\xff":
			require.Error(t, o.err)
			require.NotErrorIs(t, o.err, uss.ErrNotFound)
		default:
			require.NoError(t, o.err, u)
			require.Equal(t, u, o.a.UserID)
			require.Equal(t, "V-"+u[len("user-"):], o.a.VariationName)
		}
	}
	require.Equal(t, []int{1, len(users)}, r.batchSizes(), "the reads went out as one batch")
}

// A caller that gives up, whether its read waits in the queue or is being read, is answered
// at once and holds up nobody: the others of its batch get their rows.
func TestGroupReadACancelledCallerBlocksNoOne(t *testing.T) {
	t.Parallel()
	r := newReadRig(t)
	r.set("kept", "V")

	// Given up while queued.
	release := r.occupy()
	ctx, cancel := context.WithCancel(context.Background())
	gone := r.get(ctx, "kept")
	r.waitQueued(1)
	cancel()
	require.ErrorIs(t, (<-gone).err, context.Canceled)
	kept := r.get(context.Background(), "kept")
	r.waitQueued(2) // the abandoned one still sits in the queue, to be skipped
	release()
	o := <-kept
	require.NoError(t, o.err)
	require.Equal(t, "V", o.a.VariationName)

	// Given up while its batch waits for the database.
	unlock := r.lockTable()
	ctx, cancel = context.WithCancel(context.Background())
	first := r.get(ctx, "kept")
	r.waitReaderBlocked()
	others := []<-chan readOutcome{r.get(context.Background(), "kept"), r.get(context.Background(), "kept")}
	r.waitQueued(2)
	cancel()
	require.ErrorIs(t, (<-first).err, context.Canceled, "answered while the read is still held up")
	unlock()
	for _, ch := range others {
		o := <-ch
		require.NoError(t, o.err)
		require.Equal(t, "V", o.a.VariationName)
	}
	require.Equal(t, []int{1, 1, 1, 2}, r.batchSizes())
}

// Shutting down answers every read already accepted, with its row, and refuses later ones as
// unavailable.
func TestGroupReadCloseAnswersEveryAcceptedRead(t *testing.T) {
	t.Parallel()
	r := newReadRig(t)
	for i := range 5 {
		r.set(fmt.Sprintf("user-%d", i), fmt.Sprintf("V-%d", i))
	}
	release := r.occupy()
	outcomes := make([]<-chan readOutcome, 5)
	for i := range outcomes {
		outcomes[i] = r.get(context.Background(), fmt.Sprintf("user-%d", i))
	}
	r.waitQueued(5)
	closed := make(chan struct{})
	go func() { r.g.Close(); close(closed) }()
	require.Eventually(t, func() bool {
		// Until Close begins, this read queues and gives up.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		_, err := r.g.GetAssignment(ctx, acct, uss.AssignmentKey{UserID: "user-0", CampaignKey: "c"})
		return errors.Is(err, uss.ErrUnavailable)
	}, 5*time.Second, time.Millisecond, "reads after Close began are refused as unavailable")
	release()
	<-closed
	for i, ch := range outcomes {
		o := <-ch
		require.NoError(t, o.err)
		require.Equal(t, fmt.Sprintf("V-%d", i), o.a.VariationName)
	}
}
