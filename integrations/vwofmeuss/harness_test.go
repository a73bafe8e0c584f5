package vwofmeuss_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	wingify "github.com/wingify/wingify-fme-go-sdk"
	"github.com/wingify/wingify-fme-go-sdk/pkg/packages/storage"

	"github.com/uss/uss/client"
	"github.com/uss/uss/integrations/internal/adaptertest"
	"github.com/uss/uss/integrations/vwofmeuss"
	"github.com/uss/uss/internal/apitest"
)

// The SDK keeps process-wide state that every Init writes and its decisions read (the
// storage connector, a logging profile read by the goroutines that send events), so a test
// that called Init while an earlier decision's events were on their way would race with
// them. Every client is therefore made once, in TestMain, before any decision, over one
// connector that each test points at the storage it wants; and the tests of this package do
// not run in parallel.

const feature = "checkout"

var (
	connector = &switchable{current: noStorage{}}
	// even splits the testing rule 50/50; allToVariation puts everyone in Variation-1.
	even, allToVariation *wingify.WingifyClient
)

func TestMain(m *testing.M) {
	// The SDK sends its impressions through its proxyUrl option to this sink, where VWO's
	// collection servers would be: nothing leaves this machine.
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	even = launch(settings(50, 50), sink.URL)
	allToVariation = launch(settings(0, 100), sink.URL)
	code := apitest.Run(m)
	sink.Close()
	os.Exit(code)
}

// settings is an FME settings file with one flag: a rollout rule open to everyone, then a
// testing rule whose variations "Default" (variable int = 10) and "Variation-1" (int = 11)
// split users by the given weights.
func settings(defaultWeight, variationWeight int) string {
	variation := func(id int, name string, weight, value int) map[string]any {
		return map[string]any{"id": id, "name": name, "weight": weight,
			"variables": []any{map[string]any{"id": 1, "key": "int", "type": "integer", "value": value}}}
	}
	b, err := json.Marshal(map[string]any{
		"version": 1, "accountId": 12345, "sdkKey": "offline-sdk-key",
		// Without it, Init sends an event whose goroutine reads what the next Init writes.
		"sdkMetaInfo": map[string]any{"wasInitializedEarlier": true},
		"features": []any{map[string]any{
			"id": 1, "key": feature, "name": "Checkout", "type": "FEATURE_FLAG", "status": "ON", "impactCampaign": map[string]any{},
			"metrics": []any{map[string]any{"id": 1, "type": "CUSTOM_GOAL", "identifier": "purchase", "mca": -1}},
			"rules": []any{
				map[string]any{"campaignId": 1, "type": "FLAG_ROLLOUT", "ruleKey": "rollout", "variationId": 1},
				map[string]any{"campaignId": 2, "type": "FLAG_TESTING", "ruleKey": "test"},
			},
		}},
		"campaigns": []any{
			map[string]any{"id": 1, "key": feature + "_rollout", "name": feature + "_rollout", "type": "FLAG_ROLLOUT",
				"status": "RUNNING", "segments": map[string]any{}, "isForcedVariationEnabled": false,
				"variations": []any{variation(1, "Rollout-rule-1", 100, 10)}},
			map[string]any{"id": 2, "key": feature + "_test", "name": feature + "_test", "type": "FLAG_TESTING",
				"status": "RUNNING", "segments": map[string]any{}, "isForcedVariationEnabled": false, "percentTraffic": 100,
				"variations": []any{variation(1, "Default", defaultWeight, 10), variation(2, "Variation-1", variationWeight, 11)}},
		},
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// launch runs the real SDK offline: settings given, events to the sink, storage the
// switchable connector.
func launch(settingsFile, sinkURL string) *wingify.WingifyClient {
	c, err := wingify.Init(map[string]interface{}{
		"sdkKey": "offline-sdk-key", "accountId": 12345, "settings": settingsFile, "storage": connector,
		"proxyUrl": sinkURL, "isUsageStatsDisabled": true,
	})
	if err != nil {
		panic(err)
	}
	return c
}

// switchable is the storage every client of the process uses; use points it at the
// storage a test wants.
type switchable struct {
	mu      sync.Mutex
	current storage.Connector
}

func (s *switchable) get() storage.Connector {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

func (s *switchable) set(c storage.Connector) {
	s.mu.Lock()
	s.current = c
	s.mu.Unlock()
}

func (s *switchable) Get(featureKey, userID string) (interface{}, error) {
	return s.get().Get(featureKey, userID)
}
func (s *switchable) Set(data map[string]interface{}) error { return s.get().Set(data) }

// use makes every client decide with c until the test ends.
func use(t testing.TB, c storage.Connector) {
	t.Helper()
	connector.set(c)
	t.Cleanup(func() { connector.set(noStorage{}) })
}

// noStorage stores nothing: the SDK with it decides as it would without storage.
type noStorage struct{}

func (noStorage) Get(string, string) (interface{}, error) { return nil, nil }
func (noStorage) Set(map[string]interface{}) error        { return nil }

// variable is the flag's "int" for the user: 10 in Default, 11 in Variation-1.
func variable(t testing.TB, c *wingify.WingifyClient, userID string) int64 {
	t.Helper()
	flag, err := c.GetFlag(feature, map[string]interface{}{"id": userID})
	require.NoError(t, err)
	require.True(t, flag.IsEnabled(), "the rollout is open to %s", userID)
	v, ok := flag.GetVariable("int", int64(0)).(int64)
	require.True(t, ok)
	return v
}

// usersWith returns n user ids that get value from c, decided without storage.
func usersWith(t testing.TB, c *wingify.WingifyClient, value int64, n int) []string {
	t.Helper()
	prev := connector.get()
	connector.set(noStorage{})
	defer connector.set(prev)
	var users []string
	for i := 0; len(users) < n; i++ {
		require.Less(t, i, 10000, "no users found with %d", value)
		u := fmt.Sprintf("user-%d", i)
		if variable(t, c, u) == value {
			users = append(users, u)
		}
	}
	return users
}

func newStorage(t testing.TB, baseURL, apiKey string, opts ...vwofmeuss.Option) (*vwofmeuss.Storage, *adaptertest.ErrorLog) {
	t.Helper()
	c, err := client.New(baseURL, apiKey)
	require.NoError(t, err)
	log := &adaptertest.ErrorLog{}
	return vwofmeuss.New(c, append([]vwofmeuss.Option{vwofmeuss.WithErrorHandler(log.Handle)}, opts...)...), log
}

// stored reads a record straight from uss's API, not through the adapter.
func stored(t testing.TB, s *apitest.Server, apiKey, featureKey, userID string) (map[string]any, bool) {
	t.Helper()
	resp := s.Do(t, apiKey, http.MethodGet, "/v1/vwo-fme/storage?featureKey="+featureKey+"&userId="+userID, nil)
	if resp.Status == http.StatusNotFound {
		return nil, false
	}
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var r map[string]any
	resp.Decode(t, &r)
	return r, true
}

// counting counts the calls that reach the storage, for tests that need to know the SDK
// asked.
type counting struct {
	storage.Connector
	gets, sets atomic.Int64
}

func (c *counting) Get(featureKey, userID string) (interface{}, error) {
	c.gets.Add(1)
	return c.Connector.Get(featureKey, userID)
}

func (c *counting) Set(data map[string]interface{}) error {
	c.sets.Add(1)
	return c.Connector.Set(data)
}
