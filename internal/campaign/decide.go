package campaign

import "github.com/uss/uss/internal/bucketing"

// The decision steps below are small and pure so that the server can put
// its stored-assignment lookup between them (VWO-REFERENCE 1.3): status →
// whitelisting → stored assignment → traffic → pre-segmentation → variation.

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
	e := env{vars: variationTargetingVariables}
	if c.IsUserListEnabled {
		e.userID, e.injected = userUUID(c.userNamespace, userID), true
	} else if _, sent := variationTargetingVariables[userIDVariable]; !sent {
		e.userID, e.injected = userID, true
	}

	var first *Variation
	matches, total := 0, 0.0
	for _, v := range c.Variations {
		if v.Segments != nil && v.Segments.root.eval(&e) {
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
		if v.Segments == nil || !v.Segments.root.eval(&e) {
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
	if c.Segments == nil {
		return true
	}
	e := env{vars: customVariables}
	return c.Segments.root.eval(&e)
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

// Inputs are the per-request variables of a decision.
type Inputs struct {
	// CustomVariables feed pre-segmentation.
	CustomVariables map[string]any
	// VariationTargetingVariables feed whitelisting.
	VariationTargetingVariables map[string]any
}

// Reasons that Decide gives, stable enough for the server to pass on.
const (
	ReasonNotRunning     = "campaign is not running"
	ReasonWhitelisted    = "whitelisted"
	ReasonNotInTraffic   = "user is outside the campaign traffic"
	ReasonSegmentsFailed = "user does not match the campaign segments"
	ReasonNoRange        = "bucket falls beyond the last variation range"
	ReasonBucketed       = "bucketed"
)

// Decide runs the decision steps without storage: status, whitelisting,
// traffic, pre-segmentation and variation allocation. The server does the
// same with its stored-assignment lookup after whitelisting; this is for
// tests, benchmarks and dry runs. v is nil when the user gets no variation.
//
// Mutually exclusive groups are not applied: uss decides every campaign on
// its own (see the package documentation).
func Decide(c *Campaign, userID string, in Inputs) (v *Variation, reason string) {
	if !c.Running() {
		return nil, ReasonNotRunning
	}
	if v := c.Whitelist(userID, in.VariationTargetingVariables); v != nil {
		return v, ReasonWhitelisted
	}
	if !c.InTraffic(userID) {
		return nil, ReasonNotInTraffic
	}
	if !c.PassesSegments(in.CustomVariables) {
		return nil, ReasonSegmentsFailed
	}
	if v := c.Allocate(userID); v != nil {
		return v, ReasonBucketed
	}
	return nil, ReasonNoRange
}
