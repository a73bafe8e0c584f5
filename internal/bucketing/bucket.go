// Package bucketing reproduces VWO's server-side bucketing bit for bit:
// MurmurHash3 (x86 32-bit, seed 1) of a seed string, scaled to a bucket with
// float64 arithmetic, and variation ranges derived from percentage weights.
//
// The package is pure: no I/O, no mutable globals, and no allocation on any
// per-decision path, so the server can call it on every request.
package bucketing

import (
	"math"
	"strconv"
)

const (
	// MaxTraffic is the top traffic bucket: traffic buckets are 1..100.
	MaxTraffic = 100
	// MaxVariation is the top variation bucket before the traffic
	// multiplier stretches it: variation buckets are 1..10000 at 100% traffic.
	MaxVariation = 10000
)

// twoTo32 is exact in float64, so dividing by it never rounds.
const twoTo32 = 1 << 32

// Value scales a hash to a bucket exactly as every VWO SDK does:
//
//	floor((max * h / 2^32 + 1) * multiplier)
//
// in float64. max*h/2^32 and the +1 are exact (h has 32 bits and max at most
// 14), so the only rounding is the final multiplication; the explicit
// float64 conversion keeps the compiler from fusing it into an FMA on
// platforms that have one. multiplier must be finite and positive.
func Value(h uint32, max int, multiplier float64) int {
	ratio := float64(h) / twoTo32
	scaled := float64(float64(max)*ratio) + 1
	return int(math.Floor(scaled * multiplier))
}

// Bucket hashes seed and scales it with Value.
func Bucket(seed string, max int, multiplier float64) int {
	return Value(Hash(seed), max, multiplier)
}

// Traffic is the traffic bucket, 1..100, of the seed prefix+userID.
func Traffic(prefix, userID string) int {
	return Value(HashPair(prefix, userID), MaxTraffic, 1)
}

// InTraffic reports whether a traffic bucket falls inside percentTraffic.
// VWO also tests bucket != 0, which cannot fail for buckets from Value.
func InTraffic(bucket, percentTraffic int) bool {
	return bucket != 0 && bucket <= percentTraffic
}

// Variation is the variation bucket of the seed prefix+userID.
func Variation(prefix, userID string, multiplier float64) int {
	return Value(HashPair(prefix, userID), MaxVariation, multiplier)
}

// VariationMultiplier is VWO's (10000 / percentTraffic) / 100, in that
// order: for 22 of the percentages 1..100 it differs in the last bit from
// 100/percentTraffic, and only the SDK's order reproduces its buckets.
// It spreads the users inside traffic over the whole 1..10000 range, and a
// little beyond: up to 10000 + 100/percentTraffic (10001 at 50%).
//
// For percentTraffic <= 0 nobody passes traffic anyway; it returns 1, as the
// node SDK does when its multiplier is left undefined, rather than the Go
// SDK's division by zero.
func VariationMultiplier(percentTraffic int) float64 {
	if percentTraffic <= 0 {
		return 1
	}
	return (float64(MaxVariation) / float64(percentTraffic)) / 100
}

// CampaignPrefix is the seed prefix "<campaignId>_" that VWO puts before the
// user id when isBucketingSeedEnabled (or the node account flags) are on.
// The separator matters: without it campaign 1 user "23" and campaign 12
// user "3" would share a hash.
func CampaignPrefix(campaignID int) string {
	return strconv.Itoa(campaignID) + "_"
}

// AccountCampaignPrefix is the seed prefix "<campaignId>_<accountId>_" of the
// node/python "new bucketing v2" (isNBv2 without isOBv2).
func AccountCampaignPrefix(campaignID int, accountID string) string {
	return strconv.Itoa(campaignID) + "_" + accountID + "_"
}
