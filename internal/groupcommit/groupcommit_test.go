package groupcommit_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/groupcommit"
)

// ledger is a Flush that records every item it wrote, in batches, and can be held so that a
// test controls when a batch completes.
type ledger struct {
	mu        sync.Mutex
	batches   [][]int
	deadlines []time.Time // of each batch's context
	written   map[int]bool
	hold      chan struct{} // when non-nil, each flush waits until it is closed
	started   chan int      // when non-nil, told the size of each batch as it starts
}

func newLedger() *ledger { return &ledger{written: map[int]bool{}} }

func (l *ledger) flush(ctx context.Context, items []int) []groupcommit.Result[string] {
	if l.started != nil {
		l.started <- len(items)
	}
	if l.hold != nil {
		<-l.hold
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batches = append(l.batches, append([]int(nil), items...))
	deadline, _ := ctx.Deadline()
	l.deadlines = append(l.deadlines, deadline)
	out := make([]groupcommit.Result[string], len(items))
	for i, it := range items {
		if it < 0 { // a negative item is a bad row: it fails alone
			out[i].Err = fmt.Errorf("item %d refused", it)
			continue
		}
		l.written[it] = true
		out[i].Value = fmt.Sprintf("wrote %d", it)
	}
	return out
}

func (l *ledger) wasWritten(it int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.written[it]
}

func TestEveryCallerGetsItsOwnResult(t *testing.T) {
	l := newLedger()
	b := groupcommit.New(l.flush, groupcommit.Options{Writers: 2, MaxBatch: 8})
	defer b.Close()

	var wg sync.WaitGroup
	for i := -5; i < 100; i++ {
		wg.Go(func() {
			v, err := b.Do(context.Background(), i)
			if i < 0 {
				require.EqualError(t, err, fmt.Sprintf("item %d refused", i))
				return
			}
			require.NoError(t, err)
			require.Equal(t, fmt.Sprintf("wrote %d", i), v)
		})
	}
	wg.Wait()
	for i := range 100 {
		require.True(t, l.wasWritten(i), "item %d", i)
	}
}

func TestItemsQueuedWhileAWriterIsBusyGoOutAsOneBatch(t *testing.T) {
	l := newLedger()
	l.hold = make(chan struct{})
	l.started = make(chan int, 10)
	b := groupcommit.New(l.flush, groupcommit.Options{Writers: 1, MaxBatch: 4})
	defer b.Close()

	var wg sync.WaitGroup
	wg.Go(func() { _, _ = b.Do(context.Background(), 0) })
	require.Equal(t, 1, <-l.started, "a lone item is written at once, not held for company")
	for i := 1; i <= 6; i++ {
		wg.Go(func() { _, _ = b.Do(context.Background(), i) })
	}
	waitFor(t, func() bool { return b.Queued() == 6 })
	close(l.hold)
	require.Equal(t, 4, <-l.started, "the next batch takes what queued, up to MaxBatch")
	require.Equal(t, 2, <-l.started)
	wg.Wait()
}

func TestACallerThatGivesUpBeforeItsItemIsTakenWritesNothing(t *testing.T) {
	l := newLedger()
	l.hold = make(chan struct{})
	l.started = make(chan int, 10)
	b := groupcommit.New(l.flush, groupcommit.Options{Writers: 1, MaxBatch: 4})
	defer b.Close()

	var wg sync.WaitGroup
	wg.Go(func() { _, _ = b.Do(context.Background(), 1) })
	<-l.started // the only writer is now busy with item 1

	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error)
	go func() {
		_, err := b.Do(ctx, 2)
		gaveUp <- err
	}()
	waitFor(t, func() bool { return b.Queued() == 1 })
	cancel()
	require.ErrorIs(t, <-gaveUp, context.Canceled)

	wg.Go(func() { _, _ = b.Do(context.Background(), 3) })
	waitFor(t, func() bool { return b.Queued() == 2 }) // item 2's husk and item 3
	close(l.hold)
	wg.Wait()
	b.Close()
	require.False(t, l.wasWritten(2), "an abandoned item must never be written")
	require.True(t, l.wasWritten(3))
	require.Equal(t, [][]int{{1}, {3}}, l.batches)
}

// A caller is never kept past its context: if it ends while the item is being written, the
// caller hears at once that the outcome is unknown (the write goes on, and here commits).
func TestACallerWhoseItemIsInFlightIsToldTheOutcomeIsUnknownWhenItsContextEnds(t *testing.T) {
	l := newLedger()
	l.hold = make(chan struct{})
	l.started = make(chan int, 1)
	b := groupcommit.New(l.flush, groupcommit.Options{Writers: 1, MaxBatch: 4})
	defer b.Close()

	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() {
		_, err := b.Do(ctx, 7)
		got <- err
	}()
	<-l.started
	cancel() // the item is being written
	err := <-got
	require.ErrorIs(t, err, groupcommit.ErrOutcomeUnknown)
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, l.wasWritten(7), "answered while the write was still going on")
	close(l.hold)
	b.Close()
	require.True(t, l.wasWritten(7), "the write went on: the outcome was indeed unknown")
}

func TestACallerWhoWaitsGetsTheOutcomeOfItsBatch(t *testing.T) {
	l := newLedger()
	l.hold = make(chan struct{})
	l.started = make(chan int, 1)
	b := groupcommit.New(l.flush, groupcommit.Options{Writers: 1, MaxBatch: 4})
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	type outcome struct {
		v   string
		err error
	}
	got := make(chan outcome, 1)
	go func() {
		v, err := b.Do(ctx, 7)
		got <- outcome{v, err}
	}()
	<-l.started
	close(l.hold)
	o := <-got
	require.NoError(t, o.err)
	require.Equal(t, "wrote 7", o.v)
}

// A batch's flush gets no more time than the last of its callers' deadlines (nobody waits for
// the outcome after that), and never more than Options.Timeout.
func TestAFlushGetsNoMoreTimeThanItsLastCaller(t *testing.T) {
	l := newLedger()
	l.hold = make(chan struct{})
	l.started = make(chan int, 10)
	b := groupcommit.New(l.flush, groupcommit.Options{Writers: 1, MaxBatch: 4, Timeout: time.Hour})
	defer b.Close()

	var wg sync.WaitGroup
	do := func(item int, deadline time.Time) {
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if !deadline.IsZero() {
			ctx, cancel = context.WithDeadline(ctx, deadline)
		}
		wg.Go(func() {
			defer cancel()
			_, _ = b.Do(ctx, item)
		})
	}
	start := time.Now()
	do(1, time.Time{}) // keeps the writer busy; no deadline: the whole Timeout
	<-l.started
	soon, later := start.Add(10*time.Minute), start.Add(20*time.Minute)
	do(2, soon)
	do(3, later)
	waitFor(t, func() bool { return b.Queued() == 2 })
	close(l.hold)
	wg.Wait()
	b.Close()

	require.Equal(t, [][]int{{1}, {2, 3}}, sortedBatches(l))
	require.WithinRange(t, l.deadlines[0], start.Add(time.Hour), time.Now().Add(time.Hour))
	require.Equal(t, later, l.deadlines[1], "the last caller's deadline")
}

func sortedBatches(l *ledger) [][]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([][]int, len(l.batches))
	for i, batch := range l.batches {
		out[i] = append([]int(nil), batch...)
		slices.Sort(out[i])
	}
	return out
}

func TestCloseWritesEverythingAcceptedAndRefusesTheRest(t *testing.T) {
	l := newLedger()
	l.hold = make(chan struct{})
	l.started = make(chan int, 100)
	b := groupcommit.New(l.flush, groupcommit.Options{Writers: 2, MaxBatch: 3})

	results := make(chan error, 20)
	for i := range 20 {
		go func() {
			_, err := b.Do(context.Background(), i)
			results <- err
		}()
	}
	inFlight := <-l.started + <-l.started // both writers hold a batch
	waitFor(t, func() bool { return b.Queued() == 20-inFlight })
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	close(l.hold)
	<-closed
	for range 20 {
		require.NoError(t, <-results)
	}
	for i := range 20 {
		require.True(t, l.wasWritten(i), "accepted item %d written before Close returned", i)
	}

	_, err := b.Do(context.Background(), 99)
	require.ErrorIs(t, err, groupcommit.ErrClosed)
	require.False(t, l.wasWritten(99))
	b.Close() // twice is fine
}

func TestAFlushThatForgetsAnItemFailsItInsteadOfHangingIt(t *testing.T) {
	short := func(_ context.Context, items []int) []groupcommit.Result[int] {
		return make([]groupcommit.Result[int], len(items)-1)
	}
	b := groupcommit.New(short, groupcommit.Options{})
	defer b.Close()
	_, err := b.Do(context.Background(), 1)
	require.Error(t, err)
}

func TestAnEndedContextIsRefusedBeforeQueueing(t *testing.T) {
	l := newLedger()
	b := groupcommit.New(l.flush, groupcommit.Options{})
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.Do(ctx, 1)
	require.ErrorIs(t, err, context.Canceled)
	b.Close()
	require.False(t, l.wasWritten(1))
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
