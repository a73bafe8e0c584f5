package apikey_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apikey"
	"github.com/uss/uss/internal/pgtest"
	"github.com/uss/uss/internal/postgres"
	"github.com/uss/uss/internal/uss"
)

func TestIDAcceptsOnlyWellFormedKeys(t *testing.T) {
	t.Parallel()
	good := "uss_0123456789abcdef_" + strings.Repeat("A", 43)
	id, ok := apikey.ID(good)
	require.True(t, ok)
	require.Equal(t, "0123456789abcdef", id)
	for _, bad := range []string{
		"", "uss_", good[:len(good)-1], good + "A", "xss" + good[3:],
		"uss_0123456789ABCDEF_" + strings.Repeat("A", 43), // upper-case hex is not ours
		"uss_0123456789abcdef-" + strings.Repeat("A", 43),
	} {
		_, ok := apikey.ID(bad)
		require.False(t, ok, bad)
	}
}

func TestCreatedKeysResolveToTheirAccountUntilRevoked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := postgres.NewStore(pgtest.Pool(t))
	keyA, err := apikey.Create(ctx, store, "a")
	require.NoError(t, err)
	keyA2, err := apikey.Create(ctx, store, "a")
	require.NoError(t, err)
	keyB, err := apikey.Create(ctx, store, "b")
	require.NoError(t, err)
	require.NotEqual(t, keyA, keyA2, "keys are random")

	r := apikey.NewResolver(store, time.Nanosecond) // no caching: every call asks the store
	accA, err := r.Resolve(ctx, keyA)
	require.NoError(t, err)
	accA2, err := r.Resolve(ctx, keyA2)
	require.NoError(t, err)
	accB, err := r.Resolve(ctx, keyB)
	require.NoError(t, err)
	require.Equal(t, accA, accA2, "two keys of one account")
	require.NotEqual(t, accA, accB)

	// A key with a real id but another secret is refused.
	forged := keyA[:len(keyA)-1] + "A"
	if forged == keyA {
		forged = keyA[:len(keyA)-1] + "B"
	}
	_, err = r.Resolve(ctx, forged)
	require.ErrorIs(t, err, apikey.ErrUnauthenticated)

	keys, err := store.ListKeys(ctx, "a")
	require.NoError(t, err)
	require.Len(t, keys, 2)
	for _, k := range keys {
		require.NotContains(t, keyA+keyA2, string(k.Hash), "only hashes are stored")
	}

	id, _ := apikey.ID(keyA)
	require.NoError(t, store.RevokeKey(ctx, id))
	_, err = r.Resolve(ctx, keyA)
	require.ErrorIs(t, err, apikey.ErrUnauthenticated, "a revoked key stops working")
	_, err = r.Resolve(ctx, keyA2)
	require.NoError(t, err, "the account's other key still works")
	require.ErrorIs(t, store.RevokeKey(ctx, id), uss.ErrNotFound, "revoking twice says so")
}

func TestResolverCachesWithinTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := postgres.NewStore(pgtest.Pool(t))
	key, err := apikey.Create(ctx, store, "a")
	require.NoError(t, err)
	r := apikey.NewResolver(store, time.Hour)
	_, err = r.Resolve(ctx, key)
	require.NoError(t, err)

	id, _ := apikey.ID(key)
	require.NoError(t, store.RevokeKey(ctx, id))
	_, err = r.Resolve(ctx, key)
	require.NoError(t, err, "within the TTL the cached answer stands (documented revocation delay)")
	_, err = apikey.NewResolver(store, time.Hour).Resolve(ctx, key)
	require.ErrorIs(t, err, apikey.ErrUnauthenticated, "a fresh resolver sees the revocation")
}

func TestCreateRefusesABadAccountName(t *testing.T) {
	t.Parallel()
	store := postgres.NewStore(pgtest.Pool(t))
	_, err := apikey.Create(context.Background(), store, "")
	require.ErrorIs(t, err, uss.ErrInvalidArgument)
}
