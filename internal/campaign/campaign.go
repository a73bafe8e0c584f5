package campaign

import (
	"encoding/json"

	"github.com/uss/uss/internal/bucketing"
	"github.com/uss/uss/internal/segment"
)

// Type is a campaign type of VWO's server-side ("FullStack") model.
type Type string

// The campaign types VWO serves to server-side SDKs.
const (
	TypeVisualAB       Type = "VISUAL_AB"
	TypeFeatureTest    Type = "FEATURE_TEST"
	TypeFeatureRollout Type = "FEATURE_ROLLOUT"
)

// StatusRunning is the only status under which a campaign hands out
// variations; the SDKs compare the exact string.
const StatusRunning = "RUNNING"

// knownStatuses are the campaign states VWO reports (the Go SDK's own test
// data uses NOT_RUNNING), sorted. Anything else is refused at upload: a typo
// such as "Running" would otherwise switch a campaign off without a word.
var knownStatuses = []string{"ARCHIVED", "NOT_RUNNING", "NOT_STARTED", "PAUSED", StatusRunning, "STOPPED", "TRASHED"}

// knownTypes are the campaign types, sorted.
var knownTypes = []string{string(TypeFeatureRollout), string(TypeFeatureTest), string(TypeVisualAB)}

// GoalType is the kind of a campaign goal.
type GoalType string

// The goal types of the campaign model.
const (
	GoalCustom  GoalType = "CUSTOM_GOAL"
	GoalRevenue GoalType = "REVENUE_TRACKING"
)

// knownGoalTypes are the goal types, sorted.
var knownGoalTypes = []string{string(GoalCustom), string(GoalRevenue)}

// Campaign is one campaign of a settings file, with its variation ranges,
// seeds and segments worked out at parse time. It must not be modified.
type Campaign struct {
	ID                       int
	Key                      string
	Name                     string
	Status                   string
	Type                     Type
	PercentTraffic           int
	IsForcedVariationEnabled bool
	IsBucketingSeedEnabled   bool
	IsUserListEnabled        bool
	IsOB                     bool
	IsOBv2                   bool
	IsMAB                    bool
	// Segments is the pre-segmentation rule; nil when the campaign has none.
	Segments   *segment.Segment
	Goals      []*Goal
	Variations []*Variation
	// Variables are the rollout-level variables of FEATURE_ROLLOUT campaigns.
	Variables []Variable

	ranges []bucketing.Range // Variations[i].Range, for bucketing.Find
	names  []string          // Variations[i].Name, for VariationNames
	// trafficPrefix seeds traffic and whitelisting: "<id>_" when the
	// campaign seed flag (or node's isNB/isNBv2) is on, else "".
	trafficPrefix string
	// variationPrefix and multiplier are the choice (docs/decisions.md, Bucketing) between
	// the old model and node's new bucketing (isNB/isNBv2 with isOB/isOBv2).
	variationPrefix string
	multiplier      float64
	whitelisting    bool // some variation has a whitelisting rule
	userNamespace   [16]byte
}

// Variation is one arm of a campaign.
type Variation struct {
	ID     int
	Name   string
	Weight float64
	// Range is the variation's share of buckets 1..10000 (NoRange() at
	// weight 0), computed from the weights as the SDKs do.
	Range bucketing.Range
	// Segments is the whitelisting rule; nil when the variation has none.
	Segments *segment.Segment
	// A variation's "changes" are not kept: uss decides, it does not apply changes, and the
	// file as uploaded (GET /v1/settings) still has them.
	Variables        []Variable
	IsFeatureEnabled bool
}

// Goal is a conversion goal of a campaign.
type Goal struct {
	ID          int
	Identifier  string
	Type        GoalType
	RevenueProp string
	// MCA is VWO's "mca" when present: -1 marks a metric that counts every
	// conversion (node does not de-duplicate those).
	MCA *int
}

// IsRevenue reports whether tracking the goal needs a revenue value.
func (g *Goal) IsRevenue() bool {
	return g.Type == GoalRevenue
}

// Variable is a feature variable; Value is kept as the JSON it came as,
// since VWO's SDKs coerce it to Type when reading.
type Variable struct {
	ID    int
	Key   string
	Type  string
	Value json.RawMessage
}

// knownVariableTypes are the feature-variable types of the campaign model, sorted.
var knownVariableTypes = []string{"boolean", "double", "integer", "json", "string"}

// Running reports whether the campaign hands out variations at all.
func (c *Campaign) Running() bool {
	return c.Status == StatusRunning
}

// Variation returns the variation with that name, or nil. Stored
// assignments name their variation, so this is how a stored row is checked
// against the current settings.
func (c *Campaign) Variation(name string) *Variation {
	for _, v := range c.Variations {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// VariationNames lists the names of the campaign's variations, in order. A stored assignment
// is valid while its name is one of these. The caller must not modify the slice.
func (c *Campaign) VariationNames() []string {
	return c.names
}

// Goal returns the goal with that identifier, or nil.
func (c *Campaign) Goal(identifier string) *Goal {
	for _, g := range c.Goals {
		if g.Identifier == identifier {
			return g
		}
	}
	return nil
}
