package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/pgtest"
	"github.com/uss/uss/internal/postgres"
)

// keyLookupArgs are arguments of each statement of postgres.KeyLookups naming loaded rows.
var keyLookupArgs = map[string][]any{
	"get assignment":           {acct, "user-00000042", "campaign-3"},
	"get a user's assignments": {acct, "user-00000042"},
	"get many assignments": {[]int64{int64(acct), int64(acct), 2}, []string{"user-00000042", "user-00000043", "user-00000042"},
		[]string{"campaign-3", "campaign-3", "campaign-7"}},
	"batch get":         {acct, "user-00000042", []string{"campaign-3", "campaign-7"}},
	"decide (reading)":  {acct, "user-00000042", "campaign-3", []string{"A", "B"}, "A", 0, "bucketed", "req"},
	"decide (exposing)": {acct, "user-00000042", "campaign-3", []string{"A", "B"}, "A", 1, "bucketed", "req"},
	"expose stored (group)": {[]int64{int64(acct), int64(acct)}, []string{"user-00000042", "user-00000043"},
		[]string{"campaign-3", "campaign-3"}, []int64{1, 1, 2, 2}, []string{"A", "B", "A", "B"}},
	"record conversion":      {acct, "user-00000042", "campaign-3", "A", "bucketed", "purchase", "", false, "req"},
	"delete assignment":      {acct, "user-00000042", "campaign-3", "deleted", "req"},
	"history":                {acct, "user-00000042", "campaign-3", 0, 100},
	"get vwo fme record":     {acct, "user-00000042", "feature-3"},
	"get growthbook buckets": {acct, []string{"id", "deviceId"}, []string{"user-00000042", "device-42"}},
	"get optimizely profile": {acct, "user-00000042"},
	"get persisted values":   {acct, "user-00000042", "user-00000042:userID"},
}

// Right after rows are bulk-loaded (a batch set, an import, a restored backup) a table has no
// statistics until autovacuum analyzes it, and a planner guessing from none must still find a
// row by its primary key: reading a key through assignments_report_idx (account, campaign,
// variation) instead walks every user of the campaign. Each key lookup of the server is
// planned on such a table, as the custom plan of its first executions and as the generic plan
// a prepared statement moves to, and every table it reads must be read through its primary key.
func TestKeyLookupsUseThePrimaryKeyWithoutStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	// At this size, without the statements' row comparisons, the planner reads single keys
	// through assignments_report_idx; much larger or smaller tables happen to tip it the other way.
	const users = 5000
	tables := []string{"assignments", "conversions", "assignment_history", "vwo_fme_records",
		"growthbook_assignments", "optimizely_decisions", "persisted_values"}
	for _, table := range tables {
		// Autovacuum must not analyze the table while the test runs.
		_, err := conn.Exec(ctx, `ALTER TABLE `+table+` SET (autovacuum_enabled = false)`)
		require.NoError(t, err)
	}
	// 5,000 users in 10 campaigns each, in another account too; every user converted a goal
	// and has an event, a record of each vendor table and a persisted value.
	for _, stmt := range []string{
		`INSERT INTO assignments (account_id, user_id, campaign_key, variation_name, source)
		 SELECT a, 'user-' || lpad(u::text, 8, '0'), 'campaign-' || c, CASE u % 2 WHEN 0 THEN 'A' ELSE 'B' END, 'set'
		 FROM generate_series(1, 2) a, generate_series(1, $1::int) u, generate_series(0, 9) c`,
		`INSERT INTO conversions (account_id, user_id, campaign_key, variation_name, goal_identifier)
		 SELECT account_id, user_id, campaign_key, variation_name, 'purchase' FROM assignments`,
		`INSERT INTO assignment_history (account_id, user_id, campaign_key, kind, new_variation, source, reason_code)
		 SELECT account_id, user_id, campaign_key, 'created', variation_name, source, 'set' FROM assignments`,
		`INSERT INTO vwo_fme_records (account_id, user_id, feature_key, record)
		 SELECT account_id, user_id, replace(campaign_key, 'campaign', 'feature'), '{}' FROM assignments`,
		`INSERT INTO growthbook_assignments (account_id, attribute_value, attribute_name, assignment_key, variation_key)
		 SELECT account_id, user_id, 'id', campaign_key, variation_name FROM assignments`,
		`INSERT INTO optimizely_decisions (account_id, user_id, experiment_id, variation_id)
		 SELECT account_id, user_id, campaign_key, variation_name FROM assignments`,
		`INSERT INTO persisted_values (account_id, unit_id, persist_key, config_name, value)
		 SELECT account_id, user_id, user_id || ':userID', campaign_key, '{}' FROM assignments`,
	} {
		var args []any
		if strings.Contains(stmt, "$1") {
			args = append(args, users)
		}
		_, err := conn.Exec(ctx, stmt, args...)
		require.NoError(t, err)
	}
	var analyzed int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_stats WHERE tablename = ANY($1)`, tables).Scan(&analyzed))
	require.Zero(t, analyzed, "the tables must have no statistics")

	names := make([]string, 0, len(postgres.KeyLookups))
	for name := range postgres.KeyLookups {
		names = append(names, name)
	}
	slices.Sort(names)
	var wrong []string
	for i, name := range names {
		args, ok := keyLookupArgs[name]
		require.True(t, ok, "no arguments for %q", name)
		stmt := fmt.Sprintf("lookup_%d", i)
		_, err := conn.Exec(ctx, `PREPARE `+stmt+` AS `+postgres.KeyLookups[name])
		require.NoError(t, err, name)
		params := make([]string, len(args))
		for j := range args {
			params[j] = fmt.Sprintf("$%d", j+1)
		}
		for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
			_, err := conn.Exec(ctx, `SET plan_cache_mode = `+mode)
			require.NoError(t, err)
			var plan string
			err = conn.QueryRow(ctx, `EXPLAIN (FORMAT JSON) EXECUTE `+stmt+`(`+strings.Join(params, ", ")+`)`,
				append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...).Scan(&plan)
			require.NoError(t, err, "%s (%s)", name, mode)
			for _, read := range tableReads(t, plan) {
				if read.index != read.table+"_pkey" {
					wrong = append(wrong, fmt.Sprintf("%s (%s) reads %s by %s %s", name, mode, read.table, read.how, read.index))
					t.Logf("%s (%s):\n%s", name, mode, plan)
				}
			}
		}
	}
	require.Empty(t, wrong, "key lookups that do not read by the primary key")
}

// tableRead is how a plan reads a table: the scan's node type and the index it goes through
// ("" for none).
type tableRead struct{ table, how, index string }

type planNode struct {
	NodeType     string     `json:"Node Type"`
	RelationName string     `json:"Relation Name"`
	IndexName    string     `json:"Index Name"`
	Plans        []planNode `json:"Plans"`
}

// tableReads lists the scans of tables in an EXPLAIN (FORMAT JSON) plan; a bitmap heap scan
// is read through the index of its bitmap index scans.
func tableReads(t *testing.T, plan string) []tableRead {
	t.Helper()
	var doc []struct {
		Plan planNode `json:"Plan"`
	}
	require.NoError(t, json.Unmarshal([]byte(plan), &doc))
	var reads []tableRead
	var walk func(n planNode)
	walk = func(n planNode) {
		switch n.NodeType {
		case "Seq Scan", "Index Scan", "Index Only Scan", "Tid Scan", "Tid Range Scan":
			reads = append(reads, tableRead{n.RelationName, n.NodeType, n.IndexName})
		case "Bitmap Heap Scan":
			var indexes []string
			var bitmaps func(n planNode)
			bitmaps = func(n planNode) {
				if n.IndexName != "" {
					indexes = append(indexes, n.IndexName)
				}
				for _, c := range n.Plans {
					bitmaps(c)
				}
			}
			bitmaps(n)
			reads = append(reads, tableRead{n.RelationName, n.NodeType, strings.Join(indexes, " and ")})
			return
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	for _, d := range doc {
		walk(d.Plan)
	}
	return reads
}
