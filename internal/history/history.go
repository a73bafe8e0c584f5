// Package history is the provenance of assignments: every change of a user's variation in a
// campaign is an event that says what changed, from what to what, why, by which request and
// under which settings version. The store writes each event in the statement that makes the
// change; this package names the events and lists them.
package history

import (
	"context"
	"strconv"
	"time"

	"github.com/uss/uss/internal/decision"
	"github.com/uss/uss/internal/goals"
	"github.com/uss/uss/internal/uss"
)

// Kind is what happened to the assignment.
type Kind string

// The kinds of event.
const (
	// Created: the user had no assignment in the campaign; now one is stored.
	Created Kind = "created"
	// Rebucketed: the stored variation was removed from the campaign, and a decision stored
	// another in its place.
	Rebucketed Kind = "rebucketed"
	// Overwritten: a set (or an import) wrote another variation over the stored one.
	Overwritten Kind = "overwritten"
	// Deleted: the assignment was removed.
	Deleted Kind = "deleted"
	// Merged: the assignment was copied from another id by an identity merge.
	Merged Kind = "merged"
)

// ReasonCode says why, in one stable word. Changes made by decisions carry the decision's
// own code; the others say which operation made them.
type ReasonCode string

// The reason codes of events.
const (
	// ReasonBucketed: a decision bucketed a user without a stored variation and stored it.
	ReasonBucketed = ReasonCode(decision.ReasonBucketed)
	// ReasonStoredVariationRemoved: a decision replaced a stored variation that no longer
	// exists in the campaign.
	ReasonStoredVariationRemoved = ReasonCode(decision.ReasonStoredVariationRemoved)
	// ReasonNotSticky: a decision with sticky false removed the stored assignment.
	ReasonNotSticky = ReasonCode(decision.ReasonNotSticky)
	// ReasonConverted: a goal conversion stored the row that holds it (a whitelisted user).
	ReasonConverted = ReasonCode(goals.ReasonConverted)
	// ReasonSet: an SDK wrote the assignment (POST /v1/storage, batch-set).
	ReasonSet ReasonCode = "set"
	// ReasonDelete: DELETE /v1/storage removed it.
	ReasonDelete ReasonCode = uss.ReasonDelete
	// ReasonImport: a bulk import wrote it.
	ReasonImport ReasonCode = "import"
	// ReasonMerge: an identity merge copied it to the known id, or, with deleteSource,
	// removed it from the anonymous one.
	ReasonMerge ReasonCode = "merge"
)

// Event is one change of one assignment.
type Event struct {
	ID           int64      `json:"eventId"`
	Kind         Kind       `json:"kind"`
	OldVariation *string    `json:"oldVariation"`
	NewVariation *string    `json:"newVariation"`
	Source       uss.Source `json:"source"`
	ReasonCode   ReasonCode `json:"reasonCode"`
	// SettingsVersion is the account's newest settings version when the change was written.
	SettingsVersion *int64    `json:"settingsVersion"`
	RequestID       *string   `json:"requestId"`
	MergedFrom      *string   `json:"mergedFrom,omitempty"`
	OccurredAt      time.Time `json:"occurredAt"`
}

// Store reads events.
type Store interface {
	// History returns up to limit events of the assignment, newest first, older than the
	// event before (all when before is 0).
	History(ctx context.Context, account uss.AccountID, key uss.AssignmentKey, before int64, limit int) ([]Event, error)
}

// Page is one page of events; NextCursor, when not empty, fetches the next (older) one.
type Page struct {
	Events     []Event `json:"events"`
	NextCursor string  `json:"nextCursor,omitempty"`
}

// DefaultLimit and MaxLimit bound a page.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Service lists events.
type Service struct{ store Store }

// NewService returns a Service over store.
func NewService(store Store) *Service { return &Service{store: store} }

// List returns a page of the assignment's events, newest first. cursor is a page's
// NextCursor ("" for the first page); limit 0 means DefaultLimit.
func (s *Service) List(ctx context.Context, account uss.AccountID, key uss.AssignmentKey, cursor string, limit int) (Page, error) {
	if err := uss.ValidateIdentifier("userId", key.UserID); err != nil {
		return Page{}, err
	}
	if err := uss.ValidateIdentifier("campaignKey", key.CampaignKey); err != nil {
		return Page{}, err
	}
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		return Page{}, uss.Invalid("limit", "must be between 1 and %d, got %d", MaxLimit, limit)
	}
	var before int64
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n < 1 {
			return Page{}, uss.Invalid("cursor", "must be a nextCursor of an earlier page")
		}
		before = n
	}
	events, err := s.store.History(ctx, account, key, before, limit+1)
	if err != nil {
		return Page{}, err
	}
	p := Page{Events: events}
	if len(events) > limit {
		p.Events = events[:limit]
		p.NextCursor = strconv.FormatInt(p.Events[limit-1].ID, 10)
	}
	if p.Events == nil {
		p.Events = []Event{}
	}
	return p, nil
}
