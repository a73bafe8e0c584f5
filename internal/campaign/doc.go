// Package campaign is VWO's server-side campaign model: it parses and
// validates settings files and holds the pure steps of a decision, with the
// same answers as VWO's SDKs.
//
// Parse does all the work that can be done once per file: it validates
// every field (reporting every problem at once), computes variation
// ranges, picks seeds, and compiles segmentation rules (internal/segment)
// and their regexes. The decision steps are then small pure methods on
// *Campaign; internal/decision calls them around the stored assignment, in
// VWO's order (docs/decisions.md):
//
//	Running → Whitelist → (stored assignment) → InTraffic → PassesSegments → Allocate
//
// Supported: the Go SDK's model (isBucketingSeedEnabled, isUserListEnabled,
// isForcedVariationEnabled), node's account and campaign bucketing flags
// (isNB, isNBv2, isOB, isOBv2), and the segmentation language including
// node's gt/gte/lt/lte. Where the SDKs differ, the choice is written next to
// the code: whitelisting with several matching variations rescales weights
// like node and python, not like the Go SDK.
//
// Not supported: mutually exclusive groups. groups and campaignGroups are
// parsed and kept (Settings.Groups, Settings.CampaignGroups), but uss
// decides each campaign independently: a user may be in several campaigns
// of one group. Deciding groups needs the stored assignments of the other
// campaigns of the group, which belongs in the server, not in this pure
// package.
//
// The package does no I/O; it depends on the standard library and
// internal/bucketing, internal/segment and internal/jsoncheck.
package campaign
