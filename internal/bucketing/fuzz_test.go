package bucketing_test

import (
	"testing"

	"github.com/uss/uss/internal/bucketing"
)

// Any user id and campaign yields buckets inside VWO's ranges, and the
// allocation-free seed equals hashing the concatenated string.
func FuzzBucket(f *testing.F) {
	f.Add("Ashley", 235, uint8(100))
	f.Add("", 0, uint8(0))
	f.Add("€uro ünïcödé 😀", -7, uint8(33))
	f.Add("\xff\xfe", 1<<31-1, uint8(255))
	f.Fuzz(func(t *testing.T, userID string, campaignID int, rawTraffic uint8) {
		pt := int(rawTraffic) % (bucketing.MaxTraffic + 1)
		prefix := bucketing.CampaignPrefix(campaignID)

		if got, want := bucketing.HashPair(prefix, userID), bucketing.Hash(prefix+userID); got != want {
			t.Fatalf("HashPair(%q, %q) = %#x, Hash of concatenation = %#x", prefix, userID, got, want)
		}

		tb := bucketing.Traffic(prefix, userID)
		if tb < 1 || tb > bucketing.MaxTraffic {
			t.Fatalf("traffic bucket %d outside 1..100", tb)
		}

		m := bucketing.VariationMultiplier(pt)
		vb := bucketing.Variation(prefix, userID, m)
		if vb < 1 {
			t.Fatalf("variation bucket %d below 1", vb)
		}
		// Users inside traffic are stretched over 1..10000 and at most
		// 100/pt buckets beyond (h/2^32 < pt/100 bounds the product).
		if bucketing.InTraffic(tb, pt) && vb > bucketing.MaxVariation+int(m)+1 {
			t.Fatalf("in-traffic variation bucket %d too far past 10000 at %d%%", vb, pt)
		}
		if pt == bucketing.MaxTraffic && vb > bucketing.MaxVariation {
			t.Fatalf("variation bucket %d past 10000 at full traffic", vb)
		}
	})
}
