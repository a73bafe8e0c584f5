package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apikey"
	"github.com/uss/uss/internal/apitest"
	"github.com/uss/uss/internal/pgtest"
)

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(args, &stdout, &stderr)
	return stdout.String(), err
}

func TestAPIKeyCommands(t *testing.T) {
	t.Setenv("USS_DATABASE_URL", pgtest.EmptyURL(t))

	out, err := runCmd(t, "apikey", "create", "--account", "acme")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	id, ok := apikey.ID(key)
	require.True(t, ok, "the last line is the key alone: %q", key)

	out, err = runCmd(t, "apikey", "check", key)
	require.NoError(t, err)
	require.Equal(t, "valid\n", out)

	out, err = runCmd(t, "apikey", "list", "--account", "acme")
	require.NoError(t, err)
	require.Contains(t, out, id)
	require.NotContains(t, out, key, "list never shows a key")

	_, err = runCmd(t, "apikey", "revoke", id)
	require.NoError(t, err)
	_, err = runCmd(t, "apikey", "check", key)
	require.ErrorIs(t, err, apikey.ErrUnauthenticated)
	_, err = runCmd(t, "apikey", "revoke", id)
	require.ErrorContains(t, err, "no active key")

	_, err = runCmd(t, "apikey", "create")
	require.ErrorContains(t, err, "--account")
}

func TestMigrateCommands(t *testing.T) {
	t.Setenv("USS_DATABASE_URL", pgtest.EmptyURL(t))

	out, err := runCmd(t, "migrate", "up")
	require.NoError(t, err)
	require.Contains(t, out, "applied 1 00001_accounts.sql")
	out, err = runCmd(t, "migrate", "up")
	require.NoError(t, err)
	require.Equal(t, "no migrations pending\n", out)

	out, err = runCmd(t, "migrate", "down")
	require.NoError(t, err)
	require.Contains(t, out, "rolled back")
	out, err = runCmd(t, "migrate", "status")
	require.NoError(t, err)
	require.Contains(t, out, "pending")
	require.Contains(t, out, "applied")

	_, err = runCmd(t, "migrate", "sideways")
	require.ErrorContains(t, err, "unknown migrate command")
	_, err = runCmd(t, "frobnicate")
	require.ErrorContains(t, err, "unknown command")
}

func TestBadConfigurationStopsEveryCommand(t *testing.T) {
	t.Setenv("USS_REQUEST_TIMEOUT", "soon")
	_, err := runCmd(t, "migrate", "status")
	require.ErrorContains(t, err, "USS_REQUEST_TIMEOUT")
}

func TestPurgeDryRunPrintsWhatPurgeThenDeletes(t *testing.T) {
	url := pgtest.URL(t)
	t.Setenv("USS_DATABASE_URL", url)
	_, err := runCmd(t, "purge", "--dry-run")
	require.ErrorContains(t, err, "USS_RETENTION is off")

	s := apitest.StartOn(t, url)
	key := s.NewKey(t, "acme")
	settings := func(campaigns ...string) string {
		var defs []string
		for i, c := range campaigns {
			defs = append(defs, fmt.Sprintf(`{"id": %d, "key": %q, "name": "n", "status": "RUNNING", "type": "VISUAL_AB",
				"percentTraffic": 100, "segments": {}, "goals": [],
				"variations": [{"id": 1, "name": "A", "weight": 100, "changes": {}}]}`, i+1, c))
		}
		return `{"sdkKey": "k", "accountId": 1, "version": 1, "campaigns": [` + strings.Join(defs, ",") + `]}`
	}
	for _, body := range []string{settings("gone", "kept"), settings("kept")} {
		require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodPut, "/v1/settings", body).Status)
	}
	for _, c := range []string{"gone", "kept"} {
		require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodPost, "/v1/storage",
			map[string]string{"userId": "u", "campaignKey": c, "variationName": "A"}).Status)
	}
	t.Setenv("USS_RETENTION", "1ms")
	before := s.Snapshot(t)
	out, err := runCmd(t, "purge", "--dry-run")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^acme\s+gone\s+\S+\s+1\s+0\s+1\s*$`, out, "one assignment, no conversion, its created event")
	require.Contains(t, out, "nothing was deleted")
	require.Equal(t, before, s.Snapshot(t))

	out, err = runCmd(t, "purge")
	require.NoError(t, err)
	require.Contains(t, out, "deleted: 1 assignments, 0 conversions, 1 history events")
	require.EqualValues(t, 1, s.Count(t, `SELECT count(*) FROM assignments`))
}

func TestImportCommandLoadsAFileAllOrNothing(t *testing.T) {
	url := pgtest.URL(t)
	t.Setenv("USS_DATABASE_URL", url)
	dir := t.TempDir()
	good := dir + "/good.ndjson"
	require.NoError(t, os.WriteFile(good, []byte(`{"userId":"u1","campaignKey":"c","variationName":"A","goals":["signup"]}
{"userId":"u2","campaignKey":"c","variationName":"B","exposures":3,"createdAt":"2024-01-02T03:04:05Z"}
`), 0o600))
	out, err := runCmd(t, "import", "--account", "acme", good)
	require.NoError(t, err)
	require.Equal(t, "imported 2 lines into \"acme\": 2 created, 0 updated, 0 unchanged\n", out)

	bad := dir + "/bad.ndjson"
	require.NoError(t, os.WriteFile(bad, []byte(`{"userId":"u3","campaignKey":"c","variationName":"A"}
{"userId":"u4","campaignKey":"c"}
`), 0o600))
	_, err = runCmd(t, "import", "--account", "acme", bad)
	require.ErrorContains(t, err, "line 2: variationName is required")

	s := apitest.StartOn(t, url)
	require.EqualValues(t, 2, s.Count(t, `SELECT count(*) FROM assignments`), "the bad file stored nothing")
	require.EqualValues(t, 3, s.Count(t, `SELECT exposures FROM assignments WHERE user_id = 'u2'`))

	_, err = runCmd(t, "import", good)
	require.ErrorContains(t, err, "usage")
}

func TestHealthcheckSucceedsOnlyWhenTheServerIsReady(t *testing.T) {
	ready := apitest.Start(t)
	out, err := runCmd(t, "healthcheck", "--url", ready.URL+"/readyz")
	require.NoError(t, err)
	require.Equal(t, "ready\n", out)

	pending := apitest.StartOn(t, pgtest.EmptyURL(t), func(c *apitest.ConfigT) { c.MigrateOnStart = false })
	_, err = runCmd(t, "healthcheck", "--url", pending.URL+"/readyz")
	require.ErrorContains(t, err, "503")
	require.ErrorContains(t, err, "migrations pending")

	_, err = runCmd(t, "healthcheck", "--url", "http://127.0.0.1:1/readyz", "--timeout", "1s")
	require.Error(t, err, "nothing listening is not healthy")
}
