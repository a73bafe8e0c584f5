package vwofmeuss_test

import (
	"errors"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/client"
	"github.com/uss/uss/integrations/vwofmeuss"
	"github.com/uss/uss/internal/apitest"
)

// These tests run the real VWO FME Go SDK offline (settings given to Init, its events sent
// to a local sink) against real uss servers on a real PostgreSQL, and check what the SDK
// decided against what uss stored. Two clients stand for two servers' SDK instances: even,
// and allToVariation, made by another Init with the changed split.

// record is what the SDK saves for a user it bucketed into the test rule's variation
// (Default is id 1, Variation-1 id 2), after the rollout rule.
func record(userID string, variationID int) map[string]any {
	return map[string]any{"featureKey": feature, "userId": userID, "featureId": float64(1),
		"rolloutId": float64(1), "rolloutKey": feature + "_rollout", "rolloutVariationId": float64(1),
		"experimentId": float64(2), "experimentKey": feature + "_test", "experimentVariationId": float64(variationID)}
}

func TestFirstDecisionIsStoredAndAnotherServerKeepsItAfterTheSplitChanges(t *testing.T) {
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	defaults := usersWith(t, even, 10, 5)
	variations := usersWith(t, even, 11, 5)

	storeA, logA := newStorage(t, s.URL, apiKey)
	use(t, storeA)
	a := even
	for _, u := range defaults {
		require.Equal(t, int64(10), variable(t, a, u))
		r, ok := stored(t, s, apiKey, feature, u)
		require.True(t, ok, "%s was stored on the first decision", u)
		require.Equal(t, record(u, 1), r)
	}
	for _, u := range variations {
		require.Equal(t, int64(11), variable(t, a, u))
		r, _ := stored(t, s, apiKey, feature, u)
		require.Equal(t, record(u, 2), r)
	}

	// The split moves everyone to Variation-1: an SDK without storage would move them.
	use(t, noStorage{})
	for _, u := range defaults {
		require.Equal(t, int64(11), variable(t, allToVariation, u), "the new split would move %s", u)
	}

	// Another server: its own SDK instance, launched with the new split, and its own uss
	// process on the same database.
	s2 := apitest.StartOn(t, s.DatabaseURL)
	storeB, logB := newStorage(t, s2.URL, apiKey)
	counted := &counting{Connector: storeB}
	use(t, counted)
	b := allToVariation
	for _, u := range defaults {
		require.Equal(t, int64(10), variable(t, b, u), "%s keeps the stored variation", u)
		r, _ := stored(t, s, apiKey, feature, u)
		require.Equal(t, record(u, 1), r, "and uss still says so")
	}
	for _, u := range variations {
		require.Equal(t, int64(11), variable(t, b, u))
	}
	require.Equal(t, int64(10), counted.gets.Load(), "every decision read uss")
	require.Zero(t, counted.sets.Load(), "a stored experiment variation is not saved again")

	require.Equal(t, int64(11), variable(t, b, "newcomer"))
	r, ok := stored(t, s, apiKey, feature, "newcomer")
	require.True(t, ok)
	require.Equal(t, record("newcomer", 2), r, "a new user gets today's split, stored")
	require.Zero(t, logA.Len())
	require.Zero(t, logB.Len())
}

func TestUnreachableUssFailsOpenAndNeverOverwritesTheStoredRecord(t *testing.T) {
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	ussURL, err := url.Parse(s.URL)
	require.NoError(t, err)
	// The adapter reaches uss through a TCP proxy the test can cut; assertions read uss directly.
	proxy := apitest.NewProxy(t, ussURL.Host)
	viaProxy := "http://" + proxy.Addr()
	defaults := usersWith(t, even, 10, 3)
	storeA, _ := newStorage(t, viaProxy, apiKey)
	use(t, storeA)
	a := even
	for _, u := range defaults {
		require.Equal(t, int64(10), variable(t, a, u))
	}
	requireStillDefault := func() {
		t.Helper()
		for _, u := range defaults {
			r, _ := stored(t, s, apiKey, feature, u)
			require.Equal(t, record(u, 1), r, "%s keeps the stored record", u)
		}
	}

	proxy.Break()
	storeB, logB := newStorage(t, viaProxy, apiKey)
	use(t, storeB)
	b := allToVariation

	// uss unreachable: the SDK still decides, as if nothing were stored, and writes nothing.
	require.Equal(t, int64(11), variable(t, b, defaults[0]))
	require.Equal(t, int64(11), variable(t, b, "newcomer"))
	require.Equal(t, 2, logB.Count(client.ErrUnavailable), "one failed read per decision")
	require.Equal(t, 2, logB.Count(vwofmeuss.ErrWriteSkipped), "and its save dropped")

	// uss answers again between the failed read and the SDK's save: the save, carrying a
	// variation decided without the stored one, is still dropped.
	var restore sync.Once
	logB.Then(func(err error) {
		if errors.Is(err, client.ErrUnavailable) {
			restore.Do(proxy.Restore)
		}
	})
	require.Equal(t, int64(11), variable(t, b, defaults[1]))
	require.Equal(t, 3, logB.Count(client.ErrUnavailable))
	require.Equal(t, 3, logB.Count(vwofmeuss.ErrWriteSkipped))
	requireStillDefault()
	_, ok := stored(t, s, apiKey, feature, "newcomer")
	require.False(t, ok)

	// Once uss answers, the stored variation is back.
	for _, u := range defaults {
		require.Equal(t, int64(10), variable(t, b, u))
	}
	requireStillDefault()
	// A user the read found nothing for is stored: there was nothing to replace.
	require.Equal(t, int64(11), variable(t, b, "newcomer"))
	r, ok := stored(t, s, apiKey, feature, "newcomer")
	require.True(t, ok)
	require.Equal(t, record("newcomer", 2), r)
	require.Equal(t, 3, logB.Count(client.ErrUnavailable))
	require.Equal(t, 3, logB.Count(vwofmeuss.ErrWriteSkipped))
	require.Equal(t, 6, logB.Len(), "no other error")
}
