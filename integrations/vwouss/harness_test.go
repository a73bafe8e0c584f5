package vwouss_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	vwo "github.com/wingify/vwo-go-sdk"
	"github.com/wingify/vwo-go-sdk/pkg/api"
	"github.com/wingify/vwo-go-sdk/pkg/schema"
	"github.com/wingify/vwo-go-sdk/pkg/service"

	"github.com/uss/uss/client"
	"github.com/uss/uss/integrations/internal/adaptertest"
	"github.com/uss/uss/integrations/vwouss"
	"github.com/uss/uss/internal/apitest"
)

const campaign = "checkout-test"

// settings is a VWO settings file with one running A/B campaign, processed the way
// vwo.GetSettingsFile would after a download: Launch does not compute the variations'
// bucket ranges, and without them nobody gets a variation.
func settings(t testing.TB, controlWeight, variationWeight float64) schema.SettingsFile {
	t.Helper()
	raw := fmt.Sprintf(`{"sdkKey": "offline-sdk-key", "accountId": 123456, "version": 1, "campaigns": [{
		"id": 7, "key": %q, "status": "RUNNING", "type": "VISUAL_AB", "percentTraffic": 100,
		"goals": [{"id": 1, "identifier": "signup", "type": "CUSTOM_GOAL"},
		          {"id": 2, "identifier": "purchase", "type": "REVENUE_TRACKING"}],
		"variations": [{"id": 1, "name": "Control", "changes": {}, "weight": %v},
		               {"id": 2, "name": "Variation-1", "changes": {}, "weight": %v}]}]}`,
		campaign, controlWeight, variationWeight)
	var sf schema.SettingsFile
	require.NoError(t, json.Unmarshal([]byte(raw), &sf))
	m := service.SettingsFileManager{SettingsFile: sf}
	m.Process()
	return m.GetSettingsFile()
}

// quietLogger silences the SDK, which logs every step of every decision.
type quietLogger struct{}

func (quietLogger) CustomLog(level, message string) {}

// launch runs the real SDK offline (development mode sends nothing) with storage, or with
// none when storage is nil.
func launch(t testing.TB, sf schema.SettingsFile, storage *vwouss.Storage) *api.VWOInstance {
	t.Helper()
	opts := []api.VWOOption{api.WithDevelopmentMode(), api.WithLogger(quietLogger{})}
	if storage == nil {
		inst, err := vwo.Launch(sf, opts...)
		require.NoError(t, err)
		return inst
	}
	inst, err := vwo.Launch(sf, append(opts, api.WithStorage(storage))...)
	// The SDK's validator looks for a 3-argument Set while its decisions call the 4-argument
	// one, so a working storage always gets this error with a working instance.
	require.ErrorContains(t, err, "Invalid storage object")
	require.NotNil(t, inst)
	return inst
}

func newStorage(t testing.TB, baseURL, apiKey string, opts ...vwouss.Option) (*vwouss.Storage, *adaptertest.ErrorLog) {
	t.Helper()
	c, err := client.New(baseURL, apiKey)
	require.NoError(t, err)
	log := &adaptertest.ErrorLog{}
	return vwouss.New(c, append([]vwouss.Option{vwouss.WithErrorHandler(log.Handle)}, opts...)...), log
}

// record is an assignment as uss's API returns it.
type record struct {
	UserID         string `json:"userId"`
	CampaignKey    string `json:"campaignKey"`
	VariationName  string `json:"variationName"`
	GoalIdentifier string `json:"goalIdentifier"`
}

// stored reads the user's assignment straight from uss's API, not through the adapter.
func stored(t testing.TB, s *apitest.Server, apiKey, userID string) (record, bool) {
	t.Helper()
	resp := s.Do(t, apiKey, http.MethodGet, "/v1/storage?"+url.Values{"userId": {userID}, "campaignKey": {campaign}}.Encode(), nil)
	if resp.Status == http.StatusNotFound {
		return record{}, false
	}
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var r record
	resp.Decode(t, &r)
	return r, true
}

// usersIn returns n user ids that VWO's bucketing puts in the variation under sf, found by
// asking the SDK without storage.
func usersIn(t testing.TB, sf schema.SettingsFile, variation string, n int) []string {
	t.Helper()
	inst := launch(t, sf, nil)
	var users []string
	for i := 0; len(users) < n; i++ {
		require.Less(t, i, 10000, "no users found in %s", variation)
		u := fmt.Sprintf("user-%d", i)
		if inst.GetVariationName(campaign, u, nil) == variation {
			users = append(users, u)
		}
	}
	return users
}

// fakeClock is a settable clock for the failed-read memory.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
