package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func parseRequest(t *testing.T, raw []byte) (*http.Request, []byte) {
	t.Helper()
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	require.NoError(t, err, "%q", raw)
	body, err := io.ReadAll(req.Body)
	require.NoError(t, err)
	return req, body
}

func TestRequestsAreWellFormedHTTP(t *testing.T) {
	t.Parallel()
	e := endpoint{addr: "127.0.0.1:8080", key: "uss_0123456789abcdef_secret"}
	rng := rand.New(rand.NewPCG(1, 2))
	const users = 20000

	for range 100 {
		req, body := parseRequest(t, getRequests(e, users)(nil, rng, 0, 0))
		require.Equal(t, "GET", req.Method)
		require.Equal(t, "/v1/storage", req.URL.Path)
		require.Equal(t, "127.0.0.1:8080", req.Host)
		require.Equal(t, "Bearer "+e.key, req.Header.Get("Authorization"))
		require.Empty(t, body)
		q := req.URL.Query()
		require.Regexp(t, `^user-000[0-1][0-9]{4}$`, q.Get("userId"))
		require.Regexp(t, `^campaign-[0-9]$`, q.Get("campaignKey"))
	}

	var set struct{ UserID, CampaignKey, VariationName string }
	req, body := parseRequest(t, setRequests(e, users)(nil, rng, 0, 0))
	require.Equal(t, "POST", req.Method)
	require.Equal(t, "/v1/storage", req.URL.Path)
	require.EqualValues(t, len(body), req.ContentLength)
	require.NoError(t, json.Unmarshal(body, &set))
	require.Contains(t, variations, set.VariationName)

	var batch struct {
		UserID       string
		CampaignKeys []string
	}
	req, body = parseRequest(t, batchGetRequests(e, users)(nil, rng, 0, 0))
	require.Equal(t, "/v1/storage/batch-get", req.URL.Path)
	require.NoError(t, json.Unmarshal(body, &batch))
	require.Len(t, batch.CampaignKeys, campaignsPerUser)
	require.Equal(t, "campaign-9", batch.CampaignKeys[9])

	req, body = parseRequest(t, livezRequests(e)(nil, rng, 0, 0))
	require.Equal(t, "GET", req.Method)
	require.Equal(t, "/livez", req.URL.Path)
	require.Empty(t, body)

	var returning struct{ CampaignKey, UserID string }
	req, body = parseRequest(t, returningRequests(e, users)(nil, rng, 0, 0))
	require.Equal(t, "/v1/activate", req.URL.Path)
	require.NoError(t, json.Unmarshal(body, &returning))
	require.Equal(t, activateCampaign, returning.CampaignKey)
	require.Regexp(t, `^user-000[0-1][0-9]{4}$`, returning.UserID, "a loaded user")

	// The batch-set of the fresh load: 1,000 records, well over the 5-digit lengths of the
	// other requests, with the variation loadSQL gives each row.
	var batchSet struct {
		Records []struct{ UserID, CampaignKey, VariationName string }
	}
	req, body = parseRequest(t, batchSetRequest(e, 100, 100+batchSetUsers))
	require.Equal(t, "/v1/storage/batch-set", req.URL.Path)
	require.EqualValues(t, len(body), req.ContentLength)
	require.Greater(t, len(body), 80_000)
	require.NoError(t, json.Unmarshal(body, &batchSet))
	require.Len(t, batchSet.Records, 1000)
	require.Equal(t, "user-00000100", batchSet.Records[0].UserID)
	require.Equal(t, "campaign-0", batchSet.Records[0].CampaignKey)
	require.Equal(t, "Control", batchSet.Records[0].VariationName, "(u + c) %% 2 = 0")
	require.Equal(t, "Variation-1", batchSet.Records[1].VariationName)
	require.Equal(t, "user-00000199", batchSet.Records[999].UserID)

	// Every call is a new user, even when a later run restarts workers and sequence numbers.
	activate := activateRequests(e, "tag")
	seen := map[string]bool{}
	for range 2 {
		for w := range 3 {
			var act struct{ CampaignKey, UserID string }
			_, body = parseRequest(t, activate(nil, nil, w, 0))
			require.NoError(t, json.Unmarshal(body, &act))
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
