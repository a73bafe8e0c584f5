// Package failopen keeps the rule every SDK adapter follows when uss cannot be read: the SDK
// decides as if nothing were stored (fail open), but no write reaches uss that could
// replace what could not be read, since that write would come from a decision made without
// the stored one.
//
// The SDKs call the adapter's read and then its writes from one decision, with no way to
// pass anything between them, so the guard remembers the keys whose reads failed for a
// while: a small set with a bounded size whose entries expire.
//
// A key holds entries (a VWO variation; a GrowthBook document's assignments; an
// Optimizely profile's variations; the fields of a VWO FME record). The writes let through
// meanwhile are those a later successful read of the key shows to replace nothing: a write
// that changes none of the entries that read found (and, for a write that replaces the
// stored value whole, keeps them all). A write of the very VWO variation found stored goes
// through, so goals tracked right after an outage still reach uss; an experiment added to a
// GrowthBook document or an Optimizely profile that the later read did not hold goes
// through; a variation decided during the failure over one that read found does not.
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
	// found is what the last successful read since the failure found, if read is set.
	found map[string]string
	read  bool
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
		e.until, e.found, e.read = until, nil, false
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

// ReadSucceeded records the entries a successful read of key found stored (none: nothing
// is stored), when a read of key failed within the guard's memory; otherwise it does
// nothing. The guard keeps found as it is: the caller must not change it afterwards.
func (g *Guard) ReadSucceeded(key string, found map[string]string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expire(g.now())
	if el, ok := g.byKey[key]; ok {
		e := el.Value.(*entry)
		e.found, e.read = found, true
	}
}

// WriteAllowed reports whether a write of key that upserts entries (keeping the stored
// entries it does not carry) may be sent: no read of key failed within the guard's memory,
// or a read since then succeeded and the write changes no entry that read found.
func (g *Guard) WriteAllowed(key string, entries map[string]string) bool {
	return g.allowed(key, func(found map[string]string) bool { return changesNone(entries, found) })
}

// ReplaceAllowed is WriteAllowed for a write that replaces the stored value whole: it must
// also keep every entry the read found.
func (g *Guard) ReplaceAllowed(key string, entries map[string]string) bool {
	return g.allowed(key, func(found map[string]string) bool { return keepsAll(entries, found) })
}

// changesNone: every entry of written that found holds has the same value there.
func changesNone(written, found map[string]string) bool {
	for k, v := range written {
		if stored, ok := found[k]; ok && stored != v {
			return false
		}
	}
	return true
}

// keepsAll: written holds every entry of found, with the same value.
func keepsAll(written, found map[string]string) bool {
	for k, v := range found {
		if w, ok := written[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (g *Guard) allowed(key string, safe func(found map[string]string) bool) bool {
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
	return e.read && safe(e.found)
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

// Option changes an adapter's fail-open handling; every adapter takes the same ones.
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
