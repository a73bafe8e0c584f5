// Package groupcommit turns many concurrent small writes into few large ones. Callers hand
// in one item each and wait; a few writers take whatever has queued (up to a size bound) and
// write it in one round trip, then answer every caller with its own result. There is no
// timer: while the writers are busy the queue fills, so the batch size follows the load by
// itself: one item at a time when the service is quiet (no added latency), large batches
// when it is not.
//
// The guarantees callers rely on: a caller is answered only with the outcome of the write
// that carried its item (success means committed); an item whose caller gave up before a
// writer took it is never written; a caller whose context ends while its item is being
// written is answered at once with ErrOutcomeUnknown, never later than its context allows;
// Close writes everything accepted before it returns.
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed answers items handed in after Close began: nothing was written.
var ErrClosed = errors.New("group commit: closed")

// ErrOutcomeUnknown answers a caller whose context ended while a writer was writing its item:
// the write goes on, and may or may not commit. It wraps the context's error.
var ErrOutcomeUnknown = errors.New("group commit: gave up waiting for a write in flight")

// Result is the outcome of one item.
type Result[R any] struct {
	Value R
	Err   error
}

// Flush writes a batch and returns one result per item, in the batch's order. It decides
// itself how one failing item affects the others; a Flush that wrote nothing for an item must
// say so with an error.
type Flush[T, R any] func(ctx context.Context, items []T) []Result[R]

// Options size a Batcher.
type Options struct {
	// Writers is how many batches may be in flight at once (at least 1).
	Writers int
	// MaxBatch bounds the items of one batch (at least 1).
	MaxBatch int
	// OnBatch, when set, is told the size of every batch as it is written (for metrics).
	OnBatch func(items int)
	// Timeout bounds one Flush (5s when unset). A batch's Flush is also given no more time
	// than the last of its callers' deadlines: past them, nobody waits for the outcome.
	Timeout time.Duration
}

// defaultTimeout bounds a Flush when Options leave it unset.
const defaultTimeout = 5 * time.Second

// item states: a writer takes an item only if its caller has not given up, and a caller gives
// up only if no writer has taken the item.
const (
	queued int32 = iota
	taken
	abandoned
)

type pending[T, R any] struct {
	item     T
	deadline time.Time // the caller's; zero when it has none
	state    atomic.Int32
	done     chan Result[R] // buffered: a writer never waits for a caller
}

// Batcher runs the writers. Make one with New; Close it before closing what Flush writes to.
type Batcher[T, R any] struct {
	flush Flush[T, R]
	opts  Options
	queue chan *pending[T, R]

	mu      sync.RWMutex // held for reading while handing in, for writing by Close
	closed  bool
	writers sync.WaitGroup
}

// New starts the writers.
func New[T, R any](flush Flush[T, R], opts Options) *Batcher[T, R] {
	opts.Writers = max(opts.Writers, 1)
	opts.MaxBatch = max(opts.MaxBatch, 1)
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	b := &Batcher[T, R]{
		flush: flush,
		opts:  opts,
		// Room for a few full batches per writer; beyond that callers wait to hand in, which
		// is the back-pressure a full database should exert.
		queue: make(chan *pending[T, R], 4*opts.Writers*opts.MaxBatch),
	}
	for range opts.Writers {
		b.writers.Add(1)
		go b.write()
	}
	return b
}

// Do hands in one item and waits for its result, no longer than ctx allows. If ctx ends
// before a writer took the item, the item is dropped and ctx's error returned: nothing was
// written. If it ends while the item is being written, Do returns ErrOutcomeUnknown (wrapping
// ctx's error) unless the result is already there.
func (b *Batcher[T, R]) Do(ctx context.Context, item T) (R, error) {
	p := &pending[T, R]{item: item, done: make(chan Result[R], 1)}
	p.deadline, _ = ctx.Deadline()
	var zero R
	if err := b.handIn(ctx, p); err != nil {
		return zero, err
	}
	select {
	case r := <-p.done:
		return r.Value, r.Err
	case <-ctx.Done():
		if p.state.CompareAndSwap(queued, abandoned) {
			return zero, ctx.Err()
		}
		select {
		case r := <-p.done: // answered as the context ended: the truth is known
			return r.Value, r.Err
		default:
			return zero, fmt.Errorf("%w: %w", ErrOutcomeUnknown, ctx.Err())
		}
	}
}

func (b *Batcher[T, R]) handIn(ctx context.Context, p *pending[T, R]) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case b.queue <- p:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Queued is how many items wait for a writer (for metrics and tests).
func (b *Batcher[T, R]) Queued() int { return len(b.queue) }

// Close stops accepting items, writes every item already accepted, and returns when the last
// batch is answered. It is safe to call more than once.
func (b *Batcher[T, R]) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue) // no sender is left: senders hold the read lock
	}
	b.mu.Unlock()
	b.writers.Wait()
}

// write is one writer: take an item (waiting), add whatever else is queued, write them.
func (b *Batcher[T, R]) write() {
	defer b.writers.Done()
	batch := make([]*pending[T, R], 0, b.opts.MaxBatch)
	items := make([]T, 0, b.opts.MaxBatch)
	for p := range b.queue {
		batch = take(batch[:0], p)
	fill:
		for len(batch) < b.opts.MaxBatch {
			select {
			case p, ok := <-b.queue:
				if !ok {
					break fill
				}
				batch = take(batch, p)
			default:
				break fill
			}
		}
		if len(batch) == 0 {
			continue
		}
		items = items[:0]
		for _, p := range batch {
			items = append(items, p.item)
		}
		b.run(batch, items)
	}
}

// take adds p to the batch unless its caller has given up.
func take[T, R any](batch []*pending[T, R], p *pending[T, R]) []*pending[T, R] {
	if p.state.CompareAndSwap(queued, taken) {
		batch = append(batch, p)
	}
	return batch
}

func (b *Batcher[T, R]) run(batch []*pending[T, R], items []T) {
	if b.opts.OnBatch != nil {
		b.opts.OnBatch(len(items))
	}
	ctx, cancel := context.WithDeadline(context.Background(), flushDeadline(batch, time.Now().Add(b.opts.Timeout)))
	defer cancel()
	results := b.flush(ctx, items)
	for i, p := range batch {
		r := Result[R]{Err: errors.New("group commit: flush returned no result for this item")}
		if i < len(results) {
			r = results[i]
		}
		p.done <- r
	}
}

// flushDeadline is the latest of the batch's callers' deadlines, at most limit: once every
// caller has stopped waiting there is no one to answer. A caller without a deadline (Close
// draining, a background task) gets the whole limit.
func flushDeadline[T, R any](batch []*pending[T, R], limit time.Time) time.Time {
	var latest time.Time
	for _, p := range batch {
		if p.deadline.IsZero() {
			return limit
		}
		if p.deadline.After(latest) {
			latest = p.deadline
		}
	}
	if latest.Before(limit) {
		return latest
	}
	return limit
}
