package httpapi_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
)

// holdBudget opens a connection that sends the headers of a request with a body of n bytes
// and then only the body's first byte: the server takes n bytes from its body budget and
// holds them while it waits for the rest. It returns once /metrics shows them held; closing
// the connection gives them back.
func holdBudget(t *testing.T, s *apitest.Server, key, method, path string, n int) net.Conn {
	t.Helper()
	u, err := url.Parse(s.URL)
	require.NoError(t, err)
	conn, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() }) // before the server stops, which waits for it
	_, err = fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n{", method, path, u.Host, key, n)
	require.NoError(t, err)
	requireHeld(t, s, n)
	return conn
}

// requireHeld waits until the server's body budget holds n bytes.
func requireHeld(t *testing.T, s *apitest.Server, n int) {
	t.Helper()
	want := fmt.Sprintf("uss_body_budget_held_bytes %d", n)
	require.Eventually(t, func() bool {
		lines := metricLines(t, s, "uss_body_budget_held_bytes ")
		return len(lines) == 1 && lines[0] == want
	}, 30*time.Second, 20*time.Millisecond, "the body budget never held %d bytes", n)
}

// padded is a storage write of the user made n bytes long with white space, which JSON allows.
func padded(user string, n int) string {
	body := `{"userId":"` + user + `","campaignKey":"c","variationName":"V"}`
	return body + strings.Repeat(" ", n-len(body))
}

func TestABodyThatFindsTheBudgetFullGets503AndChangesNothingWhileSmallRequestsAreServed(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, func(c *apitest.ConfigT) { c.BodyLimit = 64 << 10; c.Limits.BodyBudget = 100 << 10 })
	key := s.NewKey(t, "acme")
	held := holdBudget(t, s, key, http.MethodPost, "/v1/storage", 64<<10)
	before := s.Snapshot(t)

	// 40 KiB does not fit in the 36 KiB left: refused after the wait, with Retry-After.
	resp := s.Do(t, key, http.MethodPost, "/v1/storage", padded("large", 40<<10))
	require.Equal(t, http.StatusServiceUnavailable, resp.Status, "%s", resp.Body)
	require.Equal(t, "unavailable", resp.ErrorCode(t))
	require.Equal(t, "1", resp.Header.Get("Retry-After"))
	require.Contains(t, string(resp.Body), "memory budget")

	// The same body sent without a length (chunked) takes the budget as it is read: refused too.
	req, err := http.NewRequest(http.MethodPost, s.URL+"/v1/storage", io.MultiReader(strings.NewReader(padded("chunked", 40<<10))))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	resp = s.Send(t, req)
	require.Equal(t, http.StatusServiceUnavailable, resp.Status, "%s", resp.Body)
	require.Equal(t, "1", resp.Header.Get("Retry-After"))
	require.Equal(t, before, s.Snapshot(t), "a refused body changes nothing")

	// Small bodies fit beside the held one, and requests without a body take none of it.
	resp = s.Do(t, key, http.MethodPost, "/v1/storage", padded("small", 1<<10))
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	resp = s.Do(t, key, http.MethodGet, "/v1/storage?userId=small&campaignKey=c", nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)

	// Once the held body is abandoned its bytes are free again, and the large body is served.
	require.NoError(t, held.Close())
	requireHeld(t, s, 0)
	resp = s.Do(t, key, http.MethodPost, "/v1/storage", padded("large", 40<<10))
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	resp = s.Do(t, key, http.MethodGet, "/v1/storage?userId=large&campaignKey=c", nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
}

func TestBodiesOverTheirLimitStay413WhateverTheBudget(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, func(c *apitest.ConfigT) { c.BodyLimit = 64 << 10; c.Limits.BodyBudget = 100 << 10 })
	key := s.NewKey(t, "acme")
	holdBudget(t, s, key, http.MethodPost, "/v1/storage", 64<<10)
	// The limit is checked first: a body over it is a 413 at once, never a wait for room.
	resp := s.Do(t, key, http.MethodPost, "/v1/storage", padded("huge", 65<<10))
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.Status, "%s", resp.Body)
	require.Equal(t, "payload_too_large", resp.ErrorCode(t))
}

func TestAKeylessRequestIsRefusedBeforeItWaitsForTheBudget(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, func(c *apitest.ConfigT) { c.BodyLimit = 64 << 10; c.Limits.BodyBudget = 64 << 10 })
	key := s.NewKey(t, "acme")
	holdBudget(t, s, key, http.MethodPost, "/v1/storage", 64<<10)
	// Authentication comes first: a client without a key never holds, nor waits for, the budget.
	resp := s.Do(t, "", http.MethodPost, "/v1/storage", padded("nobody", 1<<10))
	require.Equal(t, http.StatusUnauthorized, resp.Status, "%s", resp.Body)
}

func TestSettingsFilesAreHandledWithinTheirOwnLimitAtOnce(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, func(c *apitest.ConfigT) { c.SettingsBodyLimit = 64 << 10 })
	key := s.NewKey(t, "acme")
	holdBudget(t, s, key, http.MethodPut, "/v1/settings", 40<<10)
	before := s.Snapshot(t)

	// Parsing and storing a settings file holds several times its size: the files handled at
	// once stay within one file's limit, so a second one waits, then gets a 503.
	file := settingsJSON(campaignJSON("c", 100, [2]float64{50, 50}, ""))
	file += strings.Repeat(" ", 40<<10-len(file))
	resp := s.Do(t, key, http.MethodPut, "/v1/settings", file)
	require.Equal(t, http.StatusServiceUnavailable, resp.Status, "%s", resp.Body)
	require.Equal(t, "unavailable", resp.ErrorCode(t))
	require.Equal(t, "1", resp.Header.Get("Retry-After"))
	require.Equal(t, before, s.Snapshot(t), "a refused file changes nothing")

	// Other bodies as large are served meanwhile, and a small file fits beside the held one.
	resp = s.Do(t, key, http.MethodPost, "/v1/storage", padded("large", 40<<10))
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.Equal(t, int64(1), putSettings(t, s, key, settingsJSON(campaignJSON("c", 100, [2]float64{50, 50}, ""))))
}
