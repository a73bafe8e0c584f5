// Package optimizely is the storage of Optimizely's user profiles: per user, the variation
// id each experiment (by id) bucketed the user into. The SDKs and Optimizely Agent read and
// save a whole profile; uss keeps its entries, so a save adds or changes the experiments it
// carries and keeps the others, and two processes that each add an experiment for one user
// both keep theirs. It knows nothing of HTTP or of PostgreSQL.
package optimizely

import (
	"context"

	"github.com/uss/uss/internal/uss"
)

// Profile is a user's experiment bucket map: variation id by experiment id.
type Profile struct {
	UserID    string
	Decisions map[string]string
}

// Store is what the service needs from persistence. Implementations map their own errors
// onto uss.ErrUnavailable.
type Store interface {
	// UserProfile returns the user's profile, with no decision when there is none.
	UserProfile(ctx context.Context, account uss.AccountID, userID string) (Profile, error)
	// SaveUserProfile upserts every decision of p in one statement, keeps the user's other
	// decisions, and returns the profile as it then stands.
	SaveUserProfile(ctx context.Context, account uss.AccountID, p Profile) (Profile, error)
}

// Service validates requests and runs them on the Store; bad input changes nothing.
type Service struct {
	store Store
}

// NewService returns a Service over store.
func NewService(store Store) *Service { return &Service{store: store} }

// Lookup returns the user's profile; a user never saved has an empty one (Optimizely's
// services answer so, and the SDKs take it as "no decision yet").
func (s *Service) Lookup(ctx context.Context, account uss.AccountID, userID string) (Profile, error) {
	if err := uss.ValidateIdentifier("user_id", userID); err != nil {
		return Profile{}, err
	}
	return s.store.UserProfile(ctx, account, userID)
}

// Save upserts the profile's decisions and returns the profile as it then stands.
func (s *Service) Save(ctx context.Context, account uss.AccountID, p Profile) (Profile, error) {
	if err := uss.ValidateIdentifier("user_id", p.UserID); err != nil {
		return Profile{}, err
	}
	if err := uss.ValidateEntries("experiment_bucket_map", p.Decisions); err != nil {
		return Profile{}, err
	}
	return s.store.SaveUserProfile(ctx, account, p)
}
