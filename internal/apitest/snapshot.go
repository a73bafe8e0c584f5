package apitest

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// Snapshot renders every row of every table (goose's own excepted) as text, to compare the
// database before and after requests that must change nothing.
func (s *Server) Snapshot(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'goose_db_version'
		ORDER BY table_name`)
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	var b strings.Builder
	for _, table := range tables {
		var dump string
		err := conn.QueryRow(ctx, `SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY to_jsonb(t)::text), '[]')::text FROM `+
			pgx.Identifier{table}.Sanitize()+` t`).Scan(&dump)
		require.NoError(t, err)
		b.WriteString(table + ": " + dump + "\n")
	}
	return b.String()
}

// Count runs a query that returns one number (a count) on the server's database.
func (s *Server) Count(t testing.TB, query string, args ...any) int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int64
	require.NoError(t, conn.QueryRow(ctx, query, args...).Scan(&n), query)
	return n
}
