package apikey

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/uss/uss/internal/uss"
)

// maxCached bounds the cache; past it the cache starts over, which costs one lookup per key.
const maxCached = 10000

// Resolver resolves keys to accounts, caching successful lookups for ttl so that the hot path
// does no database round trip. A revoked key therefore stops working within ttl. Failed
// lookups are not cached: a wrong key costs a lookup, and a key created a moment ago works.
type Resolver struct {
	store Store
	ttl   time.Duration
	now   func() time.Time

	mu    sync.RWMutex
	cache map[[sha256.Size]byte]cached
}

type cached struct {
	account uss.AccountID
	expires time.Time
}

// NewResolver returns a Resolver over store.
func NewResolver(store Store, ttl time.Duration) *Resolver {
	return &Resolver{store: store, ttl: ttl, now: time.Now, cache: map[[sha256.Size]byte]cached{}}
}

// Resolve returns the key's account, ErrUnauthenticated, or a storage error (for example
// uss.ErrUnavailable, which must not be reported as a bad key).
func (r *Resolver) Resolve(ctx context.Context, key string) (uss.AccountID, error) {
	// The cache is keyed by the key's hash, so raw keys are not held in memory and a map
	// probe compares digests, not secrets.
	digest := sha256.Sum256([]byte(key))
	now := r.now()
	r.mu.RLock()
	c, ok := r.cache[digest]
	r.mu.RUnlock()
	if ok && now.Before(c.expires) {
		return c.account, nil
	}
	account, err := verify(ctx, r.store, key, digest)
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	if len(r.cache) >= maxCached {
		clear(r.cache)
	}
	r.cache[digest] = cached{account: account, expires: now.Add(r.ttl)}
	r.mu.Unlock()
	return account, nil
}
