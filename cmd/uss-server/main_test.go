package main

import (
	"bytes"
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
