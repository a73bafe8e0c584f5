package httpapi_test

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
)

// The golden vectors of VWO's SDKs, run through the public code path: settings uploaded with
// PUT /v1/settings, each user decided by POST /v1/variation (dryRun, so the answer is the
// bucketer's and not a stored one). The pure bucketer runs the same vectors in
// internal/campaign; this proves the server path adds nothing and loses nothing.

const vectorsDir = "../campaign/testdata/vwo-vectors/"

func readVectorFile(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(vectorsDir + name)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}

type vectorCase struct {
	User      string          `json:"user"`
	Campaign  string          `json:"campaign"`
	Variation json.RawMessage `json:"variation"`
}

// decideAll uploads file to a new account and checks every case.
func decideAll(t *testing.T, s *apitest.Server, name string, file []byte, cases []vectorCase) int {
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
		var got struct {
			VariationName *string `json:"variationName"`
			Reason        string  `json:"reason"`
		}
		resp.Decode(t, &got)
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
	var files map[string]json.RawMessage
	readVectorFile(t, "go-sdk/settings.json", &files)
	var expectations map[string][]vectorCase
	readVectorFile(t, "go-sdk/user_expectations1.json", &expectations)
	total := 0
	for name, cases := range expectations {
		file, ok := files[name]
		if !ok {
			file, ok = files["FT_"+name] // T_*_W_10_20_30_40 are the FEATURE_TEST files FT_T_*
		}
		require.True(t, ok, name)
		total += decideAll(t, s, name, file, cases)
	}
	require.Equal(t, 313, total)
}

func TestNodeSDKVectorsThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	var files map[string]json.RawMessage
	readVectorFile(t, "node-sdk/settings.json", &files)
	var expectations map[string][]vectorCase
	readVectorFile(t, "node-sdk/user_expectations.json", &expectations)
	settingsFor := map[string]string{
		"BUCKET_ALGO_WITHOUT_SEED":                             "settingsWithoutSeedAndWithoutisOB",
		"BUCKET_ALGO_WITH_SEED":                                "settingsWithSeedAndWithoutisOB",
		"BUCKET_ALGO_WITH_SEED_WITH_isNB_WITH_isOB":            "settingsWithisNBAndWithisOB",
		"BUCKET_ALGO_WITH_SEED_WITH_isNB_WITHOUT_isOB":         "settingsWithisNBAndWithoutisOB",
		"BUCKET_ALGO_WITHOUT_SEED_FLAG_WITH_isNB_WITHOUT_isOB": "settingsWithisNBAndWithoutisOBAndWithoutSeedFlag",
		"SETTINGS_WITH_ISNB_WITH_ISNBv2":                       "settingsWithisNBAndisNBv2",
	}
	total := 0
	for name, cases := range expectations {
		fileName := name
		if mapped, ok := settingsFor[name]; ok {
			fileName = mapped
		}
		file, ok := files[fileName]
		require.True(t, ok, name)
		if name == "BUCKET_ALGO_WITH_SEED" {
			// The node SDK's test runs this file with the account flag isNB unset.
			var m map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(file, &m))
			delete(m, "isNB")
			var err error
			file, err = json.Marshal(m)
			require.NoError(t, err)
		}
		total += decideAll(t, s, name, file, cases)
	}
	require.Equal(t, 419, total)
}
