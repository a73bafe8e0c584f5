package bucketing_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/bucketing"
)

func TestValueScalesHashWithVWOFormula(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		h    uint32
		max  int
		mult float64
		want int
	}{
		{"smallest hash is bucket 1", 0, bucketing.MaxVariation, 1, 1},
		{"largest hash is the top bucket", math.MaxUint32, bucketing.MaxVariation, 1, 10000},
		{"largest hash is traffic 100", math.MaxUint32, bucketing.MaxTraffic, 1, 100},
		{"half way", 1 << 31, bucketing.MaxTraffic, 1, 51},
		// At 50% traffic the last user inside traffic (h just under 2^31)
		// gets bucket 10001: beyond the 1..10000 ranges, as in VWO.
		{"multiplier pushes in-traffic users past 10000", 1<<31 - 1, bucketing.MaxVariation, bucketing.VariationMultiplier(50), 10001},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.want, bucketing.Value(c.h, c.max, c.mult))
		})
	}
}

func TestUserJustInsideHalfTrafficIsInTraffic(t *testing.T) {
	t.Parallel()
	h := uint32(1<<31 - 1)
	require.Equal(t, 50, bucketing.Value(h, bucketing.MaxTraffic, 1))
	require.True(t, bucketing.InTraffic(50, 50))
	require.False(t, bucketing.InTraffic(51, 50))
	require.False(t, bucketing.InTraffic(1, 0), "0% traffic admits nobody")
	require.True(t, bucketing.InTraffic(100, 100), "100% traffic admits everybody")
}

// The SDK computes the multiplier as (10000/pt)/100. For 22 percentages that
// is one ulp away from 100/pt, and for some hashes the ulp moves the bucket.
func TestVariationMultiplierUsesSDKOperationOrder(t *testing.T) {
	t.Parallel()
	differ := 0
	for pt := 1; pt <= 100; pt++ {
		ten, hundred := 10000.0, 100.0
		sdk := (ten / float64(pt)) / hundred
		require.Equal(t, math.Float64bits(sdk), math.Float64bits(bucketing.VariationMultiplier(pt)), "pt %d", pt)
		if sdk != hundred/float64(pt) {
			differ++
		}
	}
	require.Equal(t, 22, differ)

	// At 60% traffic this in-traffic hash lands on 5209 with the SDK's
	// multiplier and on 5210 with 100/60: weights 52.09/47.91 would put the
	// user in different variations.
	h := uint32(1342177280)
	require.Equal(t, 32, bucketing.Value(h, bucketing.MaxTraffic, 1))
	require.Equal(t, 5209, bucketing.Value(h, bucketing.MaxVariation, bucketing.VariationMultiplier(60)))
	pt := 60.0
	require.Equal(t, 5210, bucketing.Value(h, bucketing.MaxVariation, 100/pt))
}

func TestVariationMultiplierWithoutTrafficIsOne(t *testing.T) {
	t.Parallel()
	require.Equal(t, 1.0, bucketing.VariationMultiplier(0))
	require.Equal(t, 1.0, bucketing.VariationMultiplier(100))
	require.Equal(t, 5.0, bucketing.VariationMultiplier(20))
}

func TestSeedPrefixesKeepTheSeparator(t *testing.T) {
	t.Parallel()
	require.Equal(t, "231_", bucketing.CampaignPrefix(231))
	require.Equal(t, "231_888888_", bucketing.AccountCampaignPrefix(231, "888888"))
	// Campaign 1 user "23" and campaign 12 user "3" must not collide.
	require.NotEqual(t,
		bucketing.HashPair(bucketing.CampaignPrefix(1), "23"),
		bucketing.HashPair(bucketing.CampaignPrefix(12), "3"))
}

func TestTrafficAndVariationHashPrefixPlusUser(t *testing.T) {
	t.Parallel()
	prefix := bucketing.CampaignPrefix(231)
	require.Equal(t, bucketing.Bucket("231_Ashley", bucketing.MaxTraffic, 1), bucketing.Traffic(prefix, "Ashley"))
	m := bucketing.VariationMultiplier(75)
	require.Equal(t, bucketing.Bucket("231_Ashley", bucketing.MaxVariation, m), bucketing.Variation(prefix, "Ashley", m))
	// Node's seeded vector: campaign 1, "Ashley" hashes "1_Ashley" to 4539.
	require.Equal(t, 4539, bucketing.Variation(bucketing.CampaignPrefix(1), "Ashley", 1))
}
