package bucketing_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/bucketing"
)

// chiSquare is Pearson's statistic of counts against a uniform expectation.
func chiSquare(counts []int, total int) float64 {
	expected := float64(total) / float64(len(counts))
	sum := 0.0
	for _, c := range counts {
		d := float64(c) - expected
		sum += d * d / expected
	}
	return sum
}

// Buckets of many user ids must be close to uniform, or traffic and weights
// would not mean what they say. With 100 cells (99 degrees of freedom) the
// chi-square statistic has mean 99 and standard deviation 14; the bound of
// 160 sits at about p = 1e-4, loose enough for honest hashing and tight
// enough to catch a biased or truncated hash. The ids are fixed, so the
// result is deterministic.
func TestBucketsAreRoughlyUniformOverManyUsers(t *testing.T) {
	t.Parallel()
	const users = 200_000
	traffic := make([]int, bucketing.MaxTraffic)
	variation := make([]int, 100) // 1..10000 folded into 100 cells of 100
	seeded := make([]int, bucketing.MaxTraffic)
	prefix := bucketing.CampaignPrefix(235)
	buf := make([]byte, 0, 32)
	for i := 0; i < users; i++ {
		buf = strconv.AppendInt(append(buf[:0], "user-"...), int64(i), 10)
		id := string(buf)
		traffic[bucketing.Traffic("", id)-1]++
		variation[(bucketing.Variation("", id, 1)-1)/100]++
		seeded[bucketing.Traffic(prefix, id)-1]++
	}
	require.Less(t, chiSquare(traffic, users), 160.0, "traffic buckets")
	require.Less(t, chiSquare(variation, users), 160.0, "variation buckets")
	require.Less(t, chiSquare(seeded, users), 160.0, "campaign-seeded traffic buckets")
}

// A 20/80 split must give about 20% and 80%. Four standard deviations of a
// binomial(200000, 0.2) are under 0.4 percentage points.
func TestWeightsSplitUsersInProportion(t *testing.T) {
	t.Parallel()
	const users = 200_000
	ranges := bucketing.AppendRanges(nil, []float64{20, 80})
	counts := make([]int, 2)
	buf := make([]byte, 0, 32)
	for i := 0; i < users; i++ {
		buf = strconv.AppendInt(append(buf[:0], "visitor:"...), int64(i), 10)
		idx := bucketing.Find(ranges, bucketing.Variation("", string(buf), 1))
		require.GreaterOrEqual(t, idx, 0)
		counts[idx]++
	}
	share := float64(counts[0]) / users
	require.InDelta(t, 0.20, share, 0.004)
}
