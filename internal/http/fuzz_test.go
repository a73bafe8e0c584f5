package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/uss/uss/internal/apitest"
	"github.com/uss/uss/internal/strictjson"
)

var fuzzRoutes = []struct{ method, path string }{
	{http.MethodGet, "/v1/storage"},
	{http.MethodPost, "/v1/storage"},
	{http.MethodDelete, "/v1/storage"},
	{http.MethodPost, "/v1/storage/batch-get"},
	{http.MethodPost, "/v1/storage/batch-set"},
	{http.MethodGet, "/v1/persisted-values"},
	{http.MethodPut, "/v1/persisted-values"},
	{http.MethodDelete, "/v1/persisted-values"},
	{http.MethodPost, "/v1/activate"},
	{http.MethodPost, "/v1/variation"},
	{http.MethodPost, "/v1/track"},
	{http.MethodPut, "/v1/settings"},
	{http.MethodGet, "/v1/reports/campaign"},
	{http.MethodGet, "/v1/vwo-fme/storage"},
	{http.MethodPost, "/v1/vwo-fme/storage"},
	{http.MethodGet, "/v1/growthbook/sticky-buckets"},
	{http.MethodPut, "/v1/growthbook/sticky-buckets"},
	{http.MethodPost, "/v1/growthbook/sticky-buckets/batch-get"},
	{http.MethodPost, "/v1/optimizely/profiles/lookup"},
	{http.MethodPost, "/v1/optimizely/profiles/save"},
	{http.MethodGet, "/v1/storage/history"},
	{http.MethodPost, "/v1/identities/merge"},
	{http.MethodGet, "/v1/export/assignments"},
	{http.MethodPost, "/v1/import/assignments"},
}

// FuzzRequests sends arbitrary query strings and bodies to every route of a real server on a
// real database: no input may get a 5xx or crash the process, and errors keep their shape.
func FuzzRequests(f *testing.F) {
	s := apitest.Start(f)
	key := s.NewKey(f, "fuzz")
	segmented := `"isForcedVariationEnabled": true, "segments": {"or": [{"custom_variable": {"plan": "regex(^p.*o$)"}}, {"not": {"user": "a, b"}}]}`
	settings := settingsJSON(campaignJSON("c", 80, [2]float64{33.34, 66.66}, segmented))
	if resp := s.Do(f, key, http.MethodPut, "/v1/settings", settings); resp.Status != http.StatusOK {
		f.Fatalf("upload settings: %s", resp.Body)
	}
	f.Add(uint8(8), "", []byte(`{"campaignKey":"c","userId":"u","customVariables":{"plan":"pro","n":1e3},"variationTargetingVariables":{"x":[1]}}`))
	f.Add(uint8(9), "", []byte(`{"campaignKey":"c","userId":"u","dryRun":true,"sticky":false,"enforceTargeting":true}`))
	f.Add(uint8(10), "", []byte(`{"campaignKey":["c","c"],"userId":"u","goalIdentifier":"purchase","revenueValue":"12.50"}`))
	f.Add(uint8(10), "", []byte(`{"campaignKey":null,"userId":"u","goalIdentifier":"signup","goalTypeToTrack":"CUSTOM_GOAL","shouldTrackReturningUser":true}`))
	f.Add(uint8(11), "", []byte(settings))
	f.Add(uint8(20), "userId=u&campaignKey=c&limit=2&cursor=9", []byte(nil))
	f.Add(uint8(21), "", []byte(`{"fromUserId":"u","toUserId":"v","deleteSource":true}`))
	f.Add(uint8(22), "campaignKey=c", []byte(nil))
	f.Add(uint8(23), "", []byte("{\"userId\":\"u\",\"campaignKey\":\"c\",\"variationName\":\"V\",\"goals\":[\"g\"],\"exposures\":2}\n\n{\"userId\":\"v\"}"))
	for _, bad := range append(badRequests(), vendorBadRequests()...) {
		for i, r := range fuzzRoutes {
			if r.method == bad.method {
				f.Add(uint8(i), "userId=u&campaignKey=c&key=u:userID&configName=e&featureKey=f&attributeName=id&attributeValue=u", []byte(bad.body))
			}
		}
	}
	f.Add(uint8(1), "", []byte(`{"UserID":"ü","CampaignKey":"c","VariationName":"V","GoalIdentifier":"a_vwo_b"}`))
	f.Add(uint8(4), "", []byte(`{"records":[{"userId":"u","campaignKey":"c","variationName":"V"}]}`))
	f.Add(uint8(6), "key=k:userID&configName=c", []byte(`{"a":[1,{"b":null}],"c":1e400}`))
	f.Add(uint8(0), "userId=%ff&campaignKey=%00", []byte(nil))
	f.Add(uint8(1), "", []byte(`{"userId":"u","campaignKey":"c","variationName":"V","USERID":"w"}`))
	f.Add(uint8(1), "", []byte("{\"userId\":\"\xff\",\"campaignKey\":\"c\",\"variationName\":\"V\"}"))
	f.Add(uint8(8), "", []byte(`{"campaignKey":"c","userId":"u","customVariables":{"plan":"a","Plan":"b"}}`))
	f.Add(uint8(6), "key=k:userID&configName=c", []byte(`{"a":"\ud83d\ude00","b":{"c":"\u00e9"}}`))
	f.Add(uint8(13), "featureKey=f&userId=u", []byte(nil))
	f.Add(uint8(13), "featureKey=%ff&userId=%00", []byte(nil))
	f.Add(uint8(14), "", []byte(`{"featureKey":"f","userId":"u","featureId":1,"experimentKey":"f_e","experimentVariationId":2,"isInHoldoutId":[1e400]}`))
	f.Add(uint8(15), "attributeName=id&attributeValue=u", []byte(nil))
	f.Add(uint8(16), "", []byte(`{"attributeName":"id","attributeValue":"u","assignments":{"e__0":"1","e__1":"\ud800"}}`))
	f.Add(uint8(17), "", []byte(`{"attributes":{"id":"u","deviceId":"d"}}`))
	f.Add(uint8(18), "", []byte(`{"user_id":"u"}`))
	f.Add(uint8(19), "", []byte(`{"experiment_bucket_map":{"1":{"variation_id":"2"}},"user_id":"u"}`))

	handler := s.Handler()
	f.Fuzz(func(t *testing.T, route uint8, rawQuery string, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		req := httptest.NewRequest(r.method, "/", bytes.NewReader(body))
		req.URL.Path = r.path
		req.URL.RawQuery = rawQuery
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 || rec.Code < 200 {
			t.Fatalf("%s %s?%s %q: status %d: %s", r.method, r.path, rawQuery, body, rec.Code, rec.Body)
		}
		// Every POST and PUT reads its body: one it accepted was strict JSON (valid UTF-8, no
		// lone surrogate, no key twice), else something was quietly changed or dropped.
		if rec.Code < 300 && (r.method == http.MethodPost || r.method == http.MethodPut) {
			if err := strictjson.Check(body, nil); err != nil {
				t.Fatalf("%s %s accepted %q, which is not strict JSON: %v", r.method, r.path, body, err)
			}
		}
		if rec.Code >= 400 {
			var e struct {
				Error struct{ Code, Message, RequestID string } `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("error without the JSON shape: %d %s", rec.Code, rec.Body)
			}
		}
	})
}
