// Package failopen keeps the rule both SDK adapters follow when uss cannot be read: the SDK
// decides as if nothing were stored (fail open), but no write reaches uss for a key whose
// read failed, since that write would come from a decision made without the stored one and
// could replace a stored assignment.
//
// The SDKs call the adapter's read and then its writes from one decision, with no way to
// pass anything between them, so the guard remembers the keys whose reads failed for a
// while: a small set with a bounded size whose entries expire.
//
// One write is let through meanwhile: one that stores exactly what a later successful read
// of the key returned (the same VWO variation). It cannot replace the stored value with
// another, and uss merges the goals it carries, so goals tracked right after an outage
// still reach uss.
package failopen

import (
	"container/list"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// ErrWriteSkipped is what an adapter reports for a write it did not send because a read of
// the same key failed within the guard's memory.
var ErrWriteSkipped = errors.New("write skipped: a read of this key failed recently, and the write could replace what could not be read")

// Defaults sized for the gap they must cover, between an SDK's read and its writes in the
// same call (microseconds, a client timeout at worst), with a wide margin.
const (
	DefaultMemory  = time.Minute
	DefaultMaxKeys = 10000
)

// Guard remembers the keys whose reads failed. It is safe for concurrent use.
type Guard struct {
	memory  time.Duration
	maxKeys int
	now     func() time.Time

	mu     sync.Mutex
	byKey  map[string]*list.Element // the elements of order
	order  *list.List               // of *entry, soonest expiry first
	allTil time.Time                // when full: every key counts as failed until then
}

type entry struct {
	key   string
	until time.Time
	// stored is what the last successful read since the failure returned, if read is set.
	stored string
	read   bool
}

// New returns a guard that remembers a failed read for memory, holding at most maxKeys keys.
// now is the clock (time.Now outside tests).
func New(memory time.Duration, maxKeys int, now func() time.Time) *Guard {
	if memory <= 0 {
		memory = DefaultMemory
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Guard{memory: memory, maxKeys: maxKeys, now: now, byKey: map[string]*list.Element{}, order: list.New()}
}

// ReadFailed records that a read of key failed now. A later successful read does not clear
// it: a concurrent decision for the same key may still be about to write what it decided
// without the stored value.
func (g *Guard) ReadFailed(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.expire(now)
	until := now.Add(g.memory)
	if el, ok := g.byKey[key]; ok {
		e := el.Value.(*entry)
		e.until, e.stored, e.read = until, "", false
		g.order.MoveToBack(el)
		return
	}
	if len(g.byKey) >= g.maxKeys {
		// Forgetting a key could let its write through; refusing every write for a while
		// cannot replace anything. Many distinct failed keys means uss is down anyway.
		g.allTil = until
		return
	}
	g.byKey[key] = g.order.PushBack(&entry{key: key, until: until})
}

// ReadSucceeded records what a successful read of key found stored, when a read of key
// failed within the guard's memory; otherwise it does nothing.
func (g *Guard) ReadSucceeded(key, stored string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expire(g.now())
	if el, ok := g.byKey[key]; ok {
		e := el.Value.(*entry)
		e.stored, e.read = stored, true
	}
}

// WriteAllowed reports whether a write of key that stores value may be sent: no read of key
// failed within the guard's memory, or a read since then found value stored.
func (g *Guard) WriteAllowed(key, value string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if now.Before(g.allTil) {
		return false
	}
	g.expire(now)
	el, failed := g.byKey[key]
	if !failed {
		return true
	}
	e := el.Value.(*entry)
	return e.read && e.stored == value
}

// expire drops the entries whose time is over; they are in expiry order, oldest first.
func (g *Guard) expire(now time.Time) {
	for el := g.order.Front(); el != nil; el = g.order.Front() {
		e := el.Value.(*entry)
		if now.Before(e.until) {
			return
		}
		g.order.Remove(el)
		delete(g.byKey, e.key)
	}
}

// Len is how many keys the guard remembers now.
func (g *Guard) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expire(g.now())
	return len(g.byKey)
}

// Option changes an adapter's fail-open handling; both adapters take the same ones.
type Option func(*options)

type options struct {
	onError func(error)
	memory  time.Duration
	maxKeys int
	now     func() time.Time
}

// WithErrorHandler receives the errors the SDK cannot be told about (nil: none).
func WithErrorHandler(f func(error)) Option { return func(o *options) { o.onError = f } }

// WithFailedReadMemory sets the guard's memory and size.
func WithFailedReadMemory(d time.Duration, maxKeys int) Option {
	return func(o *options) { o.memory, o.maxKeys = d, maxKeys }
}

// WithClock replaces time.Now (for tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Apply builds an adapter's guard and error handler from its options. By default errors are
// logged as warnings with slog.Default under the adapter's name.
func Apply(name string, opts []Option) (*Guard, func(error)) {
	o := options{
		onError: func(err error) { slog.Default().Warn(name, "error", err) },
		memory:  DefaultMemory,
		maxKeys: DefaultMaxKeys,
		now:     time.Now,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.onError == nil {
		o.onError = func(error) {}
	}
	return New(o.memory, o.maxKeys, o.now), o.onError
}
