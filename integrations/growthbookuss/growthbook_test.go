package growthbookuss_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"sync"
	"testing"

	growthbook "github.com/growthbook/growthbook-golang"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/client"
	"github.com/uss/uss/integrations/growthbookuss"
	"github.com/uss/uss/integrations/internal/adaptertest"
	"github.com/uss/uss/internal/apitest"
)

// These tests run the real GrowthBook Go SDK offline (features given as JSON, nothing
// fetched) against real uss servers on a real PostgreSQL, and check what the SDK decided
// against what uss stored.

// features has two flags, each run by an experiment on the "id" attribute: checkout-button
// ("blue" is variation "control", "green" is "treatment", split by the given weights) and
// pricing-page (50/50). Sticky bucketing matches stored assignments by the variations' meta
// keys, which GrowthBook's API always sends.
func features(t testing.TB, controlWeight, treatmentWeight float64) string {
	t.Helper()
	experiment := func(key string, values []string, weights []float64, metaKeys []string) map[string]any {
		meta := make([]any, len(metaKeys))
		for i, k := range metaKeys {
			meta[i] = map[string]any{"key": k}
		}
		return map[string]any{"defaultValue": "none", "rules": []any{map[string]any{
			"key": key, "variations": values, "weights": weights, "coverage": 1, "hashAttribute": "id", "meta": meta}}}
	}
	b, err := json.Marshal(map[string]any{
		"checkout-button": experiment("checkout-exp", []string{"blue", "green"}, []float64{controlWeight, treatmentWeight},
			[]string{"control", "treatment"}),
		"pricing-page": experiment("pricing-exp", []string{"old", "new"}, []float64{0.5, 0.5}, []string{"a", "b"}),
	})
	require.NoError(t, err)
	return string(b)
}

// sdk is one SDK instance: a client with its own sticky-bucket cache, as a server has.
func sdk(t testing.TB, featuresJSON string, service growthbook.StickyBucketService) *growthbook.Client {
	t.Helper()
	opts := []growthbook.ClientOption{growthbook.WithJsonFeatures(featuresJSON),
		growthbook.WithLogger(slog.New(slog.DiscardHandler))}
	if service != nil {
		opts = append(opts, growthbook.WithStickyBucketService(service))
	}
	gb, err := growthbook.NewClient(context.Background(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = gb.Close() })
	return gb
}

// eval is the flag's value for the user, and whether the sticky bucket decided it.
func eval(t testing.TB, gb *growthbook.Client, flag, userID string) (string, bool) {
	t.Helper()
	user, err := gb.WithAttributes(growthbook.Attributes{"id": userID})
	require.NoError(t, err)
	res := user.EvalFeature(context.Background(), flag)
	v, ok := res.Value.(string)
	require.True(t, ok, "%s for %s: %#v", flag, userID, res.Value)
	return v, res.ExperimentResult != nil && res.ExperimentResult.StickyBucketUsed
}

// usersWith returns n user ids that get value of checkout-button under featuresJSON,
// decided without sticky bucketing.
func usersWith(t testing.TB, featuresJSON, value string, n int) []string {
	t.Helper()
	gb := sdk(t, featuresJSON, nil)
	var users []string
	for i := 0; len(users) < n; i++ {
		require.Less(t, i, 10000, "no users found with %s", value)
		u := fmt.Sprint("user-", i)
		if v, _ := eval(t, gb, "checkout-button", u); v == value {
			users = append(users, u)
		}
	}
	return users
}

func newStorage(t testing.TB, baseURL, apiKey string, opts ...growthbookuss.Option) (*growthbookuss.Storage, *adaptertest.ErrorLog) {
	t.Helper()
	c, err := client.New(baseURL, apiKey)
	require.NoError(t, err)
	log := &adaptertest.ErrorLog{}
	return growthbookuss.New(c, append([]growthbookuss.Option{growthbookuss.WithErrorHandler(log.Handle)}, opts...)...), log
}

// stored reads a user's document straight from uss's API, not through the adapter.
func stored(t testing.TB, s *apitest.Server, apiKey, userID string) map[string]string {
	t.Helper()
	resp := s.Do(t, apiKey, http.MethodGet, "/v1/growthbook/sticky-buckets?"+
		url.Values{"attributeName": {"id"}, "attributeValue": {userID}}.Encode(), nil)
	if resp.Status == http.StatusNotFound {
		return nil
	}
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var doc struct {
		Assignments map[string]string `json:"assignments"`
	}
	resp.Decode(t, &doc)
	return doc.Assignments
}

func TestFirstDecisionIsStoredAndAnotherServerKeepsItAfterTheWeightsChange(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	even, allToTreatment := features(t, 0.5, 0.5), features(t, 0, 1)
	controls := usersWith(t, even, "blue", 5)
	treated := usersWith(t, even, "green", 5)

	storeA, logA := newStorage(t, s.URL, apiKey)
	a := sdk(t, even, storeA)
	for _, u := range controls {
		v, sticky := eval(t, a, "checkout-button", u)
		require.Equal(t, "blue", v)
		require.False(t, sticky, "nothing was stored yet")
		require.Equal(t, map[string]string{"checkout-exp__0": "control"}, stored(t, s, apiKey, u), "%s was stored", u)
	}
	for _, u := range treated {
		v, _ := eval(t, a, "checkout-button", u)
		require.Equal(t, "green", v)
		require.Equal(t, map[string]string{"checkout-exp__0": "treatment"}, stored(t, s, apiKey, u))
	}

	// Another server: its own SDK instance (own cache), launched after the weights moved
	// everyone to treatment, and its own uss process on the same database.
	s2 := apitest.StartOn(t, s.DatabaseURL)
	storeB, logB := newStorage(t, s2.URL, apiKey)
	b := sdk(t, allToTreatment, storeB)
	withoutStorage := sdk(t, allToTreatment, nil)
	for _, u := range controls {
		v, _ := eval(t, withoutStorage, "checkout-button", u)
		require.Equal(t, "green", v, "the new weights would move %s", u)
		v, sticky := eval(t, b, "checkout-button", u)
		require.Equal(t, "blue", v, "%s keeps the stored variation", u)
		require.True(t, sticky)
		require.Equal(t, map[string]string{"checkout-exp__0": "control"}, stored(t, s, apiKey, u), "and uss still says so")
	}
	v, _ := eval(t, b, "checkout-button", "newcomer")
	require.Equal(t, "green", v)
	require.Equal(t, map[string]string{"checkout-exp__0": "treatment"}, stored(t, s, apiKey, "newcomer"),
		"a new user gets today's weights, stored")

	// A second experiment joins the user's document; the first stays.
	_, _ = eval(t, b, "pricing-page", controls[0])
	doc := stored(t, s, apiKey, controls[0])
	require.Len(t, doc, 2)
	require.Equal(t, "control", doc["checkout-exp__0"])
	require.Contains(t, []string{"a", "b"}, doc["pricing-exp__0"])
	require.Zero(t, logA.Len())
	require.Zero(t, logB.Len())
}

// rendezvous holds each save until the other instance's save arrives (see
// adaptertest.Barrier).
type rendezvous struct {
	growthbook.StickyBucketService
	*adaptertest.Barrier[map[string]string]
}

func (r rendezvous) SaveAssignments(doc *growthbook.StickyBucketAssignmentDoc) error {
	if !r.Await(maps.Clone(doc.Assignments)) {
		return errors.New("the other instance's save did not come")
	}
	return r.StickyBucketService.SaveAssignments(doc)
}

// TestTwoInstancesAddingDifferentExperimentsForOneUserAtOnceKeepBoth: two SDK instances
// (each with its own uss server) evaluate a different experiment for the same user at the
// same moment, for many users; each saves the document it read, with its own experiment
// only. Every experiment is kept.
func TestTwoInstancesAddingDifferentExperimentsForOneUserAtOnceKeepBoth(t *testing.T) {
	t.Parallel()
	const users = 100
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	s2 := apitest.StartOn(t, s.DatabaseURL)
	even := features(t, 0.5, 0.5)
	storeA, logA := newStorage(t, s.URL, apiKey)
	storeB, logB := newStorage(t, s2.URL, apiKey)
	both := adaptertest.NewBarrier[map[string]string]()
	a := sdk(t, even, rendezvous{StickyBucketService: storeA, Barrier: both})
	b := sdk(t, even, rendezvous{StickyBucketService: storeB, Barrier: both})

	for i := range users {
		u := fmt.Sprint("racer-", i)
		var wg sync.WaitGroup
		var checkout, pricing string
		wg.Go(func() { checkout, _ = eval(t, a, "checkout-button", u) })
		wg.Go(func() { pricing, _ = eval(t, b, "pricing-page", u) })
		wg.Wait()
		saved := both.Take()
		require.Len(t, saved, 2)
		require.Len(t, saved[0], 1, "each save carries only its own experiment: the race happened")
		require.Len(t, saved[1], 1)

		doc := stored(t, s, apiKey, u)
		require.Len(t, doc, 2, "%s: %v", u, doc)
		require.Equal(t, map[string]string{"blue": "control", "green": "treatment"}[checkout], doc["checkout-exp__0"])
		require.Equal(t, map[string]string{"old": "a", "new": "b"}[pricing], doc["pricing-exp__0"])
	}
	require.Zero(t, logA.Len())
	require.Zero(t, logB.Len())
}

func TestUnreachableUssFailsOpenAndNeverOverwritesTheStoredAssignment(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	ussURL, err := url.Parse(s.URL)
	require.NoError(t, err)
	proxy := apitest.NewProxy(t, ussURL.Host)
	viaProxy := "http://" + proxy.Addr()
	even, allToTreatment := features(t, 0.5, 0.5), features(t, 0, 1)
	controls := usersWith(t, even, "blue", 2)
	storeA, _ := newStorage(t, viaProxy, apiKey)
	a := sdk(t, even, storeA)
	for _, u := range controls {
		v, _ := eval(t, a, "checkout-button", u)
		require.Equal(t, "blue", v)
	}

	proxy.Break()
	storeB, logB := newStorage(t, viaProxy, apiKey)
	b := sdk(t, allToTreatment, storeB)
	// uss unreachable: the SDK still decides, as if nothing were stored, and saves nothing.
	v, _ := eval(t, b, "checkout-button", controls[0])
	require.Equal(t, "green", v)
	require.Equal(t, 2, logB.Count(client.ErrUnavailable), "its read, and the read it merges into, failed")
	require.Zero(t, logB.Count(growthbookuss.ErrWriteSkipped), "so the SDK did not try to save")

	// uss answers again when the SDK merges and saves: the save would replace the stored
	// variation with one decided without it, and is dropped.
	proxy.Restore()
	// A fresh instance, whose first read fails and whose merge read succeeds.
	storeC, logC := newStorage(t, viaProxy, apiKey)
	flaky := &failFirstRead{StickyBucketService: storeC, proxy: proxy}
	c := sdk(t, allToTreatment, flaky)
	v, _ = eval(t, c, "checkout-button", controls[1])
	require.Equal(t, "green", v)
	require.Equal(t, 1, logC.Count(client.ErrUnavailable))
	require.Equal(t, 1, logC.Count(growthbookuss.ErrWriteSkipped))
	for _, u := range controls {
		require.Equal(t, map[string]string{"checkout-exp__0": "control"}, stored(t, s, apiKey, u), "%s keeps the stored variation", u)
	}
	// An experiment the stored document does not hold may be added meanwhile: nothing is
	// replaced.
	_, _ = eval(t, c, "pricing-page", controls[1])
	require.Len(t, stored(t, s, apiKey, controls[1]), 2)
	require.Equal(t, 2, logC.Len(), "no other error")
}

// failFirstRead cuts uss for the first read only, as a short outage would.
type failFirstRead struct {
	growthbook.StickyBucketService
	proxy *apitest.Proxy
	once  sync.Once
}

func (f *failFirstRead) GetAssignments(name, value string) (*growthbook.StickyBucketAssignmentDoc, error) {
	first := false
	f.once.Do(func() { first = true })
	if first {
		f.proxy.Break()
		defer f.proxy.Restore()
	}
	return f.StickyBucketService.GetAssignments(name, value)
}

func TestGetAllAssignmentsReadsSeveralAttributesInOneCall(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	storage, log := newStorage(t, s.URL, apiKey)
	require.NoError(t, storage.SaveAssignments(&growthbook.StickyBucketAssignmentDoc{AttributeName: "id", AttributeValue: "u",
		Assignments: map[string]string{"checkout-exp__0": "control"}}))
	require.NoError(t, storage.SaveAssignments(&growthbook.StickyBucketAssignmentDoc{AttributeName: "deviceId", AttributeValue: "d",
		Assignments: map[string]string{"checkout-exp__0": "treatment"}}))
	all, err := storage.GetAllAssignments(map[string]string{"id": "u", "deviceId": "d", "company": "c"})
	require.NoError(t, err)
	require.Equal(t, growthbook.StickyBucketAssignments{
		"id||u":       {AttributeName: "id", AttributeValue: "u", Assignments: map[string]string{"checkout-exp__0": "control"}},
		"deviceId||d": {AttributeName: "deviceId", AttributeValue: "d", Assignments: map[string]string{"checkout-exp__0": "treatment"}},
	}, all)
	doc, err := storage.GetAssignments("company", "c")
	require.NoError(t, err)
	require.Nil(t, doc, "nothing stored is a nil document, not an error")
	require.Zero(t, log.Len())
}

// TestTheSameRaceLosesAnExperimentInAStoreThatReplacesDocuments: the control of the race
// test above. With GrowthBook's own in-memory service, which saves a document by replacing
// it, the same interleaving loses one of the two experiments every time.
func TestTheSameRaceLosesAnExperimentInAStoreThatReplacesDocuments(t *testing.T) {
	t.Parallel()
	const users = 20
	memory := growthbook.NewInMemoryStickyBucketService()
	both := adaptertest.NewBarrier[map[string]string]()
	even := features(t, 0.5, 0.5)
	a := sdk(t, even, rendezvous{StickyBucketService: memory, Barrier: both})
	b := sdk(t, even, rendezvous{StickyBucketService: memory, Barrier: both})
	for i := range users {
		u := fmt.Sprint("racer-", i)
		var wg sync.WaitGroup
		wg.Go(func() { eval(t, a, "checkout-button", u) })
		wg.Go(func() { eval(t, b, "pricing-page", u) })
		wg.Wait()
		require.Len(t, both.Take(), 2)
		doc, err := memory.GetAssignments("id", u)
		require.NoError(t, err)
		require.Len(t, doc.Assignments, 1, "the later save replaced the document: one experiment is lost")
	}
}
