package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func env(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

func TestOptionsComeFromFlagsOverEnvironmentOverDefaults(t *testing.T) {
	t.Parallel()
	o, err := parseOptions(nil, env(nil))
	require.NoError(t, err)
	require.Equal(t, defaultOptions(), o)

	o, err = parseOptions([]string{"-concurrency", "8"}, env(map[string]string{
		"BENCH_DURATION": "30s", "BENCH_CONCURRENCY": "4", "BENCH_SKIP_10M": "1", "BENCH_USERS": "1_000",
	}))
	require.NoError(t, err)
	require.Equal(t, 30*time.Second, o.Duration)
	require.Equal(t, 8, o.Concurrency, "a flag wins over the environment")
	require.True(t, o.SkipGrowth)
	require.Equal(t, 1000, o.Users)
}

func TestOptionsRefuseWhatWouldHarmOrMeasureNothing(t *testing.T) {
	t.Parallel()
	for name, args := range map[string][]string{
		"a database that is not the benchmark's": {"-database-url", "postgres://postgres@127.0.0.1/uss"},
		"a remote database":                      {"-database-url", "postgres://postgres@10.0.0.5/uss_bench"},
		"no clients":                             {"-concurrency", "0"},
		"a sub-second run":                       {"-duration", "500ms"},
		"growth rows not in whole users":         {"-growth-small", "105"},
		"growth that does not grow":              {"-growth-small", "1000", "-growth-large", "1000"},
		"stray arguments":                        {"now"},
	} {
		_, err := parseOptions(args, env(nil))
		require.Error(t, err, name)
	}
	_, err := parseOptions(nil, env(map[string]string{"BENCH_DURATION": "soon"}))
	require.ErrorContains(t, err, "BENCH_DURATION")

	for _, ok := range []string{"127.0.0.1", "::1", "localhost", "/var/run/postgresql"} {
		require.True(t, isLocalHost(ok), ok)
	}
	require.False(t, isLocalHost("db.example.com"))
}

func TestTableAlignsColumns(t *testing.T) {
	t.Parallel()
	tb := table{align: "lr"}
	tb.add("scenario", "req/s")
	tb.add("GET ≥", "12345")
	tb.add("a longer name", "7")
	var b strings.Builder
	tb.write(&b)
	require.Equal(t, ""+
		"scenario       req/s\n"+
		"GET ≥          12345\n"+
		"a longer name      7\n", b.String())
}

func TestCountNamesRowCountsAsPeopleSayThem(t *testing.T) {
	t.Parallel()
	require.Equal(t, "100k", count(100_000))
	require.Equal(t, "10M", count(10_000_000))
	require.Equal(t, "12345", count(12_345))
}

func TestHalfLoadIsJudgedOnlyWhereTheDatabaseAloneMeetsIt(t *testing.T) {
	t.Parallel()
	run := func(p99 time.Duration, errors int) Result {
		return Result{Latencies: Latencies{P99: p99}, Errors: map[string]int{"status 503": errors}}
	}
	require.Equal(t, "yes", halfLoadVerdict(run(4*time.Millisecond, 0), 3*time.Millisecond))
	require.Equal(t, "yes", halfLoadVerdict(run(5*time.Millisecond, 0), 5*time.Millisecond), "5 ms is within")
	require.Equal(t, "NO", halfLoadVerdict(run(6*time.Millisecond, 0), 3*time.Millisecond))
	require.Equal(t, "NO", halfLoadVerdict(run(time.Millisecond, 1), 3*time.Millisecond), "an error fails it")
	require.Equal(t, "not judged: pgbench's p99 7.00 ms", halfLoadVerdict(run(time.Millisecond, 0), 7*time.Millisecond))
}

func TestReportPrintsBothRatiosAndTheVerdict(t *testing.T) {
	t.Parallel()
	r := report{}
	r.add(row{scenario: "GET /v1/storage", rate: 3000, errors: "0", ref: "10000/s select", vsPgbench: 0.3, vsFloor: 0.75,
		target: "≥ 0.60× pgbench", met: "NO"})
	var b strings.Builder
	require.NoError(t, r.write(&b))
	lines := strings.Split(b.String(), "\n")
	require.Regexp(t, `^scenario +req/s +p50 +p99 +errors +reference +×pgbench +×floor +target +met\?$`, lines[1])
	require.Regexp(t, `^GET /v1/storage +3000 +- +- +0 +10000/s select +0\.30× +0\.75× +≥ 0\.60× pgbench +NO$`, lines[2])
}
