package vwouss_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wingify/vwo-go-sdk/pkg/schema"

	"github.com/uss/uss/client"
	"github.com/uss/uss/integrations/vwouss"
	"github.com/uss/uss/internal/apitest"
)

// These tests run the real VWO Go SDK (offline, development mode) against real uss servers
// on a real PostgreSQL, and check what the SDK decided against what uss stored.

func tracked(value bool) []schema.TrackResult {
	return []schema.TrackResult{{CampaignKey: campaign, TrackValue: value}}
}

func TestFirstActivationStoresTheVariationAndAnotherServerKeepsItAfterTheWeightsChange(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	even, allToVariation := settings(t, 50, 50), settings(t, 0, 100)
	controlUsers := usersIn(t, even, "Control", 5)
	variationUsers := usersIn(t, even, "Variation-1", 5)

	storeA, logA := newStorage(t, s.URL, apiKey)
	a := launch(t, even, storeA)
	for _, u := range controlUsers {
		require.Equal(t, "Control", a.Activate(campaign, u, nil))
	}
	for _, u := range variationUsers {
		require.Equal(t, "Variation-1", a.Activate(campaign, u, nil))
	}
	for _, u := range controlUsers {
		r, ok := stored(t, s, apiKey, u)
		require.True(t, ok, "%s was stored on first activation", u)
		require.Equal(t, record{UserID: u, CampaignKey: campaign, VariationName: "Control"}, r)
	}
	for _, u := range variationUsers {
		r, _ := stored(t, s, apiKey, u)
		require.Equal(t, "Variation-1", r.VariationName)
	}

	// Another server: its own SDK instance, launched after the weights moved everyone to
	// Variation-1, and its own uss process on the same database.
	s2 := apitest.StartOn(t, s.DatabaseURL)
	storeB, logB := newStorage(t, s2.URL, apiKey)
	b := launch(t, allToVariation, storeB)
	withoutStorage := launch(t, allToVariation, nil)
	for _, u := range controlUsers {
		require.Equal(t, "Variation-1", withoutStorage.Activate(campaign, u, nil), "the new weights would move %s", u)
		require.Equal(t, "Control", b.Activate(campaign, u, nil), "%s keeps the stored variation", u)
		require.Equal(t, "Control", b.GetVariationName(campaign, u, nil))
		r, _ := stored(t, s, apiKey, u)
		require.Equal(t, record{UserID: u, CampaignKey: campaign, VariationName: "Control"}, r, "and uss still says so")
	}
	for _, u := range variationUsers {
		require.Equal(t, "Variation-1", b.Activate(campaign, u, nil))
	}
	require.Equal(t, "Variation-1", b.Activate(campaign, "newcomer", nil))
	r, ok := stored(t, s, apiKey, "newcomer")
	require.True(t, ok)
	require.Equal(t, "Variation-1", r.VariationName, "a new user gets today's weights, stored")
	require.Zero(t, logA.Len())
	require.Zero(t, logB.Len())
}

func TestTrackAppendsTheGoalOnceAcrossServers(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	s2 := apitest.StartOn(t, s.DatabaseURL)
	even := settings(t, 50, 50)
	storeA, logA := newStorage(t, s.URL, apiKey)
	storeB, logB := newStorage(t, s2.URL, apiKey)
	a, b := launch(t, even, storeA), launch(t, even, storeB)
	const u = "user-1"
	v := a.Activate(campaign, u, nil)
	require.NotEmpty(t, v)
	want := record{UserID: u, CampaignKey: campaign, VariationName: v}

	require.Equal(t, tracked(true), a.Track(campaign, u, "signup", nil))
	want.GoalIdentifier = "signup"
	r, _ := stored(t, s, apiKey, u)
	require.Equal(t, want, r)

	require.Equal(t, tracked(false), b.Track(campaign, u, "signup", nil), "the other server learns from uss that signup converted")
	require.Equal(t, tracked(false), b.Track(campaign, u, "purchase", nil), "a revenue goal needs revenueValue")
	r, _ = stored(t, s, apiKey, u)
	require.Equal(t, want, r)

	require.Equal(t, tracked(true), b.Track(campaign, u, "purchase", map[string]any{"revenueValue": 12.5}))
	want.GoalIdentifier = "signup_vwo_purchase"
	r, _ = stored(t, s, apiKey, u)
	require.Equal(t, want, r)
	require.Equal(t, tracked(false), a.Track(campaign, u, "purchase", map[string]any{"revenueValue": 3}))

	require.Equal(t, tracked(true), a.Track(campaign, u, "signup", map[string]any{"shouldTrackReturningUser": true}),
		"a returning conversion is tracked when asked for")
	r, _ = stored(t, s, apiKey, u)
	require.Equal(t, want, r, "and stores nothing new")

	// The Go SDK buckets a user who was never activated when tracking, and stores both.
	require.Equal(t, tracked(true), b.Track(campaign, "newcomer", "signup", nil))
	r, ok := stored(t, s, apiKey, "newcomer")
	require.True(t, ok)
	require.Equal(t, "signup", r.GoalIdentifier)
	require.Equal(t, r.VariationName, a.GetVariationName(campaign, "newcomer", nil))
	require.Zero(t, logA.Len())
	require.Zero(t, logB.Len())
}

func TestConcurrentTracksFromTwoServersLoseNoGoal(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	s2 := apitest.StartOn(t, s.DatabaseURL)
	even := settings(t, 50, 50)
	storeA, logA := newStorage(t, s.URL, apiKey)
	storeB, logB := newStorage(t, s2.URL, apiKey)
	a, b := launch(t, even, storeA), launch(t, even, storeB)
	users := usersIn(t, even, "Variation-1", 10)
	users = append(users, usersIn(t, even, "Control", 10)...)
	variations := map[string]string{}
	for _, u := range users {
		variations[u] = a.Activate(campaign, u, nil)
	}

	// Each server reads the goals, appends its own and writes: without uss's merge, the
	// later write would drop the other server's goal.
	var wg sync.WaitGroup
	results := make([][]schema.TrackResult, 2*len(users))
	for i, u := range users {
		wg.Add(2)
		go func() { defer wg.Done(); results[2*i] = a.Track(campaign, u, "signup", nil) }()
		go func() {
			defer wg.Done()
			results[2*i+1] = b.Track(campaign, u, "purchase", map[string]any{"revenueValue": 1})
		}()
	}
	wg.Wait()
	for _, r := range results {
		require.Equal(t, tracked(true), r)
	}
	for _, u := range users {
		r, _ := stored(t, s, apiKey, u)
		require.Equal(t, variations[u], r.VariationName)
		require.ElementsMatch(t, []string{"signup", "purchase"}, strings.Split(r.GoalIdentifier, "_vwo_"), u)
	}
	require.Zero(t, logA.Len())
	require.Zero(t, logB.Len())
}

// Two servers decide a new user at once and both write what they decided, in the SDK's order:
// each reads (nothing stored), then sets. The second write does not replace the first: uss
// keeps the first writer's variation, and every later decision on either server returns it.
// The same holds for a whitelisted track, which the SDK stores with the whitelisted variation.
func TestASetNeverReplacesAStoredVariation(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	storeA, logA := newStorage(t, s.URL, apiKey)
	storeB, logB := newStorage(t, s.URL, apiKey)
	const u = "user-1"
	require.Equal(t, schema.UserData{}, storeA.Get(u, campaign))
	require.Equal(t, schema.UserData{}, storeB.Get(u, campaign))
	storeA.Set(u, campaign, "Control", "")
	storeB.Set(u, campaign, "Variation-1", "")
	r, _ := stored(t, s, apiKey, u)
	require.Equal(t, record{UserID: u, CampaignKey: campaign, VariationName: "Control"}, r, "the first writer wins")

	a, b := launch(t, settings(t, 100, 0), storeA), launch(t, settings(t, 0, 100), storeB)
	require.Equal(t, "Control", a.Activate(campaign, u, nil))
	require.Equal(t, "Control", b.Activate(campaign, u, nil))

	storeB.Set(u, campaign, "Variation-1", "signup") // a whitelisted track of the user
	r, _ = stored(t, s, apiKey, u)
	require.Equal(t, record{UserID: u, CampaignKey: campaign, VariationName: "Control"}, r)
	require.Equal(t, tracked(true), b.Track(campaign, u, "signup", nil))
	r, _ = stored(t, s, apiKey, u)
	require.Equal(t, record{UserID: u, CampaignKey: campaign, VariationName: "Control", GoalIdentifier: "signup"}, r,
		"goals of the stored variation still join")
	require.Zero(t, logA.Len())
	require.Zero(t, logB.Len())
}

// A known difference from uss's own decisions: the VWO Go SDK gives no variation to a user
// whose stored variation is no longer in the campaign, and does not re-bucket or write.
func TestAStoredVariationMissingFromTheSettingsGivesNoVariation(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	ghost := record{UserID: "user-1", CampaignKey: campaign, VariationName: "Retired-Variation"}
	require.Equal(t, http.StatusOK, s.Do(t, apiKey, http.MethodPost, "/v1/storage", ghost).Status)
	storage, log := newStorage(t, s.URL, apiKey)
	inst := launch(t, settings(t, 50, 50), storage)
	require.Empty(t, inst.Activate(campaign, "user-1", nil))
	require.Equal(t, tracked(false), inst.Track(campaign, "user-1", "signup", nil))
	r, _ := stored(t, s, apiKey, "user-1")
	require.Equal(t, ghost, r)
	require.Zero(t, log.Len())
}

func TestUnreachableUssFailsOpenAndNeverOverwritesTheStoredVariation(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	ussURL, err := url.Parse(s.URL)
	require.NoError(t, err)
	// The adapters reach uss through a TCP proxy the test can cut; assertions read uss directly.
	proxy := apitest.NewProxy(t, ussURL.Host)
	viaProxy := "http://" + proxy.Addr()
	even, allToVariation := settings(t, 50, 50), settings(t, 0, 100)
	controlUsers := usersIn(t, even, "Control", 3)
	storeA, _ := newStorage(t, viaProxy, apiKey)
	a := launch(t, even, storeA)
	for _, u := range controlUsers {
		require.Equal(t, "Control", a.Activate(campaign, u, nil))
	}
	requireAllStillControl := func() {
		t.Helper()
		for _, u := range controlUsers {
			r, _ := stored(t, s, apiKey, u)
			require.Equal(t, "Control", r.VariationName, "%s keeps the stored variation", u)
		}
	}

	proxy.Break()
	clock := newFakeClock()
	storeB, logB := newStorage(t, viaProxy, apiKey, vwouss.WithClock(clock.now))
	b := launch(t, allToVariation, storeB)

	// uss unreachable: the SDK still decides, as if nothing were stored, and writes nothing.
	require.Equal(t, "Variation-1", b.Activate(campaign, controlUsers[0], nil))
	require.Equal(t, "Variation-1", b.Activate(campaign, "newcomer", nil))
	require.Equal(t, tracked(true), b.Track(campaign, controlUsers[1], "signup", nil))
	require.Equal(t, 3, logB.Count(client.ErrUnavailable), "one failed read per decision")
	require.Equal(t, 4, logB.Count(vwouss.ErrWriteSkipped), "Activate writes once, Track of an unread user twice")
	require.Equal(t, 7, logB.Len())

	// uss answers again between the failed read and the SDK's write: the write, carrying a
	// variation decided without the stored one, is still dropped.
	var restore sync.Once
	logB.Then(func(err error) {
		if errors.Is(err, client.ErrUnavailable) {
			restore.Do(proxy.Restore)
		}
	})
	require.Equal(t, "Variation-1", b.Activate(campaign, controlUsers[2], nil))
	require.Equal(t, 4, logB.Count(client.ErrUnavailable))
	require.Equal(t, 5, logB.Count(vwouss.ErrWriteSkipped))
	requireAllStillControl()
	_, ok := stored(t, s, apiKey, "newcomer")
	require.False(t, ok)

	// Once uss answers, the stored variation is back, and goals of it reach uss.
	require.Equal(t, "Control", b.Activate(campaign, controlUsers[2], nil))
	require.Equal(t, tracked(true), b.Track(campaign, controlUsers[2], "signup", nil))
	r, _ := stored(t, s, apiKey, controlUsers[2])
	require.Equal(t, record{UserID: controlUsers[2], CampaignKey: campaign, VariationName: "Control", GoalIdentifier: "signup"}, r)
	require.Equal(t, "Control", b.Activate(campaign, controlUsers[0], nil))
	// A user decided while unread stays unwritten for the failed-read memory...
	require.Equal(t, "Variation-1", b.Activate(campaign, "newcomer", nil))
	_, ok = stored(t, s, apiKey, "newcomer")
	require.False(t, ok)
	require.Equal(t, 6, logB.Count(vwouss.ErrWriteSkipped))
	// ...and is written once it is over.
	clock.advance(time.Minute)
	require.Equal(t, "Variation-1", b.Activate(campaign, "newcomer", nil))
	r, ok = stored(t, s, apiKey, "newcomer")
	require.True(t, ok)
	require.Equal(t, "Variation-1", r.VariationName)
	requireAllStillControl()
	require.Equal(t, 4, logB.Count(client.ErrUnavailable))
	require.Equal(t, 6, logB.Count(vwouss.ErrWriteSkipped))
	require.Equal(t, 10, logB.Len(), "no other error")
}
