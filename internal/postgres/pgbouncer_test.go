package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/pgtest"
	"github.com/uss/uss/internal/postgres"
)

// Four replicas starting together behind a transaction-pooling PgBouncer, with no direct URL:
// every one of them succeeds, each migration is applied once, and no lock is left behind to
// hang a later migration.
func TestReplicasMigratingTogetherThroughPgBouncerApplyEachMigrationOnce(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	direct := pgtest.Direct(pgtest.EmptyURL(t))
	bounced := pgtest.ThroughBouncer(t, direct)

	const replicas = 4
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	applied := make([]int, replicas)
	for i := range replicas {
		wg.Go(func() {
			pool, err := postgres.Connect(ctx, bounced)
			if err != nil {
				errs[i] = err
				return
			}
			defer pool.Close()
			m, err := postgres.NewMigrator(pool)
			if err != nil {
				errs[i] = err
				return
			}
			defer m.Close()
			res, err := m.Up(ctx)
			applied[i], errs[i] = len(res), err
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "replica %d", i)
	}
	var total int
	for _, n := range applied {
		total += n
	}

	conn, err := pgx.Connect(ctx, direct)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var versions, rows int
	require.NoError(t, conn.QueryRow(ctx,
		"SELECT count(DISTINCT version_id), count(*) FROM goose_db_version WHERE version_id > 0").Scan(&versions, &rows))
	require.Equal(t, versions, rows, "no migration recorded twice")
	require.Equal(t, versions, total, "each migration applied by exactly one replica")
	var held int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
		WHERE l.locktype = 'advisory' AND d.datname = current_database()`).Scan(&held))
	require.Zero(t, held, "no advisory lock is left held")

	// A later rollback through the same PgBouncer takes the lock again and finishes.
	pool, err := postgres.Connect(ctx, bounced)
	require.NoError(t, err)
	defer pool.Close()
	m, err := postgres.NewMigrator(pool)
	require.NoError(t, err)
	defer m.Close()
	downCtx, downCancel := context.WithTimeout(ctx, 30*time.Second)
	defer downCancel()
	_, err = m.Down(downCtx)
	require.NoError(t, err)
}

// PgBouncer answers a connection to a database that does not exist with its own protocol error
// (SQLSTATE 08P01), not PostgreSQL's 3D000; the database is still created.
func TestConnectThroughPgBouncerCreatesAMissingDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	direct := pgtest.Direct(pgtest.EmptyURL(t))
	u, err := url.Parse(direct)
	require.NoError(t, err)
	name := u.Path[1:]
	admin, err := pgx.Connect(ctx, pgtest.Direct(pgtest.EmptyURL(t)))
	require.NoError(t, err)
	_, err = admin.Exec(ctx, fmt.Sprintf("DROP DATABASE %s WITH (FORCE)", pgx.Identifier{name}.Sanitize()))
	require.NoError(t, err)
	require.NoError(t, admin.Close(ctx))

	_, err = pgx.Connect(ctx, pgtest.ThroughBouncer(t, direct))
	t.Logf("through PgBouncer, a missing database answers: %v", err)

	pool, err := postgres.Connect(ctx, pgtest.ThroughBouncer(t, direct))
	require.NoError(t, err, "Connect creates the database it names, through PgBouncer too")
	defer pool.Close()
	var got string
	require.NoError(t, pool.QueryRow(ctx, "SELECT current_database()").Scan(&got))
	require.Equal(t, name, got)
}
