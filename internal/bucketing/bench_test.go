package bucketing_test

import (
	"testing"

	"github.com/uss/uss/internal/bucketing"
)

var benchSink int

func BenchmarkHash(b *testing.B) {
	for _, bc := range []struct{ name, id string }{
		{"short", "Ashley"},
		{"uuid", "5f0e3c2a-9d1b-4c1e-8f3a-2b7d6e4c9a10"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink += int(bucketing.Hash(bc.id))
			}
		})
	}
}

func BenchmarkHashPair(b *testing.B) {
	prefix := bucketing.CampaignPrefix(235)
	b.ReportAllocs()
	for b.Loop() {
		benchSink += int(bucketing.HashPair(prefix, "5f0e3c2a-9d1b-4c1e-8f3a-2b7d6e4c9a10"))
	}
}

// BenchmarkBucket is one full bucketing decision: traffic, variation bucket
// and range lookup, with the campaign seed on.
func BenchmarkBucket(b *testing.B) {
	prefix := bucketing.CampaignPrefix(235)
	ranges := bucketing.AppendRanges(nil, []float64{33.3333, 33.3333, 33.3333})
	m := bucketing.VariationMultiplier(75)
	user := "5f0e3c2a-9d1b-4c1e-8f3a-2b7d6e4c9a10"
	b.ReportAllocs()
	for b.Loop() {
		if bucketing.InTraffic(bucketing.Traffic(prefix, user), 75) {
			benchSink += bucketing.Find(ranges, bucketing.Variation(prefix, user, m))
		}
	}
}
