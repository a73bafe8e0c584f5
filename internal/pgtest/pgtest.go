// Package pgtest gives each test its own real PostgreSQL database, cloned from a migrated
// template, so that tests of the storage path run in parallel against the real thing.
//
// The server is found in this order: USS_TEST_DATABASE_URL if set; else a PostgreSQL on
// 127.0.0.1:5432 (user postgres, trust auth) if one answers; else a testcontainers PostgreSQL
// if a Docker engine answers; else the test fails with a message naming the three options.
// It never skips.
//
// The server may be shared: by several test processes on one machine and by several machines
// or containers. Every database the harness creates carries a mark (COMMENT ON DATABASE) with
// its owner and creation time, and the harness drops only leftovers it can prove dead: marked
// by a process of its own machine and process namespace that no longer runs, or marked more
// than a day ago (see marker.go).
//
// With USS_TEST_PGBOUNCER set, the databases are reached through a PgBouncer in transaction mode
// (see pgbouncer.go).
package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"

	"github.com/uss/uss/internal/postgres"
	"github.com/uss/uss/migrations"
)

const localURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=2"

// Advisory lock keys shared by every test process on the server: one builds the template at a
// time, and clones are serialized because PostgreSQL refuses to copy a template while another
// session is copying it.
const (
	templateLock = 0x7573735f746d706c // "uss_tmpl"
	cloneLock    = 0x7573735f636c6f6e // "uss_clon"
)

var (
	setupOnce sync.Once
	setupErr  error
	serverURL string          // connection string of the test server, as found
	admin     *pgx.ConnConfig // serverURL parsed: its database runs CREATE and DROP DATABASE
	template  string
	self      owner // this process, as its marks name it

	// adminConn runs every CREATE and DROP DATABASE of this process, one at a time.
	adminMu   sync.Mutex
	adminConn *pgx.Conn
	counter   atomic.Int64
)

// URL returns the URL of a new database with every migration applied, dropped when the test
// ends.
func URL(t testing.TB) string {
	t.Helper()
	return create(t, true)
}

// EmptyURL returns the URL of a new database without any migration, dropped when the test ends.
func EmptyURL(t testing.TB) string {
	t.Helper()
	return create(t, false)
}

// Pool returns a pool on a new migrated database, closed and dropped when the test ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), URL(t))
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func create(t testing.TB, migrated bool) string {
	t.Helper()
	setupOnce.Do(func() { setupErr = setup(context.Background()) })
	if setupErr != nil {
		t.Fatalf("pgtest: %v", setupErr)
	}
	name := fmt.Sprintf("%s%d_%s_%d", testPrefix, self.PID, self.Run, counter.Add(1))
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if migrated {
		stmt += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if err := adminExec(stmt, cloneLock); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	if err := adminExec(markSQL(name, self.mark(kindTest, time.Now())), 0); err != nil {
		t.Fatalf("pgtest: mark database: %v", err)
	}
	t.Cleanup(func() {
		if err := adminExec("DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)", 0); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	if bouncerMode() {
		return ThroughBouncer(t, withDatabase(name))
	}
	return withDatabase(name)
}

// adminExec runs one statement on the admin connection, under the advisory lock if lock != 0.
func adminExec(stmt string, lock int64) error {
	adminMu.Lock()
	defer adminMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if lock != 0 {
		if _, err := adminConn.Exec(ctx, "SELECT pg_advisory_lock($1)", lock); err != nil {
			return err
		}
		defer adminConn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lock) //nolint:errcheck // released with the session anyway
	}
	_, err := adminConn.Exec(ctx, stmt)
	return err
}

func setup(ctx context.Context) (err error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if serverURL, err = findServer(ctx); err != nil {
		return err
	}
	if admin, err = pgx.ParseConfig(serverURL); err != nil {
		return err
	}
	if adminConn, err = pgx.ConnectConfig(ctx, admin); err != nil {
		return fmt.Errorf("connect to test server: %w", err)
	}
	if self, err = thisProcess(); err != nil {
		return err
	}
	if err := buildTemplate(ctx); err != nil {
		return err
	}
	// Best effort: a leftover that cannot be dropped (say, owned by another role) must not
	// stop the tests.
	if err := dropLeftovers(ctx, adminConn, self, time.Now()); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
	}
	return nil
}

func findServer(ctx context.Context) (string, error) {
	if u := os.Getenv("USS_TEST_DATABASE_URL"); u != "" {
		if err := ping(ctx, u); err != nil {
			return "", fmt.Errorf("USS_TEST_DATABASE_URL does not answer: %w", err)
		}
		return u, nil
	}
	localErr := ping(ctx, localURL)
	if localErr == nil {
		return localURL, nil
	}
	container, err := tcpostgres.Run(ctx, "postgres:15-alpine",
		tcpostgres.WithDatabase("postgres"), tcpostgres.WithUsername("postgres"), tcpostgres.WithPassword("postgres"),
		tcpostgres.BasicWaitStrategies())
	if err == nil {
		// The container outlives this function: testcontainers' reaper removes it after the
		// test process exits.
		var u string
		if u, err = container.ConnectionString(ctx, "sslmode=disable"); err == nil {
			return u, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL for the integration tests. Give one of: "+
		"(1) USS_TEST_DATABASE_URL=postgres://user@host:port/db (the user must be allowed to create databases); "+
		"(2) a PostgreSQL on 127.0.0.1:5432 with user postgres and trust auth (tried: %v); "+
		"(3) a Docker engine for testcontainers (tried: %v)", localErr, err)
}

func ping(ctx context.Context, connString string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// buildTemplate makes the migrated template once per migration set: its name carries a hash of
// the migration files, and it is built under another name and renamed when complete, so no
// process ever clones a half-migrated template.
func buildTemplate(ctx context.Context) error {
	sum, err := migrationsHash()
	if err != nil {
		return err
	}
	template = templatePrefix + sum
	if _, err := adminConn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(templateLock)); err != nil {
		return fmt.Errorf("lock template: %w", err)
	}
	defer adminConn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", int64(templateLock)) //nolint:errcheck
	var exists bool
	if err := adminConn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", template).Scan(&exists); err != nil {
		return fmt.Errorf("look for template: %w", err)
	}
	// The mark of the template says when it was last used, not built: a template is shared by
	// every run of the same migrations, and only one unused for a day may go.
	mark := markSQL(template, self.mark(kindTemplate, time.Now()))
	if exists {
		if _, err := adminConn.Exec(ctx, mark); err != nil {
			return fmt.Errorf("mark template: %w", err)
		}
		return nil
	}
	// A build left by a process that died while building: the lock it held is ours now.
	build := template + "_build"
	for _, stmt := range []string{
		"DROP DATABASE IF EXISTS " + pgx.Identifier{build}.Sanitize() + " WITH (FORCE)",
		"CREATE DATABASE " + pgx.Identifier{build}.Sanitize(),
		markSQL(build, self.mark(kindTemplate, time.Now())),
	} {
		if _, err := adminConn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("build template: %w", err)
		}
	}
	if err := migrate(ctx, withDatabase(build)); err != nil {
		return err
	}
	// The mark moves with the rename.
	if _, err := adminConn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{build}.Sanitize()+" RENAME TO "+pgx.Identifier{template}.Sanitize()); err != nil {
		return fmt.Errorf("publish template: %w", err)
	}
	return nil
}

func migrate(ctx context.Context, connString string) error {
	pool, err := postgres.Connect(ctx, connString)
	if err != nil {
		return err
	}
	defer pool.Close()
	m, err := postgres.NewMigrator(pool)
	if err != nil {
		return err
	}
	defer m.Close()
	_, err = m.Up(ctx)
	return err
}

func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// withDatabase is the server's connection string naming another database, everything else
// (TLS, options) as given.
func withDatabase(name string) string {
	if u, err := url.Parse(serverURL); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		return u.String()
	}
	return serverURL + " dbname=" + name // key=value form: the last setting wins
}
