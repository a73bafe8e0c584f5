package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Names of what the harness creates: a database per test and a migrated template per set of
// migrations.
const (
	testPrefix     = "uss_test_"
	templatePrefix = "uss_tmpl_"
)

// markPrefix starts the comment of every database the harness creates; the rest of the
// comment is a marker as JSON.
const markPrefix = "uss-pgtest "

// staleAfter is the age past which a database the harness made is a leftover whoever made it:
// no test run lasts a day (go test's default timeout is 10 minutes), and a template is marked
// again by every run that uses it.
const staleAfter = 24 * time.Hour

type kind string

const (
	kindTest     kind = "test"
	kindTemplate kind = "template"
)

// owner is a test process as its marks name it.
type owner struct {
	// Host is for people reading the mark; containers of one machine may share it.
	Host string `json:"host"`
	// Scope names the kernel boot and the process namespace: only inside one scope does a
	// process id name one process, so only there may a dead id mark a leftover. Empty when it
	// cannot be read (a system without /proc): such marks go by age alone.
	Scope string `json:"scope,omitempty"`
	PID   int    `json:"pid"`
	// Run is random per process, so that names stay unique across machines whose process ids
	// collide.
	Run string `json:"run"`
}

// marker is what COMMENT ON DATABASE holds for a database the harness created.
type marker struct {
	owner
	Kind kind `json:"kind"`
	// At is when a test database was created, or when a template was last used.
	At time.Time `json:"at"`
}

func thisProcess() (owner, error) {
	host, _ := os.Hostname()
	var run [4]byte
	if _, err := rand.Read(run[:]); err != nil {
		return owner{}, fmt.Errorf("pick a run id: %w", err)
	}
	return owner{Host: host, Scope: processScope(), PID: os.Getpid(), Run: hex.EncodeToString(run[:])}, nil
}

// processScope is the kernel's boot id and this process's pid namespace, or "" when either
// cannot be read.
func processScope() string {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(boot)) + "/" + ns
}

func (o owner) mark(k kind, at time.Time) marker {
	return marker{owner: o, Kind: k, At: at.UTC().Truncate(time.Second)}
}

func (m marker) String() string {
	b, _ := json.Marshal(m) // a struct of strings, ints and a time: cannot fail
	return markPrefix + string(b)
}

// parseMark reads a database comment; false when it is not the harness's mark.
func parseMark(comment string) (marker, bool) {
	rest, ok := strings.CutPrefix(comment, markPrefix)
	if !ok {
		return marker{}, false
	}
	var m marker
	if err := json.Unmarshal([]byte(rest), &m); err != nil || m.At.IsZero() || m.Kind == "" {
		return marker{}, false
	}
	return m, true
}

// stale says whether the database so marked is a leftover that self may drop: older than
// staleAfter, or a test database of a process of self's scope that no longer runs.
func (m marker) stale(self owner, now time.Time, alive func(pid int) bool) bool {
	if now.Sub(m.At) > staleAfter {
		return true
	}
	return m.Kind == kindTest && m.Scope != "" && m.Scope == self.Scope && m.PID != self.PID && !alive(m.PID)
}

// processAlive: signal 0 checks that the process exists without touching it; EPERM means it
// exists under another user.
func processAlive(pid int) bool {
	return pid > 0 && !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func markSQL(database string, m marker) string {
	return "COMMENT ON DATABASE " + pgx.Identifier{database}.Sanitize() + " IS " + quoteLiteral(m.String())
}

// quoteLiteral quotes a string for SQL with standard_conforming_strings on (PostgreSQL's
// default); COMMENT takes no parameters. Were the setting off, a backslash would make the mark
// unreadable, and an unreadable mark keeps its database.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// dropLeftovers drops the databases the harness made that are stale (see marker.stale).
// Unmarked databases are left alone, whatever their name: nobody can tell whose they are.
// Templates are dropped holding the clone lock, so that no process is copying one meanwhile,
// and the template this process uses is never dropped.
func dropLeftovers(ctx context.Context, conn *pgx.Conn, self owner, now time.Time) error {
	rows, err := conn.Query(ctx, `
SELECT datname, coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database
WHERE datname LIKE 'uss\_test\_%' OR datname LIKE 'uss\_tmpl\_%'`)
	if err != nil {
		return fmt.Errorf("list leftovers: %w", err)
	}
	type database struct{ name, comment string }
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (database, error) {
		var d database
		return d, r.Scan(&d.name, &d.comment)
	})
	if err != nil {
		return fmt.Errorf("list leftovers: %w", err)
	}
	for _, d := range all {
		m, ok := parseMark(d.comment)
		if !ok || d.name == template || !m.stale(self, now, processAlive) {
			continue
		}
		drop := "DROP DATABASE IF EXISTS " + pgx.Identifier{d.name}.Sanitize() + " WITH (FORCE)"
		if strings.HasPrefix(d.name, templatePrefix) {
			err = withLock(ctx, conn, cloneLock, func() error { _, err := conn.Exec(ctx, drop); return err })
		} else {
			_, err = conn.Exec(ctx, drop)
		}
		if err != nil {
			return fmt.Errorf("drop leftover %s: %w", d.name, err)
		}
	}
	return nil
}

func withLock(ctx context.Context, conn *pgx.Conn, lock int64, fn func() error) error {
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lock); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lock) //nolint:errcheck // released with the session anyway
	return fn()
}
