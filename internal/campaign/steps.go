package campaign

import (
	"github.com/uss/uss/internal/bucketing"
	"github.com/uss/uss/internal/segment"
)

// The decision steps below are small and pure so that internal/decision, which
// holds the order (docs/decisions.md), can put the stored assignment between
// them: status → whitelisting → stored assignment → traffic →
// pre-segmentation → variation.

// Whitelist returns the variation the user is forced into, or nil. Only
// campaigns with isForcedVariationEnabled whitelist; each variation that has
// a whitelisting rule is tested against variationTargetingVariables, with
// _vwo_user_id set to the user id unless the caller sent one, and always to
// the user's VWO UUID when isUserListEnabled (so user lists hold UUIDs).
//
// When several variations match, their weights are rescaled to sum to 100
// (equal shares if they are all 0), ranges are laid over the matches in
// order and the user is bucketed with max 10000 and multiplier 1, as the
// node and python SDKs do. This deliberately differs from the Go SDK, whose
// rescaling is a no-op, so that a user matching several rules is never left
// without one of them.
func (c *Campaign) Whitelist(userID string, variationTargetingVariables map[string]any) *Variation {
	if !c.IsForcedVariationEnabled || !c.whitelisting {
		return nil
	}
	id, inject := userID, true
	if c.IsUserListEnabled {
		id = userUUID(c.userNamespace, userID)
	} else if _, sent := variationTargetingVariables[segment.UserIDVariable]; sent {
		inject = false
	}
	forced := func(v *Variation) bool {
		switch {
		case v.Segments == nil:
			return false
		case inject:
			return v.Segments.MatchesUser(id, variationTargetingVariables)
		}
		return v.Segments.Matches(variationTargetingVariables)
	}

	var first *Variation
	matches, total := 0, 0.0
	for _, v := range c.Variations {
		if forced(v) {
			if first == nil {
				first = v
			}
			matches++
			total += v.Weight
		}
	}
	if matches <= 1 {
		return first
	}

	// Walk the matches again instead of keeping a list: rules are pure, and
	// several matches are rare, so the common path stays allocation-free.
	bucket := bucketing.Variation(c.trafficPrefix, userID, 1)
	cum := 0
	for _, v := range c.Variations {
		if !forced(v) {
			continue
		}
		weight := 100 / float64(matches)
		if total != 0 {
			weight = (v.Weight / total) * 100
		}
		var r bucketing.Range
		r, cum = bucketing.NextRange(cum, weight)
		if r.Contains(bucket) {
			return v
		}
	}
	return nil
}

// InTraffic reports whether the user falls inside the campaign's
// percentTraffic.
func (c *Campaign) InTraffic(userID string) bool {
	if len(c.Variations) == 0 {
		return false
	}
	return bucketing.InTraffic(bucketing.Traffic(c.trafficPrefix, userID), c.PercentTraffic)
}

// PassesSegments evaluates the campaign's pre-segmentation rule against the
// request's custom variables; a campaign without a rule admits everybody.
// No user id is injected here: VWO injects it only for whitelisting.
func (c *Campaign) PassesSegments(customVariables map[string]any) bool {
	return c.Segments.Matches(customVariables)
}

// Allocate buckets the user into a variation by weight. It returns nil when
// the bucket lies beyond the last range, which VWO's formulas allow (a
// multiplier above 1 can push a bucket just past 10000). Call it only for
// users in traffic: that is what the multiplier assumes.
func (c *Campaign) Allocate(userID string) *Variation {
	v := bucketing.Variation(c.variationPrefix, userID, c.multiplier)
	if i := bucketing.Find(c.ranges, v); i >= 0 {
		return c.Variations[i]
	}
	return nil
}
