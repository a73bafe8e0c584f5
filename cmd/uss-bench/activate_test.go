package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// decisionServer stands in for a uss build: settings is the status of PUT /v1/settings, and
// activate the statuses of successive POST /v1/activate calls, the last one repeated.
func decisionServer(t *testing.T, settings int, activate ...int) *bench {
	t.Helper()
	var calls atomic.Int64
	// A malformed request gets 418, which the case expecting success then reports (require
	// cannot stop the test from the handler's goroutine).
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || r.Header.Get("Authorization") != "Bearer k" {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/v1/settings":
			if !json.Valid(body) {
				w.WriteHeader(http.StatusTeapot)
				return
			}
			w.WriteHeader(settings)
		case r.Method == http.MethodPost && r.URL.Path == "/v1/activate":
			var req map[string]string
			if json.Unmarshal(body, &req) != nil || req["campaignKey"] != activateCampaign || req["userId"] == "" {
				w.WriteHeader(http.StatusTeapot)
				return
			}
			w.WriteHeader(activate[min(int(calls.Add(1))-1, len(activate)-1)])
		default:
			w.WriteHeader(http.StatusNotFound)
		}
		_, _ = io.WriteString(w, `{}`)
	}))
	t.Cleanup(srv.Close)
	return &bench{ep: endpoint{addr: strings.TrimPrefix(srv.URL, "http://"), key: "k"}}
}

func TestActivateIsMeasuredOnlyWhenTheBuildHasIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		settings int
		activate []int
		why      string
	}{
		{"a build with settings and decisions", 200, []int{200}, ""},
		{"settings that reach memory a moment after the upload", 200, []int{404, 404, 200}, ""},
		{"a build without settings", 404, []int{404}, "not available in this build (PUT /v1/settings answered 404)"},
		{"a build without decisions", 200, []int{405}, "not available in this build (POST /v1/activate answered 405"},
		{"a campaign that never appears", 200, []int{404}, "not available in this build (POST /v1/activate answered 404"},
		{"settings refused", 400, []int{200}, "not measured: PUT /v1/settings answered 400"},
		{"decisions failing", 200, []int{500}, "not measured: POST /v1/activate answered 500"},
	} {
		why, err := decisionServer(t, tc.settings, tc.activate...).activateAvailable(ctx)
		require.NoError(t, err, tc.name)
		if tc.why == "" {
			require.Empty(t, why, tc.name)
		} else {
			require.True(t, strings.HasPrefix(why, tc.why), "%s: %s", tc.name, why)
		}
	}

	b := &bench{ep: endpoint{addr: "127.0.0.1:1", key: "k"}}
	_, err := b.activateAvailable(ctx)
	require.Error(t, err, "a server that cannot be reached is the instrument failing, not a missing feature")
}
