// Package config reads uss's configuration from the environment into one validated struct.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Config is everything `uss-server` can be told. Each field names its variable.
type Config struct {
	DatabaseURL       string        // USS_DATABASE_URL
	ListenAddr        string        // USS_LISTEN_ADDR
	MigrateOnStart    bool          // USS_MIGRATE_ON_START
	BodyLimit         int64         // USS_BODY_LIMIT: bytes of a request body (settings excepted)
	SettingsBodyLimit int64         // USS_SETTINGS_BODY_LIMIT: bytes of a settings file
	RequestTimeout    time.Duration // USS_REQUEST_TIMEOUT: budget of one request's handler
	ShutdownTimeout   time.Duration // USS_SHUTDOWN_TIMEOUT: budget to drain in-flight requests
	APIKeyCacheTTL    time.Duration // USS_APIKEY_CACHE_TTL: how long a resolved key is trusted
	// USS_SETTINGS_POLL_INTERVAL: how often settings versions are polled, as a fallback for
	// change notifications.
	SettingsPollInterval time.Duration
	LogLevel             slog.Level // USS_LOG_LEVEL: debug, info, warn or error
	// USS_PPROF_ADDR: when set, Go's profiling endpoints (/debug/pprof/) are served on this
	// separate address; off by default, never on the API's address.
	PprofAddr string
	// USS_RETENTION: the data of a campaign removed from its settings longer ago than this is
	// deleted by the retention task; 0 (the default) keeps it for ever.
	Retention time.Duration
	// USS_RETENTION_INTERVAL: how often the retention task runs (when anything is to delete).
	RetentionInterval time.Duration
	// USS_BULK_TIMEOUT: budget of one export or import, which stream for longer than a
	// request may take.
	BulkTimeout time.Duration
	// USS_IMPORT_BODY_LIMIT: bytes of one import's body (it streams: memory does not grow
	// with it; the limit bounds one transaction).
	ImportBodyLimit int64
	Limits          Limits

	// Deployment: where the database is reached from and how long to wait for it.
	Database DatabaseConfig
}

// DatabaseConfig is how uss reaches PostgreSQL beyond the query URL.
type DatabaseConfig struct {
	// USS_DIRECT_DATABASE_URL: a connection that reaches PostgreSQL itself, not through a
	// transaction-pooling PgBouncer, for what needs a session: creating the database,
	// migrations and LISTEN for settings changes. Empty: USS_DATABASE_URL serves for those too.
	DirectURL string
	// USS_STARTUP_TIMEOUT: how long `serve` waits for the database at start before it exits;
	// 0 (the default) waits for as long as it takes.
	StartupTimeout time.Duration
}

// DirectDatabaseURL is the URL for session work: USS_DIRECT_DATABASE_URL, else USS_DATABASE_URL.
func (c Config) DirectDatabaseURL() string {
	if c.Database.DirectURL != "" {
		return c.Database.DirectURL
	}
	return c.DatabaseURL
}

// Limits bound what clients can make one process hold (docs/operations.md).
type Limits struct {
	MaxConnections int           // USS_MAX_CONNECTIONS: client connections open at once
	IdleTimeout    time.Duration // USS_IDLE_TIMEOUT: how long an idle keep-alive connection stays open
	// USS_SETTINGS_MAX_CAMPAIGNS: campaigns one settings file may list.
	SettingsMaxCampaigns int
	SettingsKeep         int // USS_SETTINGS_KEEP: settings versions kept per account, the current one included
	// USS_BODY_BUDGET: bytes of request bodies held at once, across all requests; a body
	// that finds no room waits up to a second, then gets a 503 with Retry-After.
	BodyBudget int64
	// USS_MEMORY_LIMIT: the Go runtime's soft memory limit (debug.SetMemoryLimit): near it the
	// garbage collector runs more often rather than let the heap grow; 0 sets none.
	MemoryLimit int64
}

// DefaultLimits: about 20 KiB per open connection makes 4096 connections some 80 MiB; an
// idle timeout above the 60 s of common load balancers (AWS ALB), so that none reuses a
// connection uss has just closed; thousands of campaigns where real accounts have hundreds.
// A body budget of twice the largest body (a 16 MiB settings file) and a memory limit that
// keeps the process under 100 MB whatever bodies arrive (docs/operations.md, "Memory").
func DefaultLimits() Limits {
	return Limits{MaxConnections: 4096, IdleTimeout: 75 * time.Second, SettingsMaxCampaigns: 10000, SettingsKeep: 50,
		BodyBudget: 32 << 20, MemoryLimit: 64 << 20}
}

// Default is the configuration of a local install: the local PostgreSQL, loopback only.
func Default() Config {
	return Config{
		DatabaseURL:          "postgres://postgres@127.0.0.1:5432/uss?sslmode=disable",
		ListenAddr:           "127.0.0.1:8080",
		MigrateOnStart:       true,
		BodyLimit:            1 << 20,
		SettingsBodyLimit:    16 << 20,
		RequestTimeout:       5 * time.Second,
		ShutdownTimeout:      15 * time.Second,
		APIKeyCacheTTL:       10 * time.Second,
		SettingsPollInterval: 5 * time.Second,
		LogLevel:             slog.LevelInfo,
		RetentionInterval:    time.Hour,
		BulkTimeout:          30 * time.Minute,
		ImportBodyLimit:      1 << 30,
		Limits:               DefaultLimits(),
	}
}

// FromEnv reads the configuration from the environment over the defaults and validates it.
// Every problem is reported at once.
func FromEnv() (Config, error) { return fromLookup(os.LookupEnv) }

func fromLookup(lookup func(string) (string, bool)) (Config, error) {
	c := Default()
	var errs []error
	str := func(name string, dst *string) {
		if v, ok := lookup(name); ok {
			*dst = v
		}
	}
	parse := func(name string, set func(string) error) {
		if v, ok := lookup(name); ok {
			if err := set(strings.TrimSpace(v)); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
	}
	duration := func(name string, dst *time.Duration) {
		parse(name, func(v string) (err error) { *dst, err = time.ParseDuration(v); return err })
	}
	size := func(name string, dst *int64) {
		parse(name, func(v string) (err error) { *dst, err = ParseSize(v); return err })
	}
	str("USS_DATABASE_URL", &c.DatabaseURL)
	str("USS_LISTEN_ADDR", &c.ListenAddr)
	str("USS_PPROF_ADDR", &c.PprofAddr)
	parse("USS_MIGRATE_ON_START", func(v string) (err error) { c.MigrateOnStart, err = strconv.ParseBool(v); return err })
	size("USS_BODY_LIMIT", &c.BodyLimit)
	size("USS_SETTINGS_BODY_LIMIT", &c.SettingsBodyLimit)
	duration("USS_REQUEST_TIMEOUT", &c.RequestTimeout)
	duration("USS_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	duration("USS_APIKEY_CACHE_TTL", &c.APIKeyCacheTTL)
	duration("USS_SETTINGS_POLL_INTERVAL", &c.SettingsPollInterval)
	parse("USS_LOG_LEVEL", func(v string) error { return c.LogLevel.UnmarshalText([]byte(v)) })
	duration("USS_RETENTION", &c.Retention)
	duration("USS_RETENTION_INTERVAL", &c.RetentionInterval)
	duration("USS_BULK_TIMEOUT", &c.BulkTimeout)
	size("USS_IMPORT_BODY_LIMIT", &c.ImportBodyLimit)
	str("USS_DIRECT_DATABASE_URL", &c.Database.DirectURL)
	duration("USS_STARTUP_TIMEOUT", &c.Database.StartupTimeout)
	integer := func(name string, dst *int) {
		parse(name, func(v string) (err error) { *dst, err = strconv.Atoi(v); return err })
	}
	integer("USS_MAX_CONNECTIONS", &c.Limits.MaxConnections)
	duration("USS_IDLE_TIMEOUT", &c.Limits.IdleTimeout)
	integer("USS_SETTINGS_MAX_CAMPAIGNS", &c.Limits.SettingsMaxCampaigns)
	integer("USS_SETTINGS_KEEP", &c.Limits.SettingsKeep)
	size("USS_BODY_BUDGET", &c.Limits.BodyBudget)
	size("USS_MEMORY_LIMIT", &c.Limits.MemoryLimit)
	if len(errs) == 0 {
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return c, errors.Join(errs...)
}

// Validate checks values that parse but make no sense.
func (c Config) Validate() error {
	var errs []error
	if _, err := pgxpool.ParseConfig(c.DatabaseURL); err != nil {
		errs = append(errs, fmt.Errorf("USS_DATABASE_URL: %s", redactErr(err, c.DatabaseURL)))
	}
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		errs = append(errs, fmt.Errorf("USS_LISTEN_ADDR: %w", err))
	}
	if _, _, err := net.SplitHostPort(c.PprofAddr); c.PprofAddr != "" && err != nil {
		errs = append(errs, fmt.Errorf("USS_PPROF_ADDR: %w", err))
	}
	if _, err := pgxpool.ParseConfig(c.Database.DirectURL); c.Database.DirectURL != "" && err != nil {
		errs = append(errs, fmt.Errorf("USS_DIRECT_DATABASE_URL: %s", redactErr(err, c.Database.DirectURL)))
	}
	if c.Database.StartupTimeout < 0 {
		errs = append(errs, errors.New("USS_STARTUP_TIMEOUT: must be 0 (wait forever) or positive"))
	}
	positive := func(name string, ok bool) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s: must be positive", name))
		}
	}
	positive("USS_BODY_LIMIT", c.BodyLimit > 0)
	positive("USS_SETTINGS_BODY_LIMIT", c.SettingsBodyLimit > 0)
	positive("USS_REQUEST_TIMEOUT", c.RequestTimeout > 0)
	positive("USS_SHUTDOWN_TIMEOUT", c.ShutdownTimeout > 0)
	positive("USS_APIKEY_CACHE_TTL", c.APIKeyCacheTTL > 0)
	positive("USS_SETTINGS_POLL_INTERVAL", c.SettingsPollInterval > 0)
	positive("USS_RETENTION_INTERVAL", c.RetentionInterval > 0)
	positive("USS_BULK_TIMEOUT", c.BulkTimeout > 0)
	positive("USS_IMPORT_BODY_LIMIT", c.ImportBodyLimit > 0)
	if c.Retention < 0 {
		errs = append(errs, errors.New("USS_RETENTION: must not be negative (0 keeps everything)"))
	}
	positive("USS_MAX_CONNECTIONS", c.Limits.MaxConnections > 0)
	positive("USS_IDLE_TIMEOUT", c.Limits.IdleTimeout > 0)
	positive("USS_SETTINGS_MAX_CAMPAIGNS", c.Limits.SettingsMaxCampaigns > 0)
	positive("USS_SETTINGS_KEEP", c.Limits.SettingsKeep > 0)
	// A body at its limit must fit, or it could never be accepted.
	if most := max(c.BodyLimit, c.SettingsBodyLimit); c.Limits.BodyBudget < most {
		errs = append(errs, fmt.Errorf("USS_BODY_BUDGET: must be at least the largest body limit (%d bytes)", most))
	}
	return errors.Join(errs...)
}

// ParseSize reads a byte count: a plain number or one with a KiB, MiB or GiB suffix.
func ParseSize(v string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(v, suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, suffix)), m
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q is not a size such as 1048576 or 1MiB", v)
	}
	return n * mult, nil
}

// RedactedDatabaseURL is the database URL fit for a log: the password replaced.
func (c Config) RedactedDatabaseURL() string { return Redact(c.DatabaseURL) }

// Redact removes a password from a postgres:// URL; other forms are returned as the word
// "(dsn)" since a key=value DSN may hold a password anywhere.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "(dsn)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "REDACTED")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// redactErr keeps a parse error's message from echoing the secret back.
func redactErr(err error, dsn string) string {
	msg := err.Error()
	if u, perr := url.Parse(dsn); perr == nil {
		if p, has := u.User.Password(); has && p != "" {
			msg = strings.ReplaceAll(msg, p, "REDACTED")
		}
	}
	return msg
}
