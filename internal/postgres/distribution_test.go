package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/pgtest"
)

// byUser names, for every table whose rows belong to one user, the column that holds the
// user's id: the column the table is hash-partitioned or distributed by (docs/operations.md,
// "Scaling out"). perAccount lists the tables that hold an account's configuration, small and
// read by every request, which stay whole (Citus: reference tables).
var (
	byUser = map[string]string{
		"assignments":            "user_id",
		"conversions":            "user_id",
		"assignment_history":     "user_id",
		"persisted_values":       "unit_id",
		"vwo_fme_records":        "user_id",
		"growthbook_assignments": "attribute_value",
		"optimizely_decisions":   "user_id",
	}
	perAccount = []string{
		"accounts", "api_keys", "ui_sessions", "settings", "settings_variations",
		"settings_goals", "removed_campaigns",
	}
)

// TestEveryTableCanBePartitionedByUser holds the schema to what scaling out by user needs:
// every table is classified, and each table of user data can be re-created, with all its
// constraints and indexes as the migrations define them, as a table hash-partitioned by its
// user column. PostgreSQL refuses that when a primary key or unique index lacks the column,
// the same rule a distributed engine such as Citus applies to its distribution column.
func TestEveryTableCanBePartitionedByUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)

	rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
		  AND table_name <> 'goose_db_version' ORDER BY 1`)
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)

	classified := map[string]bool{}
	for _, t := range perAccount {
		classified[t] = true
	}
	for _, table := range tables {
		column, ok := byUser[table]
		require.True(t, ok || classified[table],
			"table %s is neither user data (byUser) nor account configuration (perAccount): say how it scales out", table)
		if !ok {
			continue
		}
		var keyed bool
		require.NoError(t, pool.QueryRow(ctx, `SELECT bool_and(k.cols @> ARRAY['account_id', $2]::name[])
			FROM (SELECT array_agg(a.attname) AS cols FROM pg_index i
			      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			      WHERE i.indrelid = $1::regclass AND i.indisprimary GROUP BY i.indexrelid) k`,
			table, column).Scan(&keyed))
		require.True(t, keyed, "%s: the primary key holds account_id and %s", table, column)

		partitioned := pgx.Identifier{table + "_by_user"}.Sanitize()
		_, err := pool.Exec(ctx, fmt.Sprintf(`CREATE TABLE %s (LIKE %s INCLUDING ALL) PARTITION BY HASH (%s)`,
			partitioned, pgx.Identifier{table}.Sanitize(), pgx.Identifier{column}.Sanitize()))
		require.NoError(t, err, "%s partitioned by hash of %s", table, column)
		for i := range 4 {
			_, err := pool.Exec(ctx, fmt.Sprintf(`CREATE TABLE %s PARTITION OF %s FOR VALUES WITH (MODULUS 4, REMAINDER %d)`,
				pgx.Identifier{fmt.Sprintf("%s_by_user_%d", table, i)}.Sanitize(), partitioned, i))
			require.NoError(t, err)
		}
	}
	for table := range byUser {
		require.Contains(t, tables, table, "byUser names a table the migrations no longer create")
	}
}
