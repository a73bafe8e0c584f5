package decision_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/campaign"
	"github.com/uss/uss/internal/decision"
	"github.com/uss/uss/internal/memstore"
	"github.com/uss/uss/internal/vwovectors"
)

// The golden vectors of VWO's SDKs (internal/vwovectors) through DecideIn, the one decision
// path: each user is new to a fresh store, so every case goes the whole way (status,
// whitelisting, the store, traffic, pre-segmentation, allocation) and its variation is stored.
// The same vectors run through the HTTP API in internal/http.

// decideSet decides every case of a set and returns how many ran.
func decideSet(t *testing.T, name string, set vwovectors.Set) int {
	t.Helper()
	s := parse(t, string(set.Settings))
	svc := decision.NewService(&memstore.Store{}, nil)
	for _, tc := range set.Cases {
		c := s.Campaigns[0]
		if tc.Campaign != "" {
			c = s.Campaign(tc.Campaign)
			require.NotNil(t, c, tc.Campaign)
		}
		d, err := svc.DecideIn(context.Background(), account, c,
			decision.Request{CampaignKey: c.Key, UserID: tc.User, Expose: true})
		require.NoError(t, err)
		var inTraffic bool
		if json.Unmarshal(tc.Variation, &inTraffic) == nil {
			// FEATURE_ROLLOUT_TRAFFIC_*: the feature is on for exactly the users in traffic.
			require.Equal(t, inTraffic, d.Variation != nil, "%s %s (%s)", name, tc.User, d.Reason)
			continue
		}
		var want *string
		require.NoError(t, json.Unmarshal(tc.Variation, &want))
		require.Equal(t, want, namePointer(d.Variation), "%s %s %s (%s)", name, c.Key, tc.User, d.Reason)
		if want != nil {
			require.Equal(t, decision.ReasonBucketed, d.ReasonCode, "%s %s: a new user", name, tc.User)
		}
	}
	return len(set.Cases)
}

func TestGoSDKVectorsThroughDecideIn(t *testing.T) {
	t.Parallel()
	total := 0
	for name, set := range vwovectors.GoUserExpectations(t) {
		total += decideSet(t, name, set)
	}
	require.Equal(t, 313, total)
}

func TestNodeSDKVectorsThroughDecideIn(t *testing.T) {
	t.Parallel()
	total := 0
	for name, set := range vwovectors.NodeUserExpectations(t) {
		total += decideSet(t, name, set)
	}
	require.Equal(t, 419, total)
}

// The Go SDK's segmentation cases through DecideIn: custom_variables cases as a campaign's
// pre-segmentation (a match is bucketed, else segment_mismatch), variation_targeting_variables
// cases as a variation's whitelisting rule (a match is whitelisted).
func TestSegmentVectorsThroughDecideIn(t *testing.T) {
	t.Parallel()
	const user = "segment-vector-user"
	n := 0
	for name, tc := range vwovectors.SegmentCases(t) {
		var c *campaign.Campaign
		req := decision.Request{UserID: user}
		if tc.CustomVariables != nil {
			c = parse(t, `{"accountId": 1, "campaigns": [{"id": 1, "key": "pre", "status": "RUNNING",
				"type": "VISUAL_AB", "percentTraffic": 100, "segments": `+string(tc.DSL)+`,
				"variations": [{"id": 1, "name": "Control", "weight": 100}]}]}`).Campaigns[0]
			req.CustomVariables = tc.CustomVariables
		} else {
			// The vectors send their own _vwo_user_id, which whitelisting keeps.
			require.Contains(t, tc.VariationTargetingVariables, "_vwo_user_id", name)
			c = parse(t, `{"accountId": 1, "campaigns": [{"id": 1, "key": "wl", "status": "RUNNING",
				"type": "VISUAL_AB", "percentTraffic": 0, "isForcedVariationEnabled": true,
				"variations": [{"id": 1, "name": "Control", "weight": 100, "segments": `+string(tc.DSL)+`}]}]}`).Campaigns[0]
			req.VariationTargetingVariables = tc.VariationTargetingVariables
		}
		req.CampaignKey = c.Key
		d, err := decision.NewService(&memstore.Store{}, nil).DecideIn(context.Background(), account, c, req)
		require.NoError(t, err)
		want := map[bool]decision.ReasonCode{true: decision.ReasonBucketed, false: decision.ReasonSegmentMismatch}
		if tc.CustomVariables == nil {
			want = map[bool]decision.ReasonCode{true: decision.ReasonWhitelisted, false: decision.ReasonNotInTraffic}
		}
		require.Equal(t, want[tc.Expectation], d.ReasonCode, "%s: %s", name, d.Reason)
		n++
	}
	require.Equal(t, 318, n)
}

func namePointer(v *campaign.Variation) *string {
	if v == nil {
		return nil
	}
	return &v.Name
}
