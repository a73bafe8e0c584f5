package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
)

// vendorBadRequests are malformed requests to the VWO FME, GrowthBook and Optimizely routes.
// Each must get a 4xx with a JSON error and leave the database as it was.
func vendorBadRequests() []badRequest {
	long := strings.Repeat("x", 256)
	many := func(entry func(i int) string) string {
		parts := make([]string, 1001)
		for i := range parts {
			parts[i] = entry(i)
		}
		return strings.Join(parts, ",")
	}
	invalid := func(name, method, path, body string) badRequest {
		return badRequest{name, method, path, body, http.StatusBadRequest, "invalid_argument"}
	}
	const fme, sticky, batch = "/v1/vwo-fme/storage", "/v1/growthbook/sticky-buckets", "/v1/growthbook/sticky-buckets/batch-get"
	const lookup, save = "/v1/optimizely/profiles/lookup", "/v1/optimizely/profiles/save"
	return []badRequest{
		invalid("fme: invalid JSON", "POST", fme, `{"featureKey":`),
		invalid("fme: empty body", "POST", fme, ``),
		invalid("fme: array body", "POST", fme, `[{"featureKey":"f","userId":"u"}]`),
		invalid("fme: null body", "POST", fme, `null`),
		invalid("fme: two JSON values", "POST", fme, `{"featureKey":"f","userId":"u"} {}`),
		invalid("fme: missing featureKey", "POST", fme, `{"userId":"u","featureId":1}`),
		invalid("fme: missing userId", "POST", fme, `{"featureKey":"f","featureId":1}`),
		invalid("fme: featureKey a number", "POST", fme, `{"featureKey":1,"userId":"u"}`),
		invalid("fme: userId null", "POST", fme, `{"featureKey":"f","userId":null}`),
		invalid("fme: userId an object", "POST", fme, `{"featureKey":"f","userId":{"id":"u"}}`),
		invalid("fme: empty featureKey", "POST", fme, `{"featureKey":"","userId":"u"}`),
		invalid("fme: userId over 255 bytes", "POST", fme, `{"featureKey":"f","userId":"`+long+`"}`),
		invalid("fme: NUL in userId", "POST", fme, `{"featureKey":"f","userId":"a\u0000b"}`),
		invalid("fme: NUL in another field", "POST", fme, `{"featureKey":"f","userId":"u","note":"a\u0000b"}`),
		invalid("fme: get without userId", "GET", fme+"?featureKey=f", ``),
		invalid("fme: get with an empty featureKey", "GET", fme+"?featureKey=&userId=u", ``),
		invalid("fme: get with an unknown parameter", "GET", fme+"?featureKey=f&userId=u&campaignKey=c", ``),
		invalid("fme: get with a repeated parameter", "GET", fme+"?featureKey=f&userId=u&userId=v", ``),
		invalid("fme: get with a 256-byte userId", "GET", fme+"?featureKey=f&userId="+long, ``),
		invalid("fme: get with invalid UTF-8", "GET", fme+"?featureKey=%ff&userId=u", ``),

		invalid("growthbook: get without attributeValue", "GET", sticky+"?attributeName=id", ``),
		invalid("growthbook: get with an unknown parameter", "GET", sticky+"?attributeName=id&attributeValue=u&x=1", ``),
		invalid("growthbook: get with NUL", "GET", sticky+"?attributeName=id&attributeValue=a%00b", ``),
		invalid("growthbook: save of invalid JSON", "PUT", sticky, `{"attributeName":"id"`),
		invalid("growthbook: save without attributeName", "PUT", sticky, `{"attributeValue":"u","assignments":{"e__0":"1"}}`),
		invalid("growthbook: save without assignments", "PUT", sticky, `{"attributeName":"id","attributeValue":"u"}`),
		invalid("growthbook: save with null assignments", "PUT", sticky, `{"attributeName":"id","attributeValue":"u","assignments":null}`),
		invalid("growthbook: save with assignments as a list", "PUT", sticky, `{"attributeName":"id","attributeValue":"u","assignments":["e__0"]}`),
		invalid("growthbook: save with a number variation", "PUT", sticky, `{"attributeName":"id","attributeValue":"u","assignments":{"e__0":1}}`),
		invalid("growthbook: save with an empty variation", "PUT", sticky, `{"attributeName":"id","attributeValue":"u","assignments":{"e__0":"1","f__0":""}}`),
		invalid("growthbook: save with an empty assignment key", "PUT", sticky, `{"attributeName":"id","attributeValue":"u","assignments":{"":"1"}}`),
		invalid("growthbook: save with a 256-byte assignment key", "PUT", sticky, `{"attributeName":"id","attributeValue":"u","assignments":{"`+long+`":"1"}}`),
		invalid("growthbook: save with NUL in a variation", "PUT", sticky, `{"attributeName":"id","attributeValue":"u","assignments":{"e__0":"a\u0000"}}`),
		invalid("growthbook: save with an unknown field", "PUT", sticky, `{"attributeName":"id","attributeValue":"u","assignments":{},"key":"id||u"}`),
		invalid("growthbook: save of 1001 entries", "PUT", sticky, `{"attributeName":"id","attributeValue":"u","assignments":{`+
			many(func(i int) string { return fmt.Sprintf(`"e%d__0":"1"`, i) })+`}}`),
		invalid("growthbook: batch-get without attributes", "POST", batch, `{}`),
		invalid("growthbook: batch-get of a list", "POST", batch, `{"attributes":["id"]}`),
		invalid("growthbook: batch-get of a number value", "POST", batch, `{"attributes":{"id":1}}`),
		invalid("growthbook: batch-get of an empty value", "POST", batch, `{"attributes":{"id":"u","deviceId":""}}`),
		invalid("growthbook: batch-get of 1001 attributes", "POST", batch, `{"attributes":{`+
			many(func(i int) string { return fmt.Sprintf(`"a%d":"u"`, i) })+`}}`),

		invalid("optimizely: lookup without user_id", "POST", lookup, `{}`),
		invalid("optimizely: lookup of a number user_id", "POST", lookup, `{"user_id":42}`),
		invalid("optimizely: lookup of an empty user_id", "POST", lookup, `{"user_id":""}`),
		invalid("optimizely: lookup with an unknown field", "POST", lookup, `{"user_id":"u","attributes":{}}`),
		invalid("optimizely: lookup of a 256-byte user_id", "POST", lookup, `{"user_id":"`+long+`"}`),
		invalid("optimizely: save without user_id", "POST", save, `{"experiment_bucket_map":{"e":{"variation_id":"v"}}}`),
		invalid("optimizely: save without experiment_bucket_map", "POST", save, `{"user_id":"u"}`),
		invalid("optimizely: save of a number variation_id", "POST", save, `{"user_id":"u","experiment_bucket_map":{"e":{"variation_id":1}}}`),
		invalid("optimizely: save without variation_id", "POST", save, `{"user_id":"u","experiment_bucket_map":{"e":{"variation_id":"v"},"f":{}}}`),
		invalid("optimizely: save of a bare variation", "POST", save, `{"user_id":"u","experiment_bucket_map":{"e":"v"}}`),
		invalid("optimizely: save with another field", "POST", save, `{"user_id":"u","experiment_bucket_map":{"e":{"variation_id":"v","x":"y"}}}`),
		invalid("optimizely: save of an empty variation_id", "POST", save, `{"user_id":"u","experiment_bucket_map":{"e":{"variation_id":""}}}`),
		invalid("optimizely: save of 1001 experiments", "POST", save, `{"user_id":"u","experiment_bucket_map":{`+
			many(func(i int) string { return fmt.Sprintf(`"%d":{"variation_id":"v"}`, i) })+`}}`),
		{"optimizely: lookup with GET", "GET", lookup + "?user_id=u", ``, http.StatusMethodNotAllowed, "method_not_allowed"},
		{"growthbook: save with POST", "POST", sticky, `{}`, http.StatusMethodNotAllowed, "method_not_allowed"},
	}
}

func TestVendorBadInputGetsA4xxAndChangesNothing(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	// Something of each to leave untouched, under the ids the bad requests use.
	require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodPost, "/v1/vwo-fme/storage", `{"featureKey":"f","userId":"u","featureId":1}`).Status)
	require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodPut, "/v1/growthbook/sticky-buckets", stickyDoc{"id", "u", map[string]string{"e__0": "0"}}).Status)
	require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodPost, "/v1/optimizely/profiles/save", profile{"u", bucket("e", "w")}).Status)
	before := s.Snapshot(t)

	for _, bad := range vendorBadRequests() {
		resp := s.Do(t, key, bad.method, bad.path, bad.body)
		require.Equal(t, bad.status, resp.Status, "%s: %s", bad.name, resp.Body)
		require.Equal(t, bad.code, resp.ErrorCode(t), bad.name)
	}
	require.Equal(t, before, s.Snapshot(t), "bad requests changed the database")
}

func TestVendorBodiesOverTheLimitGet413(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	before := s.Snapshot(t)
	// A VWO FME record is at most 64 KiB, even where the server's body limit is larger.
	big := `{"featureKey":"f","userId":"u","pad":"` + strings.Repeat("x", 64<<10) + `"}`
	resp := s.Do(t, key, http.MethodPost, "/v1/vwo-fme/storage", big)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.Status, "%s", resp.Body)
	require.Equal(t, "payload_too_large", resp.ErrorCode(t))

	small := apitest.StartOn(t, s.DatabaseURL, func(c *apitest.ConfigT) { c.BodyLimit = 1024 })
	pad := strings.Repeat("x", 2000)
	for _, r := range []struct{ method, path, body string }{
		{http.MethodPost, "/v1/vwo-fme/storage", `{"featureKey":"f","userId":"u","pad":"` + pad + `"}`},
		{http.MethodPut, "/v1/growthbook/sticky-buckets", `{"attributeName":"id","attributeValue":"u","assignments":{"e__0":"` + pad + `"}}`},
		{http.MethodPost, "/v1/growthbook/sticky-buckets/batch-get", `{"attributes":{"id":"` + pad + `"}}`},
		{http.MethodPost, "/v1/optimizely/profiles/lookup", `{"user_id":"` + pad + `"}`},
		{http.MethodPost, "/v1/optimizely/profiles/save", `{"user_id":"u","experiment_bucket_map":{"e":{"variation_id":"` + pad + `"}}}`},
	} {
		// Chunked, without a length: refused while reading.
		req, err := http.NewRequest(r.method, small.URL+r.path, io.MultiReader(bytes.NewBufferString(r.body)))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode, r.path)
	}
	require.Equal(t, before, s.Snapshot(t))
}
