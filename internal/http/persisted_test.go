package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
)

func persistedPath(key, configName string) string {
	q := url.Values{"key": {key}}
	if configName != "" {
		q.Set("configName", configName)
	}
	return "/v1/persisted-values?" + q.Encode()
}

func TestPersistedValuesSaveLoadReplaceAndDelete(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	storageKey := "user:with:colons:userID"

	require.Equal(t, http.StatusNotFound, s.Do(t, key, http.MethodGet, persistedPath(storageKey, ""), nil).Status)

	sticky := `{"value":true,"json_value":{"color":"blue"},"rule_id":"r1","group_name":"Control","secondary_exposures":[],"time":1700000000000}`
	resp := s.Do(t, key, http.MethodPut, persistedPath(storageKey, "exp_one"), sticky)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	resp = s.Do(t, key, http.MethodPut, persistedPath(storageKey, "exp_two"), `{"group_name":"Test"}`)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)

	resp = s.Do(t, key, http.MethodGet, persistedPath(storageKey, ""), nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.JSONEq(t, `{"key":"`+storageKey+`","values":{"exp_one":`+sticky+`,"exp_two":{"group_name":"Test"}}}`, string(resp.Body))

	resp = s.Do(t, key, http.MethodPut, persistedPath(storageKey, "exp_two"), `{"group_name":"Control"}`)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	resp = s.Do(t, key, http.MethodDelete, persistedPath(storageKey, "exp_one"), nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.JSONEq(t, `{"deleted":{"assignments":0,"conversions":0,"persistedValues":1,"vwoFmeRecords":0,"growthbookAssignments":0,"optimizelyDecisions":0}}`, string(resp.Body))

	resp = s.Do(t, key, http.MethodGet, persistedPath(storageKey, ""), nil)
	require.JSONEq(t, `{"key":"`+storageKey+`","values":{"exp_two":{"group_name":"Control"}}}`, string(resp.Body))
}

func TestPersistedValuesMustBeJSONObjects(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	for name, body := range map[string]string{
		"array":       `[1,2]`,
		"string":      `"x"`,
		"null":        `null`,
		"empty":       ``,
		"broken":      `{"a":`,
		"two objects": `{}{}`,
		"NUL escape":  `{"a":"\u0000"}`,
	} {
		t.Run(name, func(t *testing.T) {
			resp := s.Do(t, key, http.MethodPut, persistedPath("u:userID", "exp"), body)
			require.Equal(t, http.StatusBadRequest, resp.Status, "%s", resp.Body)
			require.Equal(t, "invalid_argument", resp.ErrorCode(t))
		})
	}
	require.Equal(t, http.StatusNotFound, s.Do(t, key, http.MethodGet, persistedPath("u:userID", ""), nil).Status,
		"nothing was stored")
}

// A value PostgreSQL refuses is a 400 in uss's words: the database's own text (here
// "unsupported Unicode escape sequence") never reaches the client.
func TestARefusedValueIsAnsweredInUSSWords(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	before := s.Snapshot(t)
	resp := s.Do(t, key, http.MethodPut, persistedPath("u:userID", "e"), `{"a":"\u0000"}`)
	require.Equal(t, http.StatusBadRequest, resp.Status, "%s", resp.Body)
	require.Equal(t, "invalid_argument", resp.ErrorCode(t))
	var e struct {
		Error struct{ Message string } `json:"error"`
	}
	resp.Decode(t, &e)
	require.Equal(t, `a value holds a character that cannot be stored (\u0000)`, e.Error.Message)
	require.Equal(t, before, s.Snapshot(t))
}
