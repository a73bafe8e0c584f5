package campaign_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/bucketing"
	"github.com/uss/uss/internal/campaign"
)

// whitelistCampaign has three variations whose whitelisting rules match on
// the variable "group".
func whitelistCampaign(t *testing.T, extra string) *campaign.Campaign {
	t.Helper()
	s := mustParse(t, []byte(`{"accountId": 123456, "campaigns": [{"id": 42, "key": "wl", "status": "RUNNING",
		"type": "VISUAL_AB", "percentTraffic": 100, "isForcedVariationEnabled": true`+extra+`,
		"variations": [
			{"id": 1, "name": "Control", "weight": 10, "segments": {"or": [{"custom_variable": {"group": "wildcard(*a*)"}}]}},
			{"id": 2, "name": "V1", "weight": 20, "segments": {"or": [{"custom_variable": {"group": "wildcard(*b*)"}}]}},
			{"id": 3, "name": "V2", "weight": 70, "segments": {"or": [{"user": "alice, bob"}]}}]}]}`))
	return s.Campaigns[0]
}

func TestWhitelistSingleMatchWins(t *testing.T) {
	t.Parallel()
	c := whitelistCampaign(t, "")
	require.Equal(t, "Control", c.Whitelist("u1", map[string]any{"group": "a"}).Name)
	require.Equal(t, "V1", c.Whitelist("u1", map[string]any{"group": "b"}).Name)
	require.Nil(t, c.Whitelist("u1", map[string]any{"group": "z"}))
	require.Nil(t, c.Whitelist("u1", nil))
}

func TestWhitelistInjectsTheUserID(t *testing.T) {
	t.Parallel()
	c := whitelistCampaign(t, "")
	require.Equal(t, "V2", c.Whitelist("alice", nil).Name)
	// As in the Go SDK, an id the caller sends is kept.
	require.Nil(t, c.Whitelist("alice", map[string]any{"_vwo_user_id": "carol"}))
	require.Equal(t, "V2", c.Whitelist("carol", map[string]any{"_vwo_user_id": "bob"}).Name)
}

func TestWhitelistRulesCanTestTheInjectedIDAsAVariable(t *testing.T) {
	t.Parallel()
	s := mustParse(t, []byte(`{"accountId": 1, "campaigns": [{"id": 1, "key": "c", "status": "RUNNING",
		"type": "VISUAL_AB", "percentTraffic": 100, "isForcedVariationEnabled": true,
		"variations": [{"id": 1, "name": "Control", "weight": 50},
			{"id": 2, "name": "QA", "weight": 50, "segments": {"custom_variable": {"_vwo_user_id": "regex(^qa-)"}}}]}]}`))
	c := s.Campaigns[0]
	require.Equal(t, "QA", c.Whitelist("qa-7", nil).Name)
	require.Nil(t, c.Whitelist("customer-7", nil))
}

func TestWhitelistNeedsForcedVariationEnabled(t *testing.T) {
	t.Parallel()
	s := mustParse(t, []byte(`{"accountId": 1, "campaigns": [{"id": 1, "key": "c", "status": "RUNNING",
		"type": "VISUAL_AB", "percentTraffic": 100,
		"variations": [{"id": 1, "name": "Control", "weight": 100, "segments": {"user": "alice"}}]}]}`))
	require.Nil(t, s.Campaigns[0].Whitelist("alice", nil))
}

func TestWhitelistWithUserListUsesTheVWOUUID(t *testing.T) {
	t.Parallel()
	s := mustParse(t, []byte(`{"accountId": 123456, "campaigns": [{"id": 1, "key": "c", "status": "RUNNING",
		"type": "VISUAL_AB", "percentTraffic": 100, "isForcedVariationEnabled": true, "isUserListEnabled": true,
		"variations": [{"id": 1, "name": "Control", "weight": 50},
			{"id": 2, "name": "V1", "weight": 50, "segments": {"user": "D8E56BFF89A75539B46C1FECD3C97D7C"}}]}]}`))
	c := s.Campaigns[0]
	require.Equal(t, "V1", c.Whitelist("user-1", nil).Name)
	// The UUID replaces even an id the caller sends.
	require.Equal(t, "V1", c.Whitelist("user-1", map[string]any{"_vwo_user_id": "someone"}).Name)
	require.Nil(t, c.Whitelist("user-2", nil))
}

// Several matches: weights 10 and 20 are rescaled to 33.33 and 66.67 and the
// user is bucketed over them (node/python). The Go SDK would keep the raw
// ranges [1,1000] and [1001,3000] and leave buckets above 3000 unassigned.
func TestWhitelistRescalesSeveralMatchesToAHundred(t *testing.T) {
	t.Parallel()
	c := whitelistCampaign(t, "")
	counts := map[string]int{}
	for i := 0; i < 3000; i++ {
		user := fmt.Sprintf("user-%d", i)
		v := c.Whitelist(user, map[string]any{"group": "ab"})
		require.NotNil(t, v, user)
		counts[v.Name]++

		// Scaled ranges: 10/30*100 → [1,3334], 20/30*100 → [3335,10001].
		want := "V1"
		if bucketing.Variation("", user, 1) <= 3334 {
			want = "Control"
		}
		require.Equal(t, want, v.Name, user)
	}
	require.InDelta(t, 1000, counts["Control"], 150)
	require.InDelta(t, 2000, counts["V1"], 150)
}

func TestWhitelistSplitsZeroWeightMatchesEqually(t *testing.T) {
	t.Parallel()
	s := mustParse(t, []byte(`{"accountId": 1, "campaigns": [{"id": 7, "key": "c", "status": "RUNNING",
		"type": "VISUAL_AB", "percentTraffic": 100, "isForcedVariationEnabled": true, "isBucketingSeedEnabled": true,
		"variations": [{"id": 1, "name": "A", "weight": 0, "segments": {"user": "u"}},
			{"id": 2, "name": "B", "weight": 0, "segments": {"user": "u"}},
			{"id": 3, "name": "C", "weight": 100}]}]}`))
	c := s.Campaigns[0]
	want := "B"
	// The seed flag applies to the whitelisting bucket too.
	if bucketing.Variation(bucketing.CampaignPrefix(7), "u", 1) <= 5000 {
		want = "A"
	}
	require.Equal(t, want, c.Whitelist("u", nil).Name)
}

func TestTrafficBoundsAdmitNobodyOrEverybody(t *testing.T) {
	t.Parallel()
	s := mustParse(t, []byte(`{"accountId": 1, "campaigns": [
		{"id": 1, "key": "none", "status": "RUNNING", "type": "FEATURE_ROLLOUT", "percentTraffic": 0,
			"variations": [{"id": 1, "name": "Control", "weight": 100}]},
		{"id": 2, "key": "all", "status": "RUNNING", "type": "FEATURE_ROLLOUT", "percentTraffic": 100,
			"variations": [{"id": 1, "name": "Control", "weight": 100}]}]}`))
	for i := 0; i < 1000; i++ {
		user := fmt.Sprintf("u%d", i)
		require.False(t, s.Campaign("none").InTraffic(user))
		require.True(t, s.Campaign("all").InTraffic(user))
		require.Equal(t, "Control", s.Campaign("all").Allocate(user).Name)
	}
}

// The seed and multiplier chosen for each combination of the node account
// flags (isNB, isNBv2) and campaign flags (isOB, isOBv2, seed flag), as
// docs/decisions.md (Bucketing) lays them out.
func TestSeedsFollowTheBucketingFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name          string
		account       string
		campaign      string
		trafficSeed   string
		variationSeed string
		oldMultiplier bool
	}{
		{"Go model", ``, ``, "", "", true},
		{"Go model with seed flag", ``, `"isBucketingSeedEnabled": true,`, "9_", "9_", true},
		{"isNB with isOB keeps the old model", `"isNB": true,`, `"isOB": true,`, "9_", "", true},
		{"isNB with isOB and seed flag", `"isNB": true,`, `"isOB": true, "isBucketingSeedEnabled": true,`, "9_", "9_", true},
		{"isNB new bucketing ignores the seed flag", `"isNB": true,`, `"isBucketingSeedEnabled": true,`, "9_", "", false},
		{"isNBv2 with isOBv2", `"isNBv2": true,`, `"isOBv2": true,`, "9_", "", false},
		{"isNBv2 without isOBv2 seeds with the account", `"isNB": true, "isNBv2": true,`, ``, "9_", "9_777_", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := mustParse(t, []byte(`{"accountId": 777, `+c.account+` "campaigns": [{"id": 9, "key": "k",
				"status": "RUNNING", "type": "VISUAL_AB", "percentTraffic": 80, `+c.campaign+`
				"variations": [{"id": 1, "name": "A", "weight": 33.33}, {"id": 2, "name": "B", "weight": 33.33},
					{"id": 3, "name": "C", "weight": 33.34}]}]}`))
			camp := s.Campaigns[0]
			mult := 1.0
			if c.oldMultiplier {
				mult = bucketing.VariationMultiplier(80)
			}
			ranges := []bucketing.Range{camp.Variations[0].Range, camp.Variations[1].Range, camp.Variations[2].Range}
			for i := 0; i < 500; i++ {
				user := fmt.Sprintf("visitor-%d", i)
				require.Equal(t, bucketing.Bucket(c.trafficSeed+user, 100, 1) <= 80, camp.InTraffic(user), user)
				var want *campaign.Variation
				if idx := bucketing.Find(ranges, bucketing.Bucket(c.variationSeed+user, 10000, mult)); idx >= 0 {
					want = camp.Variations[idx]
				}
				require.Equal(t, want, camp.Allocate(user), user)
			}
		})
	}
}

func TestUserUUIDMatchesVWO(t *testing.T) {
	t.Parallel()
	require.Equal(t, "D8E56BFF89A75539B46C1FECD3C97D7C", campaign.UserUUID("123456", "user-1"))
	require.Equal(t, "5FBBE143B5B0584297909594993D7902", campaign.UserUUID("88888888", "Ashley"))
	s := mustParse(t, []byte(`{"accountId": 88888888, "campaigns": []}`))
	require.Equal(t, "5FBBE143B5B0584297909594993D7902", s.UserUUID("Ashley"))
}
