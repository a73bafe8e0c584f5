package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
	"github.com/uss/uss/internal/pgtest"
)

// A server whose database goes away answers 503 (never 404, never a re-bucketing) and serves
// again once the database is back, without a restart.
func TestDatabaseOutageGives503sThenRecovers(t *testing.T) {
	t.Parallel()
	proxy, viaProxy := proxied(t, pgtest.URL(t))
	s := apitest.StartOn(t, viaProxy, func(c *apitest.ConfigT) { c.APIKeyCacheTTL = time.Hour })
	key := s.NewKey(t, "acme")
	stored := record{UserID: "u", CampaignKey: "c", VariationName: "Control", GoalIdentifier: ""}
	require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodPost, "/v1/storage", stored).Status)
	got, status := getRecord(t, s, key, "u", "c")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, stored, got)

	proxy.Break()
	for _, req := range []struct{ method, path, body string }{
		{http.MethodGet, storagePath("u", "c"), ""},
		{http.MethodGet, storagePath("u", "c"), ""},
		{http.MethodPost, "/v1/storage", `{"userId":"u","campaignKey":"c","variationName":"Variation-1"}`},
		{http.MethodPost, "/v1/storage/batch-get", `{"userId":"u"}`},
		{http.MethodGet, "/readyz", ""},
	} {
		resp := s.Do(t, key, req.method, req.path, req.body)
		require.Equal(t, http.StatusServiceUnavailable, resp.Status, "%s %s: %s", req.method, req.path, resp.Body)
		require.Equal(t, "unavailable", resp.ErrorCode(t))
	}
	require.Equal(t, http.StatusOK, s.Do(t, "", http.MethodGet, "/livez", nil).Status, "the process itself is alive")

	proxy.Restore()
	require.Eventually(t, func() bool {
		return s.Do(t, "", http.MethodGet, "/readyz", nil).Status == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond, "ready again once the database is back")
	require.Eventually(t, func() bool {
		_, status := getRecord(t, s, key, "u", "c")
		return status == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond)
	got, _ = getRecord(t, s, key, "u", "c")
	require.Equal(t, stored, got, "the write refused during the outage did not happen")
}
