package postgres_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/decision"
	"github.com/uss/uss/internal/pgtest"
	"github.com/uss/uss/internal/postgres"
	"github.com/uss/uss/internal/uss"
)

// Values PostgreSQL refuses are invalid arguments said in uss's words: PostgreSQL's own texts
// ("invalid byte sequence for encoding", "value overflows numeric format") name its internals
// and must not reach clients. The errors here are real ones, from a real server.
func TestRefusedValuesAreSaidInUSSWords(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	for _, tc := range []struct {
		name, sql, state, words string
	}{
		{"bytes that are not UTF-8", `SELECT convert_from('\xff'::bytea, 'UTF8')`, pgerrcode.CharacterNotInRepertoire, "a value is not valid UTF-8"},
		{"NUL in jsonb", `SELECT '{"a":"\u0000"}'::jsonb`, pgerrcode.UntranslatableCharacter, `a value holds a character that cannot be stored (\u0000)`},
		{"a numeric overflow", `SELECT '1e131071'::numeric * '1e131071'::numeric`, pgerrcode.NumericValueOutOfRange, "a number is out of the range that can be stored"},
		{"a bigint overflow", `SELECT 9223372036854775807::bigint + 1`, pgerrcode.NumericValueOutOfRange, "a number is out of the range that can be stored"},
		{"text that is no number", `SELECT 'abc'::numeric`, pgerrcode.InvalidTextRepresentation, "a value is not in the form its field needs"},
		{"another data exception", `SELECT 1 / 0`, pgerrcode.DivisionByZero, "a value cannot be stored"},
	} {
		_, err := pool.Exec(context.Background(), tc.sql)
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr, tc.name)
		require.Equal(t, tc.state, pgErr.Code, tc.name)

		mapped := postgres.MapError(err)
		require.ErrorIs(t, mapped, uss.ErrInvalidArgument, tc.name)
		var ia *uss.InvalidArgumentError
		require.ErrorAs(t, mapped, &ia, tc.name)
		require.Equal(t, tc.words, ia.Error(), tc.name)
		require.NotContains(t, ia.Error(), pgErr.Message, tc.name)
		require.ErrorAs(t, mapped, &pgErr, "%s: the database's error stays in the chain, for the log", tc.name)
	}
}

// A write cut off while it ran may still commit, so it is never "unavailable, nothing was
// changed": its outcome is unknown. One that never left uss (no free connection before the
// deadline) changed nothing.
func TestAWriteCutOffWhileItRanHasAnUnknownOutcome(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	pool, err := pgxpool.New(ctx, url+"&pool_max_conns=1")
	require.NoError(t, err)
	defer pool.Close()
	store := postgres.NewStore(pool)
	a := uss.Assignment{UserID: "u", CampaignKey: "c", VariationName: "A", Source: uss.SourceSet}
	_, err = store.SetAssignment(ctx, 1, a, uss.SetUpsert)
	require.NoError(t, err)

	locker, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer locker.Close(ctx)
	tx, err := locker.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck
	_, err = tx.Exec(ctx, "SELECT 1 FROM assignments WHERE user_id = 'u' FOR UPDATE")
	require.NoError(t, err)

	// The row lock holds the writes below until their deadline, whatever it is: a generous one
	// makes sure they were sent first, even on a busy machine.
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = store.SetAssignment(short, 1, uss.Assignment{UserID: "u", CampaignKey: "c", VariationName: "B", Source: uss.SourceSet}, uss.SetUpsert)
	require.ErrorIs(t, err, uss.ErrOutcomeUnknown, "sent, then cut off: %v", err)
	require.NotErrorIs(t, err, uss.ErrUnavailable)
	short, cancel = context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = store.StoreDecision(short, decision.StoreParams{Account: 1, Key: uss.AssignmentKey{UserID: "u", CampaignKey: "c"},
		Valid: []string{"A", "B"}, Candidate: "B", Source: uss.SourceBucketed, Expose: true})
	require.ErrorIs(t, err, uss.ErrOutcomeUnknown, "a decision's write, sent, then cut off: %v", err)
	require.NotErrorIs(t, err, uss.ErrUnavailable)

	held, err := pool.Acquire(ctx) // the only connection
	require.NoError(t, err)
	defer held.Release()
	short, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = store.SetAssignment(short, 1, uss.Assignment{UserID: "v", CampaignKey: "c", VariationName: "B", Source: uss.SourceSet}, uss.SetUpsert)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotErrorIs(t, err, uss.ErrOutcomeUnknown, "never sent: nothing was changed")
}

// A failed batch is written again row by row only when the database answered (so that a bad
// row fails alone): never when it may have committed, which would write its rows twice, nor
// when it could not be reached or the time is up.
func TestOnlyABatchTheDatabaseRefusedIsRetriedRowByRow(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	refused := &pgconn.PgError{Code: pgerrcode.CharacterNotInRepertoire}
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		err   error
		alone bool
	}{
		{"refused by the database", context.Background(), refused, true},
		{"a deadlock, mapped as unavailable", context.Background(), postgres.MapError(&pgconn.PgError{Code: pgerrcode.DeadlockDetected}), true},
		{"not reached", context.Background(), fmt.Errorf("%w: %w", uss.ErrUnavailable, io.EOF), false},
		{"cut off while it ran", context.Background(), fmt.Errorf("%w: %w", uss.ErrOutcomeUnknown, io.EOF), false},
		{"refused, but the time is up", cancelled, refused, false},
	} {
		require.Equal(t, tc.alone, postgres.RetryAlone(tc.ctx, tc.err), tc.name)
	}
}
