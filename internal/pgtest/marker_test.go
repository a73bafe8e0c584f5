package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

func TestStaleLeftovers(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	self := owner{Host: "a", Scope: "boot-1/pid:[1]", PID: 100, Run: "r"}
	alive := func(pid int) bool { return pid == 200 }
	for name, tc := range map[string]struct {
		mark  marker
		stale bool
	}{
		"a dead process of this machine": {
			marker{owner: owner{Scope: self.Scope, PID: 300}, Kind: kindTest, At: now.Add(-time.Minute)}, true},
		"a running process of this machine": {
			marker{owner: owner{Scope: self.Scope, PID: 200}, Kind: kindTest, At: now.Add(-time.Hour)}, false},
		"this very process": {
			marker{owner: owner{Scope: self.Scope, PID: self.PID}, Kind: kindTest, At: now.Add(-time.Hour)}, false},
		"another machine, whose process ids mean nothing here": {
			marker{owner: owner{Scope: "boot-2/pid:[1]", PID: 300}, Kind: kindTest, At: now.Add(-time.Hour)}, false},
		"another container of this machine (own pid namespace)": {
			marker{owner: owner{Scope: "boot-1/pid:[2]", PID: 300}, Kind: kindTest, At: now.Add(-time.Hour)}, false},
		"a machine that could not name its scope": {
			marker{owner: owner{PID: 300}, Kind: kindTest, At: now.Add(-time.Hour)}, false},
		"anyone's, older than a day": {
			marker{owner: owner{Scope: "boot-2/pid:[1]", PID: 300}, Kind: kindTest, At: now.Add(-25 * time.Hour)}, true},
		"a template used within the day, its builder dead": {
			marker{owner: owner{Scope: self.Scope, PID: 300}, Kind: kindTemplate, At: now.Add(-time.Hour)}, false},
		"a template unused for a day": {
			marker{owner: owner{Scope: self.Scope, PID: 200}, Kind: kindTemplate, At: now.Add(-25 * time.Hour)}, true},
	} {
		require.Equal(t, tc.stale, tc.mark.stale(self, now, alive), name)
	}
}

func TestMarksRoundTripAndOthersAreNotMarks(t *testing.T) {
	t.Parallel()
	m := owner{Host: "h'1", Scope: "s", PID: 7, Run: "ab"}.mark(kindTest, time.Now())
	got, ok := parseMark(m.String())
	require.True(t, ok)
	require.Equal(t, m, got)
	for _, comment := range []string{"", "someone's database", markPrefix + "{", markPrefix + `{"pid":1}`} {
		_, ok := parseMark(comment)
		require.False(t, ok, "%q", comment)
	}
}

func TestCreatedDatabasesAndTheTemplateAreMarked(t *testing.T) {
	t.Parallel()
	cfg, err := pgx.ParseConfig(URL(t))
	require.NoError(t, err)
	m, ok := parseMark(comment(t, cfg.Database))
	require.True(t, ok, "a test database is marked")
	require.Equal(t, marker{owner: self, Kind: kindTest, At: m.At}, m)
	require.Equal(t, os.Getpid(), m.PID)
	require.Equal(t, processScope(), m.Scope)
	require.WithinDuration(t, time.Now(), m.At, time.Hour)

	// The template is shared: its mark names whichever run used it last.
	m, ok = parseMark(comment(t, template))
	require.True(t, ok, "the template is marked")
	require.Equal(t, kindTemplate, m.Kind)
	require.WithinDuration(t, time.Now(), m.At, time.Hour)
}

// The harness starting in another process drops only leftovers it can prove dead. The
// databases here are named as the harness names them (uss_test_<pid>_<run>_<n>), most with the
// pid of a process that has exited: the name alone says nothing about whose they are.
func TestAStartingHarnessDropsOnlyProvableLeftovers(t *testing.T) {
	t.Parallel()
	URL(t) // set up: the template exists
	exited := exec.Command("true")
	require.NoError(t, exited.Run())
	dead := exited.Process.Pid
	parent := os.Getppid()
	otherMachine := owner{Host: "elsewhere", Scope: "another-boot/pid:[1]", PID: dead, Run: "x"}
	here := owner{Host: self.Host, Scope: self.Scope, PID: dead, Run: "x"}
	now := time.Now()
	run := fmt.Sprintf("%x", now.UnixNano())
	cases := []struct {
		name string
		mark *marker
		kept bool
	}{
		{fmt.Sprintf("uss_test_%d_%s_1", dead, run), ptr(otherMachine.mark(kindTest, now)), true},
		{fmt.Sprintf("uss_test_%d_%s_2", dead, run), nil, true}, // unmarked: whose is unknown
		{fmt.Sprintf("uss_test_%d_%s_3", dead, run), ptr(here.mark(kindTest, now)), false},
		{fmt.Sprintf("uss_test_%d_%s_4", parent, run), ptr(owner{Scope: self.Scope, PID: parent}.mark(kindTest, now)), true},
		{fmt.Sprintf("uss_test_%d_%s_5", dead, run), ptr(otherMachine.mark(kindTest, now.Add(-2*staleAfter))), false},
		{"uss_tmpl_" + run + "_old", ptr(otherMachine.mark(kindTemplate, now.Add(-2*staleAfter))), false},
		{"uss_tmpl_" + run + "_recent", ptr(otherMachine.mark(kindTemplate, now.Add(-time.Hour))), true},
	}
	for _, c := range cases {
		require.NoError(t, adminExec("CREATE DATABASE "+pgx.Identifier{c.name}.Sanitize(), 0))
		t.Cleanup(func() {
			require.NoError(t, adminExec("DROP DATABASE IF EXISTS "+pgx.Identifier{c.name}.Sanitize()+" WITH (FORCE)", 0))
		})
		if c.mark != nil {
			require.NoError(t, adminExec(markSQL(c.name, *c.mark), 0))
		}
	}

	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), harnessStartEnv+"=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)

	for _, c := range cases {
		require.Equal(t, c.kept, exists(t, c.name), "%s (mark %v)", c.name, c.mark)
	}
	require.True(t, exists(t, template), "the template in use stays")
}

// harnessStartEnv makes the test binary start the harness and exit (see TestMain): the other
// process of TestAStartingHarnessDropsOnlyProvableLeftovers.
const harnessStartEnv = "USS_PGTEST_START_ONLY"

func TestMain(m *testing.M) {
	if os.Getenv(harnessStartEnv) == "1" {
		if err := setup(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func ptr[T any](v T) *T { return &v }

func comment(t *testing.T, database string) string {
	t.Helper()
	var c string
	adminQueryRow(t, `SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = $1`, database, &c)
	return c
}

func exists(t *testing.T, database string) bool {
	t.Helper()
	var n int
	adminQueryRow(t, `SELECT count(*) FROM pg_database WHERE datname = $1`, database, &n)
	return n == 1
}

// adminQueryRow reads one row about database on the harness's admin connection.
func adminQueryRow(t *testing.T, sql, database string, dst any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adminMu.Lock()
	defer adminMu.Unlock()
	require.NoError(t, adminConn.QueryRow(ctx, sql, database).Scan(dst), database)
}
