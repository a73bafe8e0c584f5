package statsiguss_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	statsig "github.com/statsig-io/go-sdk"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/client"
	"github.com/uss/uss/integrations/internal/adaptertest"
	"github.com/uss/uss/integrations/statsiguss"
	"github.com/uss/uss/internal/apitest"
)

const experiment = "checkout_test"

func TestMain(m *testing.M) {
	// The SDK's output logger is process-wide and prints to stdout unless replaced.
	statsig.InitializeGlobalOutputLogger(statsig.OutputLoggerOptions{LogCallback: func(string, error) {}}, nil)
	os.Exit(apitest.Run(m)) // counts the exchanges validated against api/openapi.yaml
}

// specs is a download_config_specs answer with the experiment checkout_test (unit type
// userID) and company_test (unit type companyID). A unit whose bucket (0-999) is below
// controlBelow is in Control, else below testBelow in Test; active false ends the
// experiment.
func specs(active bool, controlBelow, testBelow int) string {
	exp := func(name, idType string) map[string]any {
		bucket := func(lt int) map[string]any {
			return map[string]any{"type": "user_bucket", "operator": "lt", "targetValue": lt,
				"additionalValues": map[string]any{"salt": name + "-salt"}, "idType": idType}
		}
		group := func(id, group, color string, lt int) map[string]any {
			return map[string]any{"name": id, "id": id, "groupName": group, "salt": id, "passPercentage": 100,
				"idType": idType, "isExperimentGroup": true, "returnValue": map[string]any{"color": color},
				"conditions": []any{bucket(lt)}}
		}
		return map[string]any{
			"name": name, "type": "dynamic_config", "entity": "experiment", "salt": name + "-salt",
			"enabled": true, "isActive": active, "idType": idType, "explicitParameters": []string{"color"},
			"defaultValue": map[string]any{"color": "default"},
			"rules":        []any{group("rule_control", "Control", "blue", controlBelow), group("rule_test", "Test", "green", testBelow)},
		}
	}
	b, err := json.Marshal(map[string]any{
		// LocalMode with a bootstrap needs has_updates and a time > 0 to take it.
		"has_updates": true, "time": 1700000000000,
		"feature_gates": []any{}, "layer_configs": []any{}, "layers": map[string]any{},
		"dynamic_configs": []any{exp(experiment, "userID"), exp("company_test", "companyID")},
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// offline fails every HTTP request the SDK tries, and counts them: with LocalMode there
// should be none.
type offline struct{ requests atomic.Int64 }

func (o *offline) RoundTrip(*http.Request) (*http.Response, error) {
	o.requests.Add(1)
	return nil, errors.New("the tests run the Statsig SDK offline")
}

// newSDK runs the real SDK offline on the given specs with storage (none when nil). After
// Shutdown the SDK leaves two goroutines per client behind, so tests create few.
func newSDK(t testing.TB, specsJSON string, storage *statsiguss.Storage) *statsig.Client {
	t.Helper()
	net := &offline{}
	opts := &statsig.Options{
		LocalMode:            true,
		BootstrapValues:      specsJSON,
		DisableIdList:        true,
		ConfigSyncInterval:   20 * time.Millisecond,
		LoggingInterval:      time.Hour,
		StatsigLoggerOptions: statsig.StatsigLoggerOptions{DisableAllLogging: true},
		IPCountryOptions:     statsig.IPCountryOptions{Disabled: true},
		UAParserOptions:      statsig.UAParserOptions{Disabled: true},
		Transport:            net,
	}
	if storage != nil {
		opts.UserPersistentStorage = storage
	}
	c, details := statsig.NewClientWithDetails("secret-offline-tests", opts)
	require.True(t, details.Success, "init: %v", details.Error)
	t.Cleanup(func() {
		c.Shutdown()
		require.Zero(t, net.requests.Load(), "the SDK stayed offline")
	})
	return c
}

// evaluate is the way to evaluate a sticky experiment: load the user's persisted values
// (through the adapter) and pass them in.
func evaluate(c *statsig.Client, user statsig.User, name, idType string) statsig.DynamicConfig {
	pv := c.GetUserPersistedValues(user, idType)
	return c.GetExperimentWithOptions(user, name, &statsig.GetExperimentOptions{PersistedValues: pv})
}

var (
	bucketsOnce sync.Once
	inGroup     map[string][]string
)

// usersIn returns n user ids that the even (500/1000) specs put in the group, found once
// with an SDK without storage.
func usersIn(t *testing.T, group string, n int) []string {
	t.Helper()
	bucketsOnce.Do(func() {
		c := newSDK(t, specs(true, 500, 1000), nil)
		inGroup = map[string][]string{}
		for i := 0; i < 200; i++ {
			u := fmt.Sprintf("user-%d", i)
			g := c.GetExperimentWithExposureLoggingDisabled(statsig.User{UserID: u}, experiment).GroupName
			inGroup[g] = append(inGroup[g], u)
		}
	})
	require.GreaterOrEqual(t, len(inGroup[group]), n)
	return inGroup[group][:n]
}

func newStorage(t testing.TB, baseURL, apiKey string, opts ...statsiguss.Option) (*statsiguss.Storage, *adaptertest.ErrorLog) {
	t.Helper()
	c, err := client.New(baseURL, apiKey)
	require.NoError(t, err)
	log := &adaptertest.ErrorLog{}
	return statsiguss.New(c, append([]statsiguss.Option{statsiguss.WithErrorHandler(log.Handle)}, opts...)...), log
}

// sticky is the part of a persisted value the tests compare with the SDK's result.
type sticky struct {
	Value     bool           `json:"value"`
	JSONValue map[string]any `json:"json_value"`
	RuleID    string         `json:"rule_id"`
	GroupName string         `json:"group_name"`
	Time      int64          `json:"time"`
}

// persisted reads a persisted value straight from uss's API, not through the adapter.
func persisted(t testing.TB, s *apitest.Server, apiKey, key, configName string) (sticky, bool) {
	t.Helper()
	resp := s.Do(t, apiKey, http.MethodGet, "/v1/persisted-values?"+url.Values{"key": {key}}.Encode(), nil)
	if resp.Status == http.StatusNotFound {
		return sticky{}, false
	}
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var body struct {
		Values map[string]json.RawMessage `json:"values"`
	}
	resp.Decode(t, &body)
	raw, ok := body.Values[configName]
	if !ok {
		return sticky{}, false
	}
	var v sticky
	require.NoError(t, json.Unmarshal(raw, &v))
	return v, true
}

// requireSaved checks that uss holds what the SDK returned for the user.
func requireSaved(t testing.TB, s *apitest.Server, apiKey, key string, got statsig.DynamicConfig) {
	t.Helper()
	v, ok := persisted(t, s, apiKey, key, got.Name)
	require.True(t, ok, "%s has a persisted value for %s", key, got.Name)
	require.Equal(t, got.GroupName, v.GroupName, key)
	require.Equal(t, got.RuleID, v.RuleID, key)
	require.Equal(t, got.Value, v.JSONValue, key)
	require.True(t, v.Value)
	require.Positive(t, v.Time)
}

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
