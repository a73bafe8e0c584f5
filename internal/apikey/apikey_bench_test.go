package apikey_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uss/uss/internal/apikey"
	"github.com/uss/uss/internal/pgtest"
	"github.com/uss/uss/internal/postgres"
)

// BenchmarkResolveMiss is authentication when the cache cannot answer: a key not cached yet
// (or expired) costs a lookup in PostgreSQL, and so does every request with an unknown key,
// since failures are not cached.
func BenchmarkResolveMiss(b *testing.B) {
	ctx := context.Background()
	store := postgres.NewStore(pgtest.Pool(b))
	key, err := apikey.Create(ctx, store, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("known key not cached", func(b *testing.B) {
		r := apikey.NewResolver(store, 0) // a zero TTL: every cached entry is stale at once
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Resolve(ctx, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unknown key", func(b *testing.B) {
		unknown := "uss_0000000000000000_" + strings.Repeat("A", 43)
		r := apikey.NewResolver(store, time.Hour)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Resolve(ctx, unknown); !errors.Is(err, apikey.ErrUnauthenticated) {
				b.Fatalf("Resolve of an unknown key = %v, want ErrUnauthenticated", err)
			}
		}
	})
}
