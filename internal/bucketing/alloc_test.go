package bucketing_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/bucketing"
)

// These tests do not call t.Parallel: testing.AllocsPerRun refuses to run
// while parallel tests are running.
func TestDecisionPathsDoNotAllocate(t *testing.T) {
	prefix := bucketing.CampaignPrefix(235)
	ranges := bucketing.AppendRanges(nil, []float64{33.3333, 33.3333, 33.3333})
	user := "5f0e3c2a-9d1b-4c1e-8f3a-2b7d6e4c9a10"
	sink := 0
	cases := map[string]func(){
		"Hash":      func() { sink += int(bucketing.Hash(user)) },
		"HashPair":  func() { sink += int(bucketing.HashPair(prefix, user)) },
		"Traffic":   func() { sink += bucketing.Traffic(prefix, user) },
		"Variation": func() { sink += bucketing.Variation(prefix, user, bucketing.VariationMultiplier(75)) },
		"Find":      func() { sink += bucketing.Find(ranges, 5000) },
		"NextRange": func() { r, _ := bucketing.NextRange(0, 33.34); sink += r.End },
	}
	for name, fn := range cases {
		require.Zero(t, testing.AllocsPerRun(1000, fn), name)
	}
	_ = sink
}
