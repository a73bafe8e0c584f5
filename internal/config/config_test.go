package config

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestDefaultsServeTheLocalDatabaseOnLoopback(t *testing.T) {
	t.Parallel()
	c, err := fromLookup(lookup(nil))
	require.NoError(t, err)
	require.Equal(t, Default(), c)
	require.Equal(t, "postgres://postgres@127.0.0.1:5432/uss?sslmode=disable", c.DatabaseURL)
	require.Equal(t, "127.0.0.1:8080", c.ListenAddr)
	require.True(t, c.MigrateOnStart)
	require.Equal(t, int64(1<<20), c.BodyLimit)
}

func TestEnvironmentOverridesDefaults(t *testing.T) {
	t.Parallel()
	c, err := fromLookup(lookup(map[string]string{
		"USS_DATABASE_URL":           "postgres://u:secret@db:5433/x",
		"USS_LISTEN_ADDR":            ":9090",
		"USS_MIGRATE_ON_START":       "false",
		"USS_BODY_LIMIT":             "2MiB",
		"USS_SETTINGS_BODY_LIMIT":    "1048576",
		"USS_REQUEST_TIMEOUT":        "750ms",
		"USS_SHUTDOWN_TIMEOUT":       "1m",
		"USS_APIKEY_CACHE_TTL":       "3s",
		"USS_SETTINGS_POLL_INTERVAL": "250ms",
		"USS_LOG_LEVEL":              "debug",
		"USS_RETENTION":              "720h",
		"USS_RETENTION_INTERVAL":     "10m",
		"USS_BULK_TIMEOUT":           "2h",
		"USS_IMPORT_BODY_LIMIT":      "2GiB",
		"USS_MAX_CONNECTIONS":        "100",
		"USS_IDLE_TIMEOUT":           "20s",
		"USS_SETTINGS_MAX_CAMPAIGNS": "500",
		"USS_SETTINGS_KEEP":          "3",
		"USS_BODY_BUDGET":            "8MiB",
		"USS_MEMORY_LIMIT":           "0",
	}))
	require.NoError(t, err)
	require.Equal(t, Config{
		DatabaseURL: "postgres://u:secret@db:5433/x", ListenAddr: ":9090", MigrateOnStart: false,
		BodyLimit: 2 << 20, SettingsBodyLimit: 1 << 20, RequestTimeout: 750 * time.Millisecond,
		ShutdownTimeout: time.Minute, APIKeyCacheTTL: 3 * time.Second, SettingsPollInterval: 250 * time.Millisecond,
		LogLevel: slog.LevelDebug, Retention: 720 * time.Hour, RetentionInterval: 10 * time.Minute,
		BulkTimeout: 2 * time.Hour, ImportBodyLimit: 2 << 30,
		Limits: Limits{MaxConnections: 100, IdleTimeout: 20 * time.Second, SettingsMaxCampaigns: 500, SettingsKeep: 3,
			BodyBudget: 8 << 20, MemoryLimit: 0},
	}, c)
	require.Equal(t, "postgres://u:REDACTED@db:5433/x", c.RedactedDatabaseURL())
}

func TestEveryBadValueIsReportedAtOnce(t *testing.T) {
	t.Parallel()
	_, err := fromLookup(lookup(map[string]string{
		"USS_MIGRATE_ON_START": "maybe",
		"USS_BODY_LIMIT":       "lots",
		"USS_REQUEST_TIMEOUT":  "5",
		"USS_LOG_LEVEL":        "loud",
		"USS_RETENTION":        "forever",
	}))
	require.Error(t, err)
	for _, name := range []string{"USS_MIGRATE_ON_START", "USS_BODY_LIMIT", "USS_REQUEST_TIMEOUT", "USS_LOG_LEVEL", "USS_RETENTION"} {
		require.Contains(t, err.Error(), name)
	}

	_, err = fromLookup(lookup(map[string]string{"USS_LISTEN_ADDR": "no-port", "USS_SHUTDOWN_TIMEOUT": "0s"}))
	require.ErrorContains(t, err, "USS_LISTEN_ADDR")
	require.ErrorContains(t, err, "USS_SHUTDOWN_TIMEOUT: must be positive")

	_, err = fromLookup(lookup(map[string]string{"USS_MAX_CONNECTIONS": "many", "USS_SETTINGS_KEEP": "1.5"}))
	require.ErrorContains(t, err, "USS_MAX_CONNECTIONS")
	require.ErrorContains(t, err, "USS_SETTINGS_KEEP")
	for _, name := range []string{"USS_MAX_CONNECTIONS", "USS_IDLE_TIMEOUT", "USS_SETTINGS_MAX_CAMPAIGNS", "USS_SETTINGS_KEEP"} {
		value := "0"
		if name == "USS_IDLE_TIMEOUT" {
			value = "0s"
		}
		_, err = fromLookup(lookup(map[string]string{name: value}))
		require.ErrorContains(t, err, name+": must be positive")
	}

	// A body at its limit must fit in the budget, or it could never be accepted.
	_, err = fromLookup(lookup(map[string]string{"USS_BODY_BUDGET": "8MiB"}))
	require.ErrorContains(t, err, "USS_BODY_BUDGET: must be at least the largest body limit (16777216 bytes)")
	_, err = fromLookup(lookup(map[string]string{"USS_MEMORY_LIMIT": "a little"}))
	require.ErrorContains(t, err, "USS_MEMORY_LIMIT")
}

func TestABadDatabaseURLDoesNotEchoItsPassword(t *testing.T) {
	t.Parallel()
	_, err := fromLookup(lookup(map[string]string{"USS_DATABASE_URL": "postgres://u:hunter2@db:notaport/x"}))
	require.ErrorContains(t, err, "USS_DATABASE_URL")
	require.NotContains(t, err.Error(), "hunter2")
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"0": 0, "1024": 1024, "1KiB": 1024, "16MiB": 16 << 20, "1 GiB": 1 << 30} {
		got, err := ParseSize(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "-1", "1MB", "x", "99999999GiB"} {
		_, err := ParseSize(bad)
		require.Error(t, err, bad)
	}
}

func TestDirectDatabaseURLDefaultsToTheQueryURL(t *testing.T) {
	t.Parallel()
	c, err := fromLookup(lookup(map[string]string{"USS_DATABASE_URL": "postgres://u@bouncer:6432/uss"}))
	require.NoError(t, err)
	require.Equal(t, "postgres://u@bouncer:6432/uss", c.DirectDatabaseURL())
	require.Zero(t, c.Database.StartupTimeout, "by default serve waits for the database forever")

	c, err = fromLookup(lookup(map[string]string{
		"USS_DATABASE_URL":        "postgres://u@bouncer:6432/uss",
		"USS_DIRECT_DATABASE_URL": "postgres://u@db:5432/uss",
		"USS_STARTUP_TIMEOUT":     "90s",
	}))
	require.NoError(t, err)
	require.Equal(t, "postgres://u@db:5432/uss", c.DirectDatabaseURL())
	require.Equal(t, 90*time.Second, c.Database.StartupTimeout)
}

func TestBadDeploymentValuesAreRefused(t *testing.T) {
	t.Parallel()
	_, err := fromLookup(lookup(map[string]string{
		"USS_DIRECT_DATABASE_URL": "postgres://u:hunter2@db:notaport/x",
		"USS_STARTUP_TIMEOUT":     "-1s",
	}))
	require.ErrorContains(t, err, "USS_DIRECT_DATABASE_URL")
	require.ErrorContains(t, err, "USS_STARTUP_TIMEOUT")
	require.NotContains(t, err.Error(), "hunter2")
}
