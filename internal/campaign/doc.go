// Package campaign is VWO's server-side campaign model: it parses and
// validates settings files and decides which variation a user gets, with
// the same answers as VWO's SDKs.
//
// Parse does all the work that can be done once per file: it validates
// every field (reporting every problem at once), computes variation
// ranges, picks seeds, and compiles segmentation rules and their regexes.
// The decision steps are then small pure methods on *Campaign, which the
// server calls around its stored-assignment lookup in VWO's order
// (VWO-REFERENCE 1.3):
//
//	Running → Whitelist → (stored assignment) → InTraffic → PassesSegments → Allocate
//
// Decide runs the same steps without storage.
//
// Supported: the Go SDK's model (isBucketingSeedEnabled, isUserListEnabled,
// isForcedVariationEnabled), node's account and campaign bucketing flags
// (isNB, isNBv2, isOB, isOBv2), and the segmentation DSL including node's
// gt/gte/lt/lte. Where the SDKs differ, the choice is written next to the
// code: whitelisting with several matching variations rescales weights like
// node and python, not like the Go SDK.
//
// Not supported: mutually exclusive groups. groups and campaignGroups are
// parsed and kept (Settings.Groups, Settings.CampaignGroups), but uss
// decides each campaign independently: a user may be in several campaigns
// of one group. Deciding groups needs the stored assignments of the other
// campaigns of the group, which belongs in the server, not in this pure
// package.
//
// The package does no I/O and depends only on the standard library and
// internal/bucketing.
package campaign
