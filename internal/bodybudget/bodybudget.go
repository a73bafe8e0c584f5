// Package bodybudget bounds the bytes of request bodies one process holds at once. Each body
// is read whole into memory before it is checked and decoded, so without a bound the memory a
// process needs grows with the number of large bodies clients send at the same time; with one,
// a request whose body does not fit waits a moment for others to finish, then is refused.
package bodybudget

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrExhausted: the budget had no room for the body within the wait.
var ErrExhausted = errors.New("the request bodies being held fill the budget")

// Budget is a number of bytes shared by every request of a process. Unlike a FIFO semaphore,
// it lets a small body through while a large one waits for room, so that a few large uploads
// do not hold up ordinary requests.
type Budget struct {
	size int64
	wait time.Duration

	mu    sync.Mutex
	held  int64
	freed chan struct{} // closed, and replaced, whenever bytes are released
}

// New makes a budget of size bytes; a request waits at most wait for room.
func New(size int64, wait time.Duration) *Budget {
	return &Budget{size: size, wait: wait, freed: make(chan struct{})}
}

// Size is the budget's total in bytes.
func (b *Budget) Size() int64 { return b.size }

// Held is the bytes held now.
func (b *Budget) Held() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held
}

// Acquire takes n bytes, waiting until they are free, the wait is over (ErrExhausted) or ctx is
// done (its error). More than the whole budget is never granted.
func (b *Budget) Acquire(ctx context.Context, n int64) error {
	if n <= 0 {
		return nil
	}
	if n > b.size {
		return ErrExhausted
	}
	var timer *time.Timer
	for {
		b.mu.Lock()
		if b.held+n <= b.size {
			b.held += n
			b.mu.Unlock()
			if timer != nil {
				timer.Stop()
			}
			return nil
		}
		freed := b.freed
		b.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(b.wait)
			defer timer.Stop()
		}
		select {
		case <-freed:
		case <-timer.C:
			return ErrExhausted
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Release gives back n bytes taken by Acquire.
func (b *Budget) Release(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.held -= n
	if b.held < 0 {
		panic("bodybudget: released more than was acquired")
	}
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}
