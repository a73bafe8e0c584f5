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

type badRequest struct {
	name   string
	method string
	path   string
	body   string
	status int
	code   string
}

// badRequests are malformed requests on the storage routes (docs/api.md, Rules worth knowing).
// Each must get a 4xx with a JSON error and leave the database as it was.
func badRequests() []badRequest {
	const ok = `"userId":"u","campaignKey":"c","variationName":"V"`
	long := strings.Repeat("x", 256)
	keys := make([]string, 1001)
	for i := range keys {
		keys[i] = fmt.Sprintf("%q", fmt.Sprint("c", i))
	}
	invalid := func(name, method, path, body string) badRequest {
		return badRequest{name, method, path, body, http.StatusBadRequest, "invalid_argument"}
	}
	return []badRequest{
		invalid("invalid JSON", "POST", "/v1/storage", `{"userId":`),
		invalid("not JSON at all", "POST", "/v1/storage", `userId=u&campaignKey=c`),
		invalid("unknown field", "POST", "/v1/storage", `{`+ok+`,"variationId":2}`),
		invalid("wrong-typed field", "POST", "/v1/storage", `{"userId":42,"campaignKey":"c","variationName":"V"}`),
		invalid("goals as a list", "POST", "/v1/storage", `{`+ok+`,"goalIdentifier":["a","b"]}`),
		invalid("array body", "POST", "/v1/storage", `[{`+ok+`}]`),
		invalid("empty body", "POST", "/v1/storage", ``),
		invalid("two JSON values", "POST", "/v1/storage", `{`+ok+`} {}`),
		invalid("missing userId", "POST", "/v1/storage", `{"campaignKey":"c","variationName":"V"}`),
		invalid("null userId", "POST", "/v1/storage", `{"userId":null,"campaignKey":"c","variationName":"V"}`),
		invalid("empty campaignKey", "POST", "/v1/storage", `{"userId":"u","campaignKey":"","variationName":"V"}`),
		invalid("missing variationName", "POST", "/v1/storage", `{"userId":"u","campaignKey":"c"}`),
		invalid("userId over 255 bytes", "POST", "/v1/storage", `{"userId":"`+long+`","campaignKey":"c","variationName":"V"}`),
		invalid("variation over 255 bytes", "POST", "/v1/storage", `{"userId":"u","campaignKey":"c","variationName":"`+long+`"}`),
		invalid("NUL in userId", "POST", "/v1/storage", `{"userId":"a\u0000b","campaignKey":"c","variationName":"V"}`),
		invalid("NUL in a goal", "POST", "/v1/storage", `{`+ok+`,"goalIdentifier":"a_vwo_b\u0000"}`),
		invalid("goal over 255 bytes", "POST", "/v1/storage", `{`+ok+`,"goalIdentifier":"a_vwo_`+long+`"}`),
		invalid("get without campaignKey", "GET", "/v1/storage?userId=u", ``),
		invalid("get with an empty userId", "GET", "/v1/storage?userId=&campaignKey=c", ``),
		invalid("get with an unknown parameter", "GET", "/v1/storage?userId=u&campaignKey=c&variation=V", ``),
		invalid("get with a repeated parameter", "GET", "/v1/storage?userId=u&userId=v&campaignKey=c", ``),
		invalid("get with a malformed query", "GET", "/v1/storage?userId=%zz&campaignKey=c", ``),
		invalid("get with invalid UTF-8", "GET", "/v1/storage?userId=%ff%fe&campaignKey=c", ``),
		invalid("get with NUL", "GET", "/v1/storage?userId=a%00b&campaignKey=c", ``),
		invalid("get with a 256-byte userId", "GET", "/v1/storage?userId="+long+"&campaignKey=c", ``),
		invalid("delete without userId", "DELETE", "/v1/storage?campaignKey=c", ``),
		invalid("delete with an empty campaignKey", "DELETE", "/v1/storage?userId=u&campaignKey=", ``),
		invalid("batch-get with keys of the wrong type", "POST", "/v1/storage/batch-get", `{"userId":"u","campaignKeys":"c"}`),
		invalid("batch-get of 1001 keys", "POST", "/v1/storage/batch-get", `{"userId":"u","campaignKeys":[`+strings.Join(keys, ",")+`]}`),
		invalid("batch-get without userId", "POST", "/v1/storage/batch-get", `{"campaignKeys":["c"]}`),
		invalid("batch-set of an object", "POST", "/v1/storage/batch-set", `{"records":{`+ok+`}}`),
		invalid("batch-set with a bad record", "POST", "/v1/storage/batch-set", `{"records":[{`+ok+`},{"userId":"u"}]}`),
		invalid("persisted save without configName", "PUT", "/v1/persisted-values?key=u:userID", `{}`),
		invalid("persisted load without key", "GET", "/v1/persisted-values", ``),
		invalid("persisted save of a non-object", "PUT", "/v1/persisted-values?key=u:userID&configName=e", `[]`),
		// Strict JSON: a key given twice (field names match case-insensitively, so a case
		// variant is the same field), bytes that are not UTF-8 and lone surrogates, all of which
		// encoding/json would quietly resolve (last wins, U+FFFD) and store.
		invalid("a field twice", "POST", "/v1/storage", `{`+ok+`,"userId":"w"}`),
		invalid("a field twice in another case", "POST", "/v1/storage", `{`+ok+`,"USERID":"w"}`),
		invalid("a field twice in the Go SDK's case", "POST", "/v1/storage", `{"UserID":"u","userId":"w","campaignKey":"c","variationName":"V"}`),
		invalid("a field twice in a batch record", "POST", "/v1/storage/batch-set", `{"records":[{`+ok+`,"CampaignKey":"d"}]}`),
		invalid("records twice", "POST", "/v1/storage/batch-set", `{"records":[{`+ok+`}],"Records":[]}`),
		invalid("a field twice in batch-get", "POST", "/v1/storage/batch-get", `{"userId":"u","campaignKeys":["c"],"campaignkeys":[]}`),
		invalid("a custom variable twice", "POST", "/v1/activate", `{"campaignKey":"c","userId":"u","customVariables":{"plan":"a","plan":"b"}}`),
		invalid("a targeting variable twice", "POST", "/v1/variation", `{"campaignKey":"c","userId":"u","variationTargetingVariables":{"x":{"y":1,"y":2}}}`),
		invalid("a track field twice", "POST", "/v1/track", `{"campaignKey":"c","userId":"u","goalIdentifier":"g","GoalIdentifier":"h"}`),
		invalid("a persisted value with a key twice", "PUT", "/v1/persisted-values?key=u:userID&configName=e", `{"a":1,"a":2}`),
		invalid("a persisted value with a nested key twice", "PUT", "/v1/persisted-values?key=u:userID&configName=e", `{"a":{"b":1,"b":2}}`),
		invalid("invalid UTF-8 in userId", "POST", "/v1/storage", "{\"userId\":\"u\xff\",\"campaignKey\":\"c\",\"variationName\":\"V\"}"),
		invalid("invalid UTF-8 in a goal", "POST", "/v1/storage", "{"+ok+",\"goalIdentifier\":\"g\xc3\"}"),
		invalid("invalid UTF-8 in a batch record", "POST", "/v1/storage/batch-set", "{\"records\":[{"+ok+"},{\"userId\":\"\xfe\",\"campaignKey\":\"c\",\"variationName\":\"V\"}]}"),
		invalid("invalid UTF-8 in a custom variable's name", "POST", "/v1/activate", "{\"campaignKey\":\"c\",\"userId\":\"u\",\"customVariables\":{\"\xff\":1}}"),
		invalid("invalid UTF-8 in a custom variable's value", "POST", "/v1/track", "{\"userId\":\"u\",\"goalIdentifier\":\"g\",\"customVariables\":{\"a\":\"\xff\"}}"),
		invalid("invalid UTF-8 in a persisted value", "PUT", "/v1/persisted-values?key=u:userID&configName=e", "{\"a\":\"\xff\"}"),
		invalid("invalid UTF-8 in a persisted value's key", "PUT", "/v1/persisted-values?key=u:userID&configName=e", "{\"\xff\":1}"),
		invalid("invalid UTF-8 in settings", "PUT", "/v1/settings", "{\"accountId\":1,\"sdkKey\":\"\xff\",\"campaigns\":[]}"),
		invalid("a key twice in settings", "PUT", "/v1/settings", `{"accountId":1,"campaigns":[],"campaigns":[]}`),
		invalid("a lone surrogate in userId", "POST", "/v1/storage", `{"userId":"\ud800","campaignKey":"c","variationName":"V"}`),
		invalid("a lone surrogate in a persisted value", "PUT", "/v1/persisted-values?key=u:userID&configName=e", `{"a":"\udfff"}`),
		invalid("NUL in a persisted value", "PUT", "/v1/persisted-values?key=u:userID&configName=e", `{"a":"\u0000"}`),
		{"unknown route", "GET", "/v1/nothing-here", ``, http.StatusNotFound, "not_found"},
		{"wrong method", "PATCH", "/v1/storage", `{}`, http.StatusMethodNotAllowed, "method_not_allowed"},
	}
}

func TestBadInputGetsA4xxAndChangesNothing(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	// Something to leave untouched.
	seed := record{UserID: "u", CampaignKey: "c", VariationName: "Control", GoalIdentifier: "g"}
	require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodPost, "/v1/storage", seed).Status)
	require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodPut, persistedPath("u:userID", "e"), `{"a":1}`).Status)
	before := s.Snapshot(t)

	for _, bad := range badRequests() {
		resp := s.Do(t, key, bad.method, bad.path, bad.body)
		require.Equal(t, bad.status, resp.Status, "%s: %s", bad.name, resp.Body)
		require.Equal(t, bad.code, resp.ErrorCode(t), bad.name)
	}
	require.Equal(t, before, s.Snapshot(t), "bad requests changed the database")
}

func TestBodiesOverTheLimitGet413(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, func(c *apitest.ConfigT) { c.BodyLimit = 1024 })
	key := s.NewKey(t, "acme")
	before := s.Snapshot(t)
	big := `{"userId":"u","campaignKey":"c","variationName":"V","goalIdentifier":"` + strings.Repeat("g", 2000) + `"}`

	// Declared length over the limit: refused before reading.
	resp := s.Do(t, key, http.MethodPost, "/v1/storage", big)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.Status, "%s", resp.Body)
	require.Equal(t, "payload_too_large", resp.ErrorCode(t))

	// Chunked, without a length: refused while reading.
	for _, path := range []string{"/v1/storage", "/v1/storage/batch-set", "/v1/persisted-values?key=k&configName=c"} {
		method := http.MethodPost
		if strings.HasPrefix(path, "/v1/persisted") {
			method = http.MethodPut
		}
		req, err := http.NewRequest(method, s.URL+path, io.MultiReader(bytes.NewBufferString(big)))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode, path)
	}
	require.Equal(t, before, s.Snapshot(t))
}
