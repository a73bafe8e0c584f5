package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
	"github.com/uss/uss/internal/vwovectors"
)

// The golden vectors of VWO's SDKs, run through the public code path: settings uploaded with
// PUT /v1/settings, each user decided by POST /v1/variation (dryRun, so the answer is the
// bucketer's and not a stored one). decision.DecideIn runs the same vectors without HTTP
// (internal/decision); this proves the server path adds nothing and loses nothing.

// decideAll uploads file to a new account and checks every case.
func decideAll(t *testing.T, s *apitest.Server, name string, file []byte, cases []vwovectors.Case) int {
	t.Helper()
	key := s.NewKey(t, "vectors-"+name)
	putSettings(t, s, key, string(file))
	var parsed struct {
		Campaigns []struct {
			Key string `json:"key"`
		} `json:"campaigns"`
	}
	require.NoError(t, json.Unmarshal(file, &parsed))
	for _, tc := range cases {
		campaignKey := parsed.Campaigns[0].Key
		if tc.Campaign != "" {
			campaignKey = tc.Campaign
		}
		resp := s.Do(t, key, http.MethodPost, "/v1/variation",
			map[string]any{"campaignKey": campaignKey, "userId": tc.User, "dryRun": true})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		var got decided
		resp.Decode(t, &got)
		if got.VariationName != nil {
			require.Equal(t, "dry_run", got.ReasonCode, "%s %s: %s", name, tc.User, got.Reason)
		}
		var inTraffic bool
		if json.Unmarshal(tc.Variation, &inTraffic) == nil {
			// FEATURE_ROLLOUT_TRAFFIC_*: the feature is on for exactly the users in traffic.
			require.Equal(t, inTraffic, got.VariationName != nil, "%s %s (%s)", name, tc.User, got.Reason)
			continue
		}
		var want *string
		require.NoError(t, json.Unmarshal(tc.Variation, &want))
		require.Equal(t, want, got.VariationName, "%s %s %s (%s)", name, campaignKey, tc.User, got.Reason)
	}
	return len(cases)
}

func TestGoSDKVectorsThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	total := 0
	for name, set := range vwovectors.GoUserExpectations(t) {
		total += decideAll(t, s, name, set.Settings, set.Cases)
	}
	require.Equal(t, 313, total)
}

func TestNodeSDKVectorsThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	total := 0
	for name, set := range vwovectors.NodeUserExpectations(t) {
		total += decideAll(t, s, name, set.Settings, set.Cases)
	}
	require.Equal(t, 419, total)
}
