package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/pgtest"
	"github.com/uss/uss/internal/postgres"
	"github.com/uss/uss/migrations"
)

func TestMigrationsGoUpDownToZeroAndUpAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := postgres.Connect(ctx, pgtest.EmptyURL(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	m, err := postgres.NewMigrator(pool)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })

	files, err := migrations.FS.ReadDir(".")
	require.NoError(t, err)
	var sqlFiles int
	for _, f := range files {
		if f.Name() != "embed.go" {
			sqlFiles++
		}
	}

	tables := func() []string {
		rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables
			WHERE table_schema = 'public' AND table_name <> 'goose_db_version' ORDER BY 1`)
		require.NoError(t, err)
		var names []string
		for rows.Next() {
			var n string
			require.NoError(t, rows.Scan(&n))
			names = append(names, n)
		}
		require.NoError(t, rows.Err())
		return names
	}

	functions := func() []string {
		rows, err := pool.Query(ctx, `SELECT routine_name FROM information_schema.routines
			WHERE routine_schema = 'public' ORDER BY 1`)
		require.NoError(t, err)
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return names
	}

	up, err := m.Up(ctx)
	require.NoError(t, err)
	require.Len(t, up, sqlFiles, "every migration applies on an empty database")
	schema, funcs := tables(), functions()
	require.Contains(t, schema, "assignments")
	require.Contains(t, funcs, "chi_square_p_value")
	pending, err := m.Pending(ctx)
	require.NoError(t, err)
	require.False(t, pending)

	down, err := m.DownTo(ctx, 0)
	require.NoError(t, err)
	require.Len(t, down, sqlFiles, "every migration has a working Down")
	require.Empty(t, tables(), "down to zero leaves no table or view behind")
	require.Empty(t, functions(), "down to zero leaves no function behind")

	up, err = m.Up(ctx)
	require.NoError(t, err)
	require.Len(t, up, sqlFiles)
	require.Equal(t, schema, tables(), "up again rebuilds the same tables")
	require.Equal(t, funcs, functions(), "and the same functions")
}

func TestConnectCreatesAMissingDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.EmptyURL(t)
	pool, err := postgres.Connect(ctx, url)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, "SELECT 1")
	require.NoError(t, err)
	var name string
	require.NoError(t, pool.QueryRow(ctx, "SELECT current_database()").Scan(&name))
	pool.Close()

	// Drop it, then Connect again: it must come back.
	admin, err := postgres.Connect(ctx, pgtest.EmptyURL(t))
	require.NoError(t, err)
	defer admin.Close()
	_, err = admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
	require.NoError(t, err)
	pool, err = postgres.Connect(ctx, url)
	require.NoError(t, err, "Connect creates the database it names")
	defer pool.Close()
	require.NoError(t, pool.QueryRow(ctx, "SELECT current_database()").Scan(&name))
}
