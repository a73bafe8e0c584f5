// Package adaptertest holds what the SDK adapters' tests share: a log of what an adapter
// reports to its error handler, a barrier that makes two SDK instances' saves race, and the
// check that a README shows an example program whole.
package adaptertest

import (
	"errors"
	"sync"
	"time"
)

// ErrorLog collects what an adapter reports to its error handler.
type ErrorLog struct {
	mu   sync.Mutex
	errs []error
	then func(error)
}

// Handle is the error handler.
func (l *ErrorLog) Handle(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	then := l.then
	l.mu.Unlock()
	if then != nil {
		then(err)
	}
}

// Then runs f after each error is recorded, from then on.
func (l *ErrorLog) Then(f func(error)) {
	l.mu.Lock()
	l.then = f
	l.mu.Unlock()
}

// Count is how many recorded errors match target.
func (l *ErrorLog) Count(target error) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, err := range l.errs {
		if errors.Is(err, target) {
			n++
		}
	}
	return n
}

// Len is how many errors were recorded.
func (l *ErrorLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.errs)
}

// Barrier holds each save until another one arrives, then lets both go on together, and
// keeps what each carried. Wrapped around two SDK instances' storage, it makes both save
// what they merged from reads made before either saved: the race in which a store that
// replaces documents loses one.
type Barrier[T any] struct {
	mu      sync.Mutex
	release chan struct{}
	saved   []T
}

// NewBarrier returns a barrier with nothing arrived.
func NewBarrier[T any]() *Barrier[T] { return &Barrier[T]{release: make(chan struct{})} }

// Await records what a save carries and waits for its pair; false when none came within
// five seconds.
func (b *Barrier[T]) Await(carried T) bool {
	b.mu.Lock()
	b.saved = append(b.saved, carried)
	release := b.release
	if len(b.saved)%2 == 0 {
		close(release)
		b.release = make(chan struct{})
	}
	b.mu.Unlock()
	select {
	case <-release:
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}

// Take returns what the saves so far carried, and forgets it.
func (b *Barrier[T]) Take() []T {
	b.mu.Lock()
	defer b.mu.Unlock()
	saved := b.saved
	b.saved = nil
	return saved
}
