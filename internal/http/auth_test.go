package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
)

func TestEveryV1RouteNeedsAValidKey(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	good := s.NewKey(t, "acme")
	id := good[4:20]
	wrongSecret := good[:len(good)-4] + "AAAA"
	if wrongSecret == good {
		wrongSecret = good[:len(good)-4] + "BBBB"
	}
	routes := []struct{ method, path string }{
		{http.MethodGet, "/v1/storage?userId=u&campaignKey=c"},
		{http.MethodPost, "/v1/storage"},
		{http.MethodDelete, "/v1/storage?userId=u"},
		{http.MethodPost, "/v1/storage/batch-get"},
		{http.MethodPost, "/v1/storage/batch-set"},
		{http.MethodGet, "/v1/persisted-values?key=k"},
		{http.MethodPut, "/v1/persisted-values?key=k&configName=c"},
		{http.MethodDelete, "/v1/persisted-values?key=k&configName=c"},
		{http.MethodGet, "/v1/reports/campaign?campaignKey=c"},
		{http.MethodGet, "/v1/vwo-fme/storage?featureKey=f&userId=u"},
		{http.MethodPost, "/v1/vwo-fme/storage"},
		{http.MethodGet, "/v1/growthbook/sticky-buckets?attributeName=id&attributeValue=u"},
		{http.MethodPut, "/v1/growthbook/sticky-buckets"},
		{http.MethodPost, "/v1/growthbook/sticky-buckets/batch-get"},
		{http.MethodPost, "/v1/optimizely/profiles/lookup"},
		{http.MethodPost, "/v1/optimizely/profiles/save"},
		{http.MethodGet, "/v1/storage/history?userId=u&campaignKey=c"},
		{http.MethodPost, "/v1/identities/merge"},
		{http.MethodGet, "/v1/export/assignments"},
		{http.MethodPost, "/v1/import/assignments"},
	}
	headers := map[string]string{
		"no header":            "",
		"wrong scheme":         "Basic " + good,
		"bearer without a key": "Bearer ",
		"malformed key":        "Bearer not-a-key",
		"unknown key id":       "Bearer uss_0000000000000000_" + strings.Repeat("A", 43),
		"wrong secret":         "Bearer " + wrongSecret,
		"key id alone":         "Bearer " + id,
	}
	for _, r := range routes {
		for name, h := range headers {
			req, err := http.NewRequest(r.method, s.URL+r.path, strings.NewReader(`{"userId":"u","campaignKey":"c","variationName":"V"}`))
			require.NoError(t, err)
			if h != "" {
				req.Header.Set("Authorization", h)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s %s with %s", r.method, r.path, name)
			require.Equal(t, "Bearer", resp.Header.Get("WWW-Authenticate"))
		}
	}
	_, status := getRecord(t, s, good, "u", "c")
	require.Equal(t, http.StatusNotFound, status, "no unauthenticated write went through")
}

func TestMonitoringRoutesNeedNoKey(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	for _, path := range []string{"/livez", "/readyz", "/metrics"} {
		resp := s.Do(t, "", http.MethodGet, path, nil)
		require.Equal(t, http.StatusOK, resp.Status, "%s: %s", path, resp.Body)
	}
}

func TestMetricsCountRequestsAndStorageLookups(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	s.Do(t, key, http.MethodPost, "/v1/storage", record{UserID: "u", CampaignKey: "c", VariationName: "V"})
	getRecord(t, s, key, "u", "c")
	getRecord(t, s, key, "u", "missing")
	getRecord(t, s, key, "u", "missing")
	body := string(s.Do(t, "", http.MethodGet, "/metrics", nil).Body)
	require.Contains(t, body, `uss_storage_lookups_total{result="hit"} 1`)
	require.Contains(t, body, `uss_storage_lookups_total{result="miss"} 2`)
	require.Contains(t, body, `uss_http_request_duration_seconds_count{method="GET",route="/v1/storage",status="404"} 2`)
	require.Contains(t, body, `uss_http_request_duration_seconds_count{method="POST",route="/v1/storage",status="200"} 1`)
	require.Contains(t, body, `uss_db_pool_max_connections`)
}

func TestAnotherAccountCanNeitherReadNorOverwrite(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	a := s.NewKey(t, "account-a")
	b := s.NewKey(t, "account-b")
	mine := record{UserID: "u", CampaignKey: "c", VariationName: "Control", GoalIdentifier: "g"}
	require.Equal(t, http.StatusOK, s.Do(t, a, http.MethodPost, "/v1/storage", mine).Status)
	require.Equal(t, http.StatusOK, s.Do(t, a, http.MethodPut, persistedPath("u:userID", "exp"), `{"g":"A"}`).Status)

	_, status := getRecord(t, s, b, "u", "c")
	require.Equal(t, http.StatusNotFound, status, "B cannot read A's assignment")
	resp := s.Do(t, b, http.MethodPost, "/v1/storage/batch-get", map[string]any{"userId": "u"})
	require.JSONEq(t, `{"records":[]}`, string(resp.Body))
	require.Equal(t, http.StatusNotFound, s.Do(t, b, http.MethodGet, persistedPath("u:userID", ""), nil).Status)

	theirs := record{UserID: "u", CampaignKey: "c", VariationName: "Variation-1"}
	require.Equal(t, http.StatusOK, s.Do(t, b, http.MethodPost, "/v1/storage", theirs).Status)
	require.Equal(t, http.StatusOK, s.Do(t, b, http.MethodPost, "/v1/storage/batch-set", records{Records: []record{theirs}}).Status)
	require.Equal(t, http.StatusOK, s.Do(t, b, http.MethodPut, persistedPath("u:userID", "exp"), `{"g":"B"}`).Status)
	resp = s.Do(t, b, http.MethodDelete, storagePath("u", ""), nil)
	require.JSONEq(t, `{"deleted":{"assignments":1,"conversions":0,"persistedValues":1,"vwoFmeRecords":0,"growthbookAssignments":0,"optimizelyDecisions":0}}`, string(resp.Body),
		"B's erasure removes B's own rows only")

	got, status := getRecord(t, s, a, "u", "c")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, mine, got, "A's row is as A wrote it")
	resp = s.Do(t, a, http.MethodGet, persistedPath("u:userID", ""), nil)
	require.JSONEq(t, `{"key":"u:userID","values":{"exp":{"g":"A"}}}`, string(resp.Body))
}

// Every label of the request metric comes from a bounded set: random methods and paths fold
// into "other" and "unmatched", so no client can grow the server's memory through /metrics.
func TestMetricLabelsStayBoundedWhateverTheRequest(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	const n = 200
	for i := range n {
		method := fmt.Sprintf("M%dABCDEFGHIJ", i)
		s.Do(t, key, method, "/livez", nil)
		s.Do(t, key, method, "/v1/storage", nil)
		s.Do(t, key, http.MethodGet, fmt.Sprintf("/no/such/route/%d", i), nil)
		s.Do(t, key, http.MethodGet, fmt.Sprintf("/v1/no-such-route-%d", i), nil)
	}
	body := string(s.Do(t, "", http.MethodGet, "/metrics", nil).Body)
	series := 0
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "uss_http_request_duration_seconds_count{") {
			series++
			require.NotContains(t, line, "ABCDEFGHIJ", "a raw method became a label")
			require.NotContains(t, line, "no-such-route", "a raw path became a label")
			require.NotContains(t, line, "/no/such", "a raw path became a label")
		}
	}
	require.Less(t, series, 10, "request series after %d random methods and paths:\n%s", 4*n, body)
	require.Contains(t, body, fmt.Sprintf(`uss_http_request_duration_seconds_count{method="other",route="/livez",status="405"} %d`, n))
	require.Contains(t, body, fmt.Sprintf(`uss_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} %d`, 2*n))
}
