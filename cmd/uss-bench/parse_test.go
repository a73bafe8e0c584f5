package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLatenciesSummarizeEveryRecordedValue(t *testing.T) {
	t.Parallel()
	h := newHistogram()
	for i := 100; i >= 1; i-- { // unsorted on purpose
		record(h, time.Duration(i)*time.Millisecond)
	}
	l := summarize(h)
	require.EqualValues(t, 100, l.Count)
	// The histogram keeps three significant digits: within 0.1%.
	require.InEpsilon(t, float64(50*time.Millisecond), float64(l.P50), 0.001)
	require.InEpsilon(t, float64(99*time.Millisecond), float64(l.P99), 0.001)
	require.InEpsilon(t, float64(100*time.Millisecond), float64(l.Max), 0.001)
	require.InEpsilon(t, float64(50500*time.Microsecond), float64(l.Mean), 0.001)

	over := newHistogram()
	record(over, 2*time.Hour)
	require.Equal(t, time.Minute, summarize(over).Max.Round(time.Second), "past the range counts as its top")
	require.Equal(t, Latencies{}, summarize(newHistogram()))
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

	plain := newHistogram()
	require.NoError(t, readTransactionLog(path, false, plain))
	require.EqualValues(t, 2, plain.TotalCount())
	require.EqualValues(t, 700, plain.Min())
	require.EqualValues(t, 1500, plain.Max())

	lagged := newHistogram()
	require.NoError(t, readTransactionLog(path, true, lagged))
	require.EqualValues(t, 2, lagged.TotalCount())
	require.EqualValues(t, 1000, lagged.Min())
	require.EqualValues(t, 1520, lagged.Max())

	require.NoError(t, os.WriteFile(path, []byte("0 1 1500 0 1795289785 393002\n"), 0o644))
	require.ErrorContains(t, readTransactionLog(path, true, newHistogram()), "no schedule lag")
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
