// Package uss is the user storage domain: assignments (VWO's userStorageData) and Statsig's
// persisted values, their validation, and the Store the service needs. It knows nothing of
// HTTP or of PostgreSQL.
package uss

import "time"

// AccountID identifies a tenant. Every read and write is scoped by one.
type AccountID int64

// Source says where an assignment's variation came from.
type Source string

const (
	// SourceSet: an SDK wrote it through the storage API.
	SourceSet Source = "set"
	// SourceBucketed: uss decided it with its bucketer and stored it.
	SourceBucketed Source = "bucketed"
	// SourceWhitelisted: the user was forced into it by whitelisting and converted a goal
	// there (whitelisted decisions alone are never stored).
	SourceWhitelisted Source = "whitelisted"
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
