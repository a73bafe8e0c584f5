package bucketing_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/bucketing"
)

func TestAppendRangesFollowsVWOFloatRounding(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		weights []float64
		want    []bucketing.Range
	}{
		{
			name:    "33.34 takes 3335 buckets because 33.34*100 rounds up in float64",
			weights: []float64{33.33, 33.33, 33.34},
			want:    []bucketing.Range{{1, 3333}, {3334, 6666}, {6667, 10001}},
		},
		{
			name:    "three times 33.3333 overshoots to 10002",
			weights: []float64{33.3333, 33.3333, 33.3333},
			want:    []bucketing.Range{{1, 3334}, {3335, 6668}, {6669, 10002}},
		},
		{
			name:    "a zero weight owns no buckets and does not move the cursor",
			weights: []float64{0, 100},
			want:    []bucketing.Range{bucketing.NoRange(), {1, 10000}},
		},
		{
			name:    "zero weight in the middle",
			weights: []float64{10, 0, 90},
			want:    []bucketing.Range{{1, 1000}, bucketing.NoRange(), {1001, 10000}},
		},
		{
			name:    "ten times ten",
			weights: []float64{10, 10, 10, 10, 10, 10, 10, 10, 10, 10},
			want: []bucketing.Range{{1, 1000}, {1001, 2000}, {2001, 3000}, {3001, 4000}, {4001, 5000},
				{5001, 6000}, {6001, 7000}, {7001, 8000}, {8001, 9000}, {9001, 10000}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.want, bucketing.AppendRanges(nil, c.weights))
		})
	}
}

func TestStepIsRuntimeFloatNotConstantArithmetic(t *testing.T) {
	t.Parallel()
	// The trap: a Go constant expression is exact and yields 3334.
	require.Equal(t, 3334.0, math.Ceil(33.34*100))
	// VWO's SDKs multiply in float64 at run time and get 3335.
	require.Equal(t, 3335, bucketing.Step(33.34))
	require.Equal(t, 3333, bucketing.Step(33.33))
	require.Equal(t, 0, bucketing.Step(0))
	require.Equal(t, 1, bucketing.Step(0.0001), "any positive weight buys at least one bucket")
	require.Equal(t, 10000, bucketing.Step(100))
	require.Equal(t, 10000, bucketing.Step(250), "a step never exceeds the whole range")
}

func TestFindPicksFirstContainingRange(t *testing.T) {
	t.Parallel()
	ranges := bucketing.AppendRanges(nil, []float64{20, 0, 80})
	cases := []struct {
		name   string
		bucket int
		want   int
	}{
		{"first bucket", 1, 0},
		{"last bucket of first range", 2000, 0},
		{"first bucket of the range after a zero weight", 2001, 2},
		{"top bucket", 10000, 2},
		{"beyond the last range", 10001, -1},
		{"bucket zero is in no range", 0, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.want, bucketing.Find(ranges, c.bucket))
		})
	}
}

func TestNextRangeWalksLikeAppendRanges(t *testing.T) {
	t.Parallel()
	weights := []float64{33.3333, 0, 33.3333, 33.3334}
	want := bucketing.AppendRanges(nil, weights)
	cum := 0
	for i, w := range weights {
		var r bucketing.Range
		r, cum = bucketing.NextRange(cum, w)
		require.Equal(t, want[i], r)
	}
	require.Equal(t, want[len(want)-1].End, cum)
}
