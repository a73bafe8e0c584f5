// Package uss is the user storage domain: assignments (VWO's userStorageData) and Statsig's
// persisted values, their validation, and the Store the service needs. It knows nothing of
// HTTP or of PostgreSQL.
package uss

import "time"

// AccountID identifies a tenant. Every read and write is scoped by one.
type AccountID int64

// Source says where a variation came from, in stored rows and in decisions alike: one
// vocabulary for the API, the metrics and the assignments table.
//
// A stored row's source is SourceSet, SourceBucketed or SourceWhitelisted (the table allows
// only these). A decision's source is SourceStored, SourceBucketed, SourceWhitelisted or
// SourceNone.
type Source string

const (
	// SourceSet: an SDK wrote the row through the storage API.
	SourceSet Source = "set"
	// SourceBucketed: uss's bucketer chose the variation. A row with this source was stored by
	// a decision; a decision with it stored the variation just now (or, in a dry run or without
	// stickiness, would have).
	SourceBucketed Source = "bucketed"
	// SourceWhitelisted: whitelisting forced the variation. Whitelisted decisions are never
	// stored; a row has this source when a whitelisted user without a row converted a goal.
	SourceWhitelisted Source = "whitelisted"
	// SourceStored: the decision answered with the user's stored row, whatever its own source
	// and whether or not today's bucketing would agree.
	SourceStored Source = "stored"
	// SourceNone: the decision gave no variation.
	SourceNone Source = "none"
)

// Assignment is one user's variation in one campaign, with the goals that user converted.
type Assignment struct {
	UserID        string
	CampaignKey   string
	VariationName string
	// Goals in conversion order, without repeats.
	Goals     []string
	Source    Source
	CreatedAt time.Time
	UpdatedAt time.Time
}

// GoalIdentifier is the goal set in VWO's wire form, "" when no goal has converted.
func (a Assignment) GoalIdentifier() string { return JoinGoals(a.Goals) }

// AssignmentKey names one assignment within an account.
type AssignmentKey struct {
	UserID      string
	CampaignKey string
}

// Erased counts what an erasure removed: rows of each table, so a GrowthBook document or an
// Optimizely profile counts its entries.
type Erased struct {
	Assignments           int64 `json:"assignments"`
	Conversions           int64 `json:"conversions"`
	PersistedValues       int64 `json:"persistedValues"`
	VWOFMERecords         int64 `json:"vwoFmeRecords"`
	GrowthBookAssignments int64 `json:"growthbookAssignments"`
	OptimizelyDecisions   int64 `json:"optimizelyDecisions"`
}
