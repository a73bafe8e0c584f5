package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func parseRequest(t *testing.T, c *call) (*http.Request, []byte) {
	t.Helper()
	req := httptest.NewRequest(c.method, "http://127.0.0.1:8080"+string(c.uri), bytes.NewReader(c.body))
	return req, c.body
}

func build(f requestFunc, rng *rand.Rand) *call {
	c := &call{}
	f(c, rng, 0, 0)
	return c
}

func TestRequestsAreWellFormedHTTP(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	const users = 20000

	for range 100 {
		req, body := parseRequest(t, build(getRequests(users), rng))
		require.Equal(t, "GET", req.Method)
		require.Equal(t, "/v1/storage", req.URL.Path)
		require.Empty(t, body)
		q := req.URL.Query()
		require.Regexp(t, `^user-000[0-1][0-9]{4}$`, q.Get("userId"))
		require.Regexp(t, `^campaign-[0-9]$`, q.Get("campaignKey"))
	}

	var set struct{ UserID, CampaignKey, VariationName string }
	req, body := parseRequest(t, build(setRequests(users), rng))
	require.Equal(t, "POST", req.Method)
	require.Equal(t, "/v1/storage", req.URL.Path)
	require.NoError(t, json.Unmarshal(body, &set))
	require.Contains(t, variations, set.VariationName)

	// A call reused for the next request keeps nothing of the previous one.
	reused := build(setRequests(users), rng)
	getRequests(users)(reused, rng, 0, 0)
	require.Equal(t, "GET", reused.method)
	require.Empty(t, reused.body)

	var batch struct {
		UserID       string
		CampaignKeys []string
	}
	req, body = parseRequest(t, build(batchGetRequests(users), rng))
	require.Equal(t, "/v1/storage/batch-get", req.URL.Path)
	require.NoError(t, json.Unmarshal(body, &batch))
	require.Len(t, batch.CampaignKeys, campaignsPerUser)
	require.Equal(t, "campaign-9", batch.CampaignKeys[9])

	req, body = parseRequest(t, build(livezRequests(), rng))
	require.Equal(t, "GET", req.Method)
	require.Equal(t, "/livez", req.URL.Path)
	require.Empty(t, body)

	var returning struct{ CampaignKey, UserID string }
	req, body = parseRequest(t, build(returningRequests(users), rng))
	require.Equal(t, "/v1/activate", req.URL.Path)
	require.NoError(t, json.Unmarshal(body, &returning))
	require.Equal(t, activateCampaign, returning.CampaignKey)
	require.Regexp(t, `^user-000[0-1][0-9]{4}$`, returning.UserID, "a loaded user")

	// The batch-set of the fresh load: 1,000 records with the variation loadSQL gives each row.
	var batchSet struct {
		Records []struct{ UserID, CampaignKey, VariationName string }
	}
	req, body = parseRequest(t, batchSetRequest(100, 100+batchSetUsers))
	require.Equal(t, "/v1/storage/batch-set", req.URL.Path)
	require.NoError(t, json.Unmarshal(body, &batchSet))
	require.Len(t, batchSet.Records, 1000)
	require.Equal(t, "user-00000100", batchSet.Records[0].UserID)
	require.Equal(t, "campaign-0", batchSet.Records[0].CampaignKey)
	require.Equal(t, "Control", batchSet.Records[0].VariationName, "(u + c) %% 2 = 0")
	require.Equal(t, "Variation-1", batchSet.Records[1].VariationName)
	require.Equal(t, "user-00000199", batchSet.Records[999].UserID)

	// Every call is a new user, even when a later run restarts workers and sequence numbers.
	activate := activateRequests("tag")
	seen := map[string]bool{}
	for range 2 {
		for w := range 3 {
			var act struct{ CampaignKey, UserID string }
			c := &call{}
			activate(c, nil, w, 0)
			require.NoError(t, json.Unmarshal(c.body, &act))
			require.Equal(t, activateCampaign, act.CampaignKey)
			require.False(t, seen[act.UserID], "user %s repeated", act.UserID)
			seen[act.UserID] = true
		}
	}
	require.True(t, seen["new-tag-1"])
}

func TestUserIDsMatchTheSQLThatLoadsThem(t *testing.T) {
	t.Parallel()
	// loadSQL and the pgbench scripts write 'user-' || lpad(n::text, 8, '0').
	require.Contains(t, loadSQL, `'user-' || lpad(u::text, 8, '0')`)
	require.Contains(t, userKeySQL, `'user-' || lpad(:u::text, 8, '0')`)
	require.Equal(t, "user-00000000", userID(0))
	require.Equal(t, "user-00999999", userID(999_999))
	require.Equal(t, "campaign-7", string(appendCampaignKey(nil, 7)))
}

func TestSettingsFileIsValidJSONWithTheActivateCampaign(t *testing.T) {
	t.Parallel()
	var s struct {
		Campaigns []struct {
			Key            string
			Status         string
			PercentTraffic int
			Variations     []struct{ Weight float64 }
		}
	}
	require.NoError(t, json.Unmarshal([]byte(settingsFile), &s))
	require.Len(t, s.Campaigns, 1)
	c := s.Campaigns[0]
	require.Equal(t, activateCampaign, c.Key)
	require.Equal(t, "RUNNING", c.Status)
	require.Equal(t, 100, c.PercentTraffic)
	total := 0.0
	for _, v := range c.Variations {
		total += v.Weight
	}
	require.InDelta(t, 100, total, 1e-9)
	require.NotContains(t, settingsFile, "\t", "indented with spaces")
}
