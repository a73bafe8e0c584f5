package decision

// ReasonCode says in one stable word why a decision gave its variation, or none. The API
// returns it as reasonCode beside the human reason, and the decision metric is labelled with
// it, so the set is closed: every code is listed in ReasonCodes and in docs/decisions.md.
type ReasonCode string

// The reason codes, in the order of the decision (docs/decisions.md).
const (
	// ReasonCampaignNotRunning: the campaign's status is not RUNNING; no variation.
	ReasonCampaignNotRunning ReasonCode = "campaign_not_running"
	// ReasonWhitelisted: whitelisting forced the variation; it is not stored.
	ReasonWhitelisted ReasonCode = "whitelisted"
	// ReasonEnforcedTargeting: enforceTargeting is set and the user does not match
	// pre-segmentation; no variation, and a stored row is kept.
	ReasonEnforcedTargeting ReasonCode = "enforced_targeting"
	// ReasonStored: the user's stored variation, still in the campaign, is the answer.
	ReasonStored ReasonCode = "stored"
	// ReasonBucketed: the user had no stored variation; the bucketer's is stored now.
	ReasonBucketed ReasonCode = "bucketed"
	// ReasonStoredVariationRemoved: the stored variation no longer exists in the campaign; the
	// bucketer's replaced it.
	ReasonStoredVariationRemoved ReasonCode = "stored_variation_removed"
	// ReasonNotInTraffic: a user without a stored variation is outside percentTraffic.
	ReasonNotInTraffic ReasonCode = "not_in_traffic"
	// ReasonSegmentMismatch: a user without a stored variation does not match
	// pre-segmentation.
	ReasonSegmentMismatch ReasonCode = "segment_mismatch"
	// ReasonNoVariationRange: the user's variation bucket lies beyond the last variation's
	// range, which VWO's formulas allow; no variation.
	ReasonNoVariationRange ReasonCode = "no_variation_range"
	// ReasonNotSticky: sticky is false; the bucketer's variation, decided without the stored
	// row and not stored.
	ReasonNotSticky ReasonCode = "not_sticky"
	// ReasonDryRun: a dry run of a user without a valid stored variation; the bucketer's
	// variation, not stored.
	ReasonDryRun ReasonCode = "dry_run"
)

// ReasonCodes lists every reason code.
var ReasonCodes = []ReasonCode{
	ReasonCampaignNotRunning, ReasonWhitelisted, ReasonEnforcedTargeting, ReasonStored, ReasonBucketed,
	ReasonStoredVariationRemoved, ReasonNotInTraffic, ReasonSegmentMismatch, ReasonNoVariationRange,
	ReasonNotSticky, ReasonDryRun,
}
