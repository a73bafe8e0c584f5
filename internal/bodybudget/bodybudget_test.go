package bodybudget

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestABodyThatDoesNotFitIsRefusedAfterTheWait(t *testing.T) {
	t.Parallel()
	b := New(100, 10*time.Millisecond)
	require.NoError(t, b.Acquire(context.Background(), 70))
	require.ErrorIs(t, b.Acquire(context.Background(), 40), ErrExhausted)
	require.Equal(t, int64(70), b.Held(), "a refused body holds nothing")
	require.ErrorIs(t, b.Acquire(context.Background(), 101), ErrExhausted, "more than the whole budget never fits")
}

func TestASmallBodyPassesALargeOneWaitingForRoom(t *testing.T) {
	t.Parallel()
	b := New(100, time.Minute)
	require.NoError(t, b.Acquire(context.Background(), 70))
	large := make(chan error, 1)
	go func() { large <- b.Acquire(context.Background(), 60) }()
	require.NoError(t, b.Acquire(context.Background(), 20), "the small body fits beside the held one")
	b.Release(20)
	b.Release(70)
	require.NoError(t, <-large, "the large body gets its room once it is freed")
	require.Equal(t, int64(60), b.Held())
}

func TestAWaitEndsWithItsRequest(t *testing.T) {
	t.Parallel()
	b := New(100, time.Minute)
	require.NoError(t, b.Acquire(context.Background(), 100))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, b.Acquire(ctx, 1), context.Canceled)
	require.Equal(t, int64(100), b.Held())
}
