// Package identity merges two ids of one person: when an anonymous visitor logs in, what was
// stored under the anonymous id is copied to the known id, so the visitor keeps the
// variations they saw. The known id's own rows win wherever both have one (first writer
// wins, as everywhere in uss).
package identity

import (
	"context"

	"github.com/uss/uss/internal/uss"
)

// Merge asks to copy From's rows to To.
type Merge struct {
	// From is the anonymous id, To the known one.
	From, To string
	// DeleteSource removes From's merged rows in the same transaction: the merge becomes a
	// move, and the copies carry From's exposures and conversions with them.
	DeleteSource bool
}

// Merged counts rows: Copied were written to the known id, Kept were already there (the
// known id's row won; goals of the same variation were added to it).
type Merged struct {
	Copied int64 `json:"copied"`
	Kept   int64 `json:"kept"`
}

// Store merges in one transaction.
type Store interface {
	// MergeIdentities copies every assignment, persisted value and entry of the other SDKs'
	// storage (VWO FME, GrowthBook, Optimizely) of m.From to m.To, all or nothing. Repeating
	// it changes nothing.
	MergeIdentities(ctx context.Context, account uss.AccountID, m Merge) (Merged, error)
}

// Service validates merges and runs them.
type Service struct{ store Store }

// NewService returns a Service over store.
func NewService(store Store) *Service { return &Service{store: store} }

// Merge copies m.From's rows to m.To.
func (s *Service) Merge(ctx context.Context, account uss.AccountID, m Merge) (Merged, error) {
	if err := uss.ValidateIdentifier("fromUserId", m.From); err != nil {
		return Merged{}, err
	}
	if err := uss.ValidateIdentifier("toUserId", m.To); err != nil {
		return Merged{}, err
	}
	if m.From == m.To {
		return Merged{}, uss.Invalid("toUserId", "must differ from fromUserId")
	}
	return s.store.MergeIdentities(ctx, account, m)
}
