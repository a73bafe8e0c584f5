package vwofme_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/uss"
	"github.com/uss/uss/internal/vwofme"
)

func fields(t *testing.T, object string) map[string]json.RawMessage {
	t.Helper()
	var f map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(object), &f))
	return f
}

func TestNewRecordKeysTheObjectByItsFeatureAndUserAndKeepsEveryField(t *testing.T) {
	t.Parallel()
	r, err := vwofme.NewRecord(fields(t, `{"userId": "u-1", "featureKey": "f", "featureId": 12, "big": 12345678901234567890, "x": [1.50, {"b": null}]}`))
	require.NoError(t, err)
	require.Equal(t, vwofme.Key{UserID: "u-1", FeatureKey: "f"}, r.Key)
	//nolint:testifylint // encoded-compare: the bytes are the point (numbers kept as written, keys sorted), which JSONEq would not see
	require.Equal(t, `{"big":12345678901234567890,"featureId":12,"featureKey":"f","userId":"u-1","x":[1.50,{"b":null}]}`, string(r.Object))
}

func TestNewRecordNeedsStringIdentifiers(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ object, message string }{
		"no featureKey":        {`{"userId": "u"}`, "featureKey is required"},
		"no userId":            {`{"featureKey": "f"}`, "userId is required"},
		"a number featureKey":  {`{"featureKey": 1, "userId": "u"}`, "featureKey must be a string"},
		"a null userId":        {`{"featureKey": "f", "userId": null}`, "userId must be a string"},
		"an empty featureKey":  {`{"featureKey": "", "userId": "u"}`, "featureKey is required and must not be empty"},
		"a 256-byte userId":    {`{"featureKey": "f", "userId": "` + strings.Repeat("u", 256) + `"}`, "userId must be at most 255 bytes, got 256"},
		"over the record size": {`{"featureKey": "f", "userId": "u", "p": "` + strings.Repeat("p", vwofme.MaxRecordBytes) + `"}`, "body must be at most 65536 bytes, got 65574"},
	} {
		_, err := vwofme.NewRecord(fields(t, tc.object))
		require.ErrorIs(t, err, uss.ErrInvalidArgument, name)
		require.Equal(t, tc.message, err.Error(), name)
	}
}
