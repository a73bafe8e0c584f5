package optimizelyuss_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"sync"
	"testing"

	optly "github.com/optimizely/go-sdk/v2/pkg/client"
	"github.com/optimizely/go-sdk/v2/pkg/config"
	"github.com/optimizely/go-sdk/v2/pkg/decision"
	"github.com/optimizely/go-sdk/v2/pkg/entities"
	"github.com/optimizely/go-sdk/v2/pkg/event"
	"github.com/optimizely/go-sdk/v2/pkg/logging"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/client"
	"github.com/uss/uss/integrations/internal/adaptertest"
	"github.com/uss/uss/integrations/optimizelyuss"
	"github.com/uss/uss/internal/apitest"
)

// These tests run the real Optimizely Go SDK offline (a datafile given, events kept in
// memory, ODP off) against real uss servers on a real PostgreSQL, and check what the SDK
// decided against what uss stored.

func TestMain(m *testing.M) {
	// The SDK's logger is process-wide and prints every decision at info level.
	logging.SetLogLevel(logging.LogLevelError)
	os.Exit(apitest.Run(m))
}

// Ids of the datafile: experiment checkout_test (1001) with variations control (3001) and
// treatment (3002), behind the flag checkout_flag; experiment pricing_test (1002) with old
// (3003) and new (3004).
const (
	checkoutID, controlID, treatmentID = "1001", "3001", "3002"
	pricingID                          = "1002"
)

// datafile splits checkout_test's traffic by controlEnd (of 10000) and pricing_test's 50/50.
func datafile(t testing.TB, controlEnd int) []byte {
	t.Helper()
	experiment := func(id, key, layer string, variations [2][2]string, firstEnd int) map[string]any {
		return map[string]any{"id": id, "key": key, "status": "Running", "layerId": layer,
			"audienceIds": []string{}, "forcedVariations": map[string]any{},
			"variations": []any{
				map[string]any{"id": variations[0][0], "key": variations[0][1], "featureEnabled": true},
				map[string]any{"id": variations[1][0], "key": variations[1][1], "featureEnabled": true}},
			"trafficAllocation": []any{
				map[string]any{"entityId": variations[0][0], "endOfRange": firstEnd},
				map[string]any{"entityId": variations[1][0], "endOfRange": 10000}}}
	}
	b, err := json.Marshal(map[string]any{
		"version": "4", "projectId": "1", "accountId": "1", "revision": "1", "anonymizeIP": true, "botFiltering": false,
		"attributes": []any{}, "audiences": []any{}, "typedAudiences": []any{}, "events": []any{}, "groups": []any{},
		"rollouts": []any{},
		"featureFlags": []any{map[string]any{"id": "5001", "key": "checkout_flag", "experimentIds": []string{checkoutID},
			"rolloutId": "", "variables": []any{}}},
		"experiments": []any{
			experiment(checkoutID, "checkout_test", "2001", [2][2]string{{controlID, "control"}, {treatmentID, "treatment"}}, controlEnd),
			experiment(pricingID, "pricing_test", "2002", [2][2]string{{"3003", "old"}, {"3004", "new"}}, 5000),
		},
	})
	require.NoError(t, err)
	return b
}

// events keeps the SDK's impression events in memory, where Optimizely's servers would be.
type events struct {
	mu sync.Mutex
	n  int
}

func (e *events) DispatchEvent(event.LogEvent) (bool, error) {
	e.mu.Lock()
	e.n++
	e.mu.Unlock()
	return true, nil
}

// sdk is one SDK instance with the user profile service (none when ups is nil).
func sdk(t testing.TB, datafileJSON []byte, ups decision.UserProfileService) *optly.OptimizelyClient {
	t.Helper()
	cm, err := config.NewStaticProjectConfigManagerFromPayload(datafileJSON, logging.GetLogger("", "StaticProjectConfigManager"))
	require.NoError(t, err)
	opts := []optly.OptionFunc{optly.WithConfigManager(cm), optly.WithEventDispatcher(&events{}), optly.WithOdpDisabled(true)}
	if ups != nil {
		opts = append(opts, optly.WithUserProfileService(ups))
	}
	c, err := (&optly.OptimizelyFactory{}).Client(opts...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func activate(t testing.TB, c *optly.OptimizelyClient, experimentKey, userID string) string {
	t.Helper()
	v, err := c.Activate(experimentKey, entities.UserContext{ID: userID})
	require.NoError(t, err)
	return v
}

// usersIn returns n user ids that checkout_test buckets into variation under datafileJSON,
// without a profile service.
func usersIn(t testing.TB, datafileJSON []byte, variation string, n int) []string {
	t.Helper()
	c := sdk(t, datafileJSON, nil)
	var users []string
	for i := 0; len(users) < n; i++ {
		require.Less(t, i, 10000, "no users found in %s", variation)
		u := fmt.Sprint("user-", i)
		if activate(t, c, "checkout_test", u) == variation {
			users = append(users, u)
		}
	}
	return users
}

func newStorage(t testing.TB, baseURL, apiKey string, opts ...optimizelyuss.Option) (*optimizelyuss.Storage, *adaptertest.ErrorLog) {
	t.Helper()
	c, err := client.New(baseURL, apiKey)
	require.NoError(t, err)
	log := &adaptertest.ErrorLog{}
	return optimizelyuss.New(c, append([]optimizelyuss.Option{optimizelyuss.WithErrorHandler(log.Handle)}, opts...)...), log
}

// stored reads a user's profile straight from uss's API, as Optimizely Agent would: variation
// id by experiment id.
func stored(t testing.TB, s *apitest.Server, apiKey, userID string) map[string]string {
	t.Helper()
	resp := s.Do(t, apiKey, http.MethodPost, "/v1/optimizely/profiles/lookup", map[string]string{"user_id": userID})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var p struct {
		ExperimentBucketMap map[string]struct {
			VariationID string `json:"variation_id"`
		} `json:"experiment_bucket_map"`
	}
	resp.Decode(t, &p)
	out := map[string]string{}
	for e, d := range p.ExperimentBucketMap {
		out[e] = d.VariationID
	}
	return out
}

func TestFirstDecisionIsStoredAndAnotherServerKeepsItAfterTheAllocationChanges(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	even, allToTreatment := datafile(t, 5000), datafile(t, 0)
	controls := usersIn(t, even, "control", 5)
	treated := usersIn(t, even, "treatment", 5)

	storeA, logA := newStorage(t, s.URL, apiKey)
	a := sdk(t, even, storeA)
	for _, u := range controls {
		require.Equal(t, "control", activate(t, a, "checkout_test", u))
		require.Equal(t, map[string]string{checkoutID: controlID}, stored(t, s, apiKey, u), "%s was stored", u)
	}
	for _, u := range treated {
		require.Equal(t, "treatment", activate(t, a, "checkout_test", u))
		require.Equal(t, map[string]string{checkoutID: treatmentID}, stored(t, s, apiKey, u))
	}

	// Another server: its own SDK instance, launched after the allocation moved everyone to
	// treatment, and its own uss process on the same database. It decides flags (Decide:
	// one lookup and one save per call) where the first activated experiments.
	s2 := apitest.StartOn(t, s.DatabaseURL)
	storeB, logB := newStorage(t, s2.URL, apiKey)
	b := sdk(t, allToTreatment, storeB)
	withoutProfiles := sdk(t, allToTreatment, nil)
	for _, u := range controls {
		require.Equal(t, "treatment", activate(t, withoutProfiles, "checkout_test", u), "the new allocation would move %s", u)
		user := b.CreateUserContext(u, nil)
		require.Equal(t, "control", user.Decide("checkout_flag", nil).VariationKey, "%s keeps the stored variation", u)
		require.Equal(t, "control", activate(t, b, "checkout_test", u))
		require.Equal(t, map[string]string{checkoutID: controlID}, stored(t, s, apiKey, u), "and uss still says so")
	}
	user := b.CreateUserContext("newcomer", nil)
	require.Equal(t, "treatment", user.Decide("checkout_flag", nil).VariationKey)
	require.Equal(t, map[string]string{checkoutID: treatmentID}, stored(t, s, apiKey, "newcomer"),
		"a new user gets today's allocation, stored")

	// A second experiment joins the user's profile; the first stays.
	pricing := activate(t, b, "pricing_test", controls[0])
	profile := stored(t, s, apiKey, controls[0])
	require.Equal(t, controlID, profile[checkoutID])
	require.Equal(t, map[string]string{"old": "3003", "new": "3004"}[pricing], profile[pricingID])
	require.Zero(t, logA.Len())
	require.Zero(t, logB.Len())
}

// rendezvous holds each save until the other instance's save arrives (see
// adaptertest.Barrier).
type rendezvous struct {
	decision.UserProfileService
	*adaptertest.Barrier[map[decision.UserDecisionKey]string]
}

func (r rendezvous) Save(p decision.UserProfile) {
	if r.Await(maps.Clone(p.ExperimentBucketMap)) {
		r.UserProfileService.Save(p)
	}
}

// TestTwoInstancesAddingDifferentExperimentsForOneUserAtOnceKeepBoth: two SDK instances
// (each with its own uss server) activate a different experiment for the same user at the
// same moment, for many users; each saves the profile it looked up, with its own experiment
// only. Every experiment is kept.
func TestTwoInstancesAddingDifferentExperimentsForOneUserAtOnceKeepBoth(t *testing.T) {
	t.Parallel()
	const users = 100
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	s2 := apitest.StartOn(t, s.DatabaseURL)
	even := datafile(t, 5000)
	storeA, logA := newStorage(t, s.URL, apiKey)
	storeB, logB := newStorage(t, s2.URL, apiKey)
	both := adaptertest.NewBarrier[map[decision.UserDecisionKey]string]()
	a := sdk(t, even, rendezvous{UserProfileService: storeA, Barrier: both})
	b := sdk(t, even, rendezvous{UserProfileService: storeB, Barrier: both})
	ids := map[string]string{"control": controlID, "treatment": treatmentID, "old": "3003", "new": "3004"}

	for i := range users {
		u := fmt.Sprint("racer-", i)
		var wg sync.WaitGroup
		var checkout, pricing string
		wg.Go(func() { checkout = activate(t, a, "checkout_test", u) })
		wg.Go(func() { pricing = activate(t, b, "pricing_test", u) })
		wg.Wait()
		saved := both.Take()
		require.Len(t, saved, 2)
		require.Len(t, saved[0], 1, "each save carries only its own experiment: the race happened")
		require.Len(t, saved[1], 1)
		require.Equal(t, map[string]string{checkoutID: ids[checkout], pricingID: ids[pricing]}, stored(t, s, apiKey, u), u)
	}
	require.Zero(t, logA.Len())
	require.Zero(t, logB.Len())
}

func TestUnreachableUssFailsOpenAndNeverOverwritesTheStoredVariation(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	ussURL, err := url.Parse(s.URL)
	require.NoError(t, err)
	proxy := apitest.NewProxy(t, ussURL.Host)
	viaProxy := "http://" + proxy.Addr()
	even, allToTreatment := datafile(t, 5000), datafile(t, 0)
	controls := usersIn(t, even, "control", 2)
	storeA, _ := newStorage(t, viaProxy, apiKey)
	a := sdk(t, even, storeA)
	for _, u := range controls {
		require.Equal(t, "control", activate(t, a, "checkout_test", u))
	}

	proxy.Break()
	storeB, logB := newStorage(t, viaProxy, apiKey)
	b := sdk(t, allToTreatment, storeB)
	// uss unreachable: the SDK still decides, as if nothing were stored, and saves nothing.
	require.Equal(t, "treatment", activate(t, b, "checkout_test", controls[0]))
	user := b.CreateUserContext(controls[1], nil)
	require.Equal(t, "treatment", user.Decide("checkout_flag", nil).VariationKey)
	require.Equal(t, 2, logB.Count(client.ErrUnavailable))
	require.Equal(t, 2, logB.Count(optimizelyuss.ErrWriteSkipped))

	// Once uss answers, the stored variation is back, and an experiment the profile does not
	// hold is added: it replaces nothing.
	proxy.Restore()
	for _, u := range controls {
		require.Equal(t, "control", activate(t, b, "checkout_test", u))
		require.Equal(t, map[string]string{checkoutID: controlID}, stored(t, s, apiKey, u), "%s keeps the stored variation", u)
	}
	activate(t, b, "pricing_test", controls[0])
	require.Len(t, stored(t, s, apiKey, controls[0]), 2)
	require.Equal(t, 4, logB.Len(), "no other error")
}

// replacingProfiles keeps profiles the way the SDK's interface invites: Save replaces the
// user's profile.
type replacingProfiles struct {
	mu       sync.Mutex
	profiles map[string]map[decision.UserDecisionKey]string
}

func (r *replacingProfiles) Lookup(userID string) decision.UserProfile {
	r.mu.Lock()
	defer r.mu.Unlock()
	return decision.UserProfile{ID: userID, ExperimentBucketMap: maps.Clone(r.profiles[userID])}
}

func (r *replacingProfiles) Save(p decision.UserProfile) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.profiles[p.ID] = maps.Clone(p.ExperimentBucketMap)
}

// TestTheSameRaceLosesAnExperimentInAStoreThatReplacesProfiles: the control of the race
// test above. With a store whose save replaces the profile, the same interleaving loses one
// of the two experiments every time.
func TestTheSameRaceLosesAnExperimentInAStoreThatReplacesProfiles(t *testing.T) {
	t.Parallel()
	const users = 20
	store := &replacingProfiles{profiles: map[string]map[decision.UserDecisionKey]string{}}
	both := adaptertest.NewBarrier[map[decision.UserDecisionKey]string]()
	even := datafile(t, 5000)
	a := sdk(t, even, rendezvous{UserProfileService: store, Barrier: both})
	b := sdk(t, even, rendezvous{UserProfileService: store, Barrier: both})
	for i := range users {
		u := fmt.Sprint("racer-", i)
		var wg sync.WaitGroup
		wg.Go(func() { activate(t, a, "checkout_test", u) })
		wg.Go(func() { activate(t, b, "pricing_test", u) })
		wg.Wait()
		require.Len(t, both.Take(), 2)
		require.Len(t, store.Lookup(u).ExperimentBucketMap, 1, "the later save replaced the profile: one experiment is lost")
	}
}
