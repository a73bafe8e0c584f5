package apikey

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uss/uss/internal/uss"
)

// unusedStore fails the benchmark if anything asks it: a cached resolve must not reach the
// database at all.
type unusedStore struct{ tb testing.TB }

func (s unusedStore) called(name string) error {
	s.tb.Errorf("the store's %s was called on the cached path", name)
	return errors.New("unexpected store call")
}

func (s unusedStore) EnsureAccount(context.Context, string) (uss.AccountID, error) {
	return 0, s.called("EnsureAccount")
}
func (s unusedStore) CreateKey(context.Context, uss.AccountID, string, []byte) error {
	return s.called("CreateKey")
}
func (s unusedStore) LookupKey(context.Context, string) (StoredKey, error) {
	return StoredKey{}, s.called("LookupKey")
}
func (s unusedStore) ListKeys(context.Context, string) ([]StoredKey, error) {
	return nil, s.called("ListKeys")
}
func (s unusedStore) RevokeKey(context.Context, string) error { return s.called("RevokeKey") }

// cachedResolver returns a resolver whose cache already holds key, as after a first request.
func cachedResolver(tb testing.TB, key string, account uss.AccountID) *Resolver {
	r := NewResolver(unusedStore{tb}, time.Hour)
	r.cache[sha256.Sum256([]byte(key))] = cached{account: account, expires: time.Now().Add(time.Hour)}
	return r
}

var benchKey = "uss_0123456789abcdef_" + strings.Repeat("A", 43)

// BenchmarkResolve is the authentication of every request once its key is cached: one
// SHA-256 and a read-locked map probe.
func BenchmarkResolve(b *testing.B) {
	r := cachedResolver(b, benchKey, 42)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if account, err := r.Resolve(ctx, benchKey); err != nil || account != 42 {
			b.Fatalf("Resolve = %d, %v", account, err)
		}
	}
}

// BenchmarkResolveParallel is the cached path under concurrent requests, where the cache's
// lock is shared by every request.
func BenchmarkResolveParallel(b *testing.B) {
	r := cachedResolver(b, benchKey, 42)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if account, err := r.Resolve(ctx, benchKey); err != nil || account != 42 {
				b.Errorf("Resolve = %d, %v", account, err)
				return
			}
		}
	})
}
