package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPercentileIsNearestRank(t *testing.T) {
	t.Parallel()
	ds := make([]time.Duration, 0, 100)
	for i := 100; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	l := summarize(ds)
	require.Equal(t, 100, l.Count)
	require.Equal(t, 50*time.Millisecond, l.P50)
	require.Equal(t, 99*time.Millisecond, l.P99)
	require.Equal(t, 100*time.Millisecond, l.Max)
	require.Equal(t, 50500*time.Microsecond, l.Mean)

	one := summarize([]time.Duration{7})
	require.Equal(t, time.Duration(7), one.P50)
	require.Equal(t, time.Duration(7), one.P99)
	require.Equal(t, Latencies{}, summarize(nil))
}

// pgbench 15's report, as printed for a custom script.
const pgbenchOutput = `pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: /tmp/uss-bench-1/select.sql
scaling factor: 1
query mode: prepared
number of clients: 16
number of threads: 16
maximum number of tries: 1
duration: 10 s
number of transactions actually processed: 241537
number of failed transactions: 3 (0.001%)
latency average = 0.662 ms
initial connection time = 104.219 ms
tps = 24168.532914 (without initial connection time)
`

func TestParsePgbenchSummary(t *testing.T) {
	t.Parallel()
	r, err := parsePgbenchSummary(pgbenchOutput)
	require.NoError(t, err)
	require.InDelta(t, 24168.532914, r.TPS, 1e-6)
	require.EqualValues(t, 241537, r.Processed)
	require.EqualValues(t, 3, r.Failed)

	_, err = parsePgbenchSummary("pgbench: error: connection to server failed\n")
	require.ErrorContains(t, err, "no tps")
}

func TestReadTransactionLogSkipsFailuresAndAddsLagOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tx.123")
	log := "0 1 1500 0 1795289785 393002 20\n" +
		"0 2 failed 0 1795289785 394922 0\n" +
		"1 1 700 0 1795289785 394922 300\n"
	require.NoError(t, os.WriteFile(path, []byte(log), 0o644))

	got, err := readTransactionLog(path, false)
	require.NoError(t, err)
	require.Equal(t, []time.Duration{1500 * time.Microsecond, 700 * time.Microsecond}, got)

	got, err = readTransactionLog(path, true)
	require.NoError(t, err)
	require.Equal(t, []time.Duration{1520 * time.Microsecond, 1000 * time.Microsecond}, got)

	require.NoError(t, os.WriteFile(path, []byte("0 1 1500 0 1795289785 393002\n"), 0o644))
	_, err = readTransactionLog(path, true)
	require.ErrorContains(t, err, "no schedule lag")
}

func TestParseProcStatCopesWithParenthesesInTheName(t *testing.T) {
	t.Parallel()
	// Fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt
	// cmajflt utime stime cutime cstime …
	stat := "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 7000 300 20 0 1 0 100 0 0\n"
	st, err := parseProcStat([]byte(stat))
	require.NoError(t, err)
	require.Equal(t, procStat{comm: "a (weird) name", ppid: 1, utime: 250, stime: 50}, st)

	_, err = parseProcStat([]byte("4242 (short) S 1 2\n"))
	require.Error(t, err)
}

func TestPostgresProcessesAreTheBenchmarksOnlyForItsDatabaseOrEveryDatabase(t *testing.T) {
	t.Parallel()
	m := cpuMeter{database: "uss_bench"}
	for title, ours := range map[string]bool{
		"postgres: 15/main: postgres uss_bench 127.0.0.1(40412) idle\x00":              true,
		"postgres: 15/main: postgres uss_bench 127.0.0.1(40412) SELECT\x00\x00\x00":    true,
		"postgres: 15/main: autovacuum worker uss_bench":                               true,
		"postgres: 15/main: checkpointer ":                                             true,
		"postgres: 15/main: walwriter ":                                                true,
		"/usr/lib/postgresql/15/bin/postgres\x00-D\x00/var/lib/postgresql/15/main\x00": true,
		"postgres: 15/main: postgres uss_test_4242_7 127.0.0.1(40999) idle":            false,
		"postgres: 15/main: autovacuum worker uss_test_4242_7":                         false,
		"postgres: postgres uss_bench_old [local] idle":                                false,
	} {
		require.Equal(t, ours, m.isOurs(title), title)
	}
}

func TestErrorKindDropsAddresses(t *testing.T) {
	t.Parallel()
	err := errors.New("read: read tcp 127.0.0.1:40000->127.0.0.1:8080: read: connection reset by peer")
	require.Equal(t, "read: connection reset by peer", errorKind(err))
	require.Equal(t, "dial: connection refused", errorKind(errors.New("dial: connection refused")))
}
