// Package optimizelyuss keeps the Optimizely Go SDK's user profiles in uss, so that every
// server running the SDK gives a user the variation stored the first time, even after the
// experiment's traffic allocation or audiences change.
//
// Pass a *Storage to the SDK (github.com/optimizely/go-sdk/v2 v2.3.1):
//
//	optly, err := (&client.OptimizelyFactory{SDKKey: sdkKey}).Client(client.WithUserProfileService(optimizelyuss.New(c)))
//
// The SDK saves a user's whole profile after adding its new decision to what it has just
// looked up. uss keeps the entries of profiles: a save adds or changes the experiments it
// carries and keeps the others, so two servers that each bucket the same user into a
// different experiment at the same moment both keep theirs, which a store that replaces the
// profile would not. Optimizely Agent needs no code: its REST user profile service speaks
// to uss directly (see the documentation).
//
// # When uss cannot be read
//
// Lookup cannot return an error, so the adapter decides: when uss cannot be read it returns
// an empty profile and the SDK buckets the user as it would without one (fail open: the
// decision is still made). It then remembers that this user could not be read, and during
// the failed-read memory (a minute by default) drops every save of the user that could
// replace what could not be read: a save goes through only when a later, successful lookup
// shows that it changes no variation stored (adding experiments is fine). Dropped writes and
// errors go to the error handler.
package optimizelyuss

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/optimizely/go-sdk/v2/pkg/decision"

	"github.com/uss/uss/client"
	"github.com/uss/uss/integrations/internal/failopen"
)

// ErrWriteSkipped is reported to the error handler for a save dropped because a lookup of
// the same user failed within the failed-read memory.
var ErrWriteSkipped = failopen.ErrWriteSkipped

// variationField is the field of Optimizely's decision keys that profiles hold.
const variationField = "variation_id"

// Storage is the Optimizely Go SDK's UserProfileService backed by uss's
// /v1/optimizely/profiles. It is safe for concurrent use.
type Storage struct {
	c       *client.Client
	guard   *failopen.Guard
	onError func(error)
}

var _ decision.UserProfileService = (*Storage)(nil)

// Option changes a Storage.
type Option = failopen.Option

// WithErrorHandler receives every error the SDK cannot be told about: failed lookups (the
// SDK went on as if nothing were stored), failed saves, and saves dropped with
// ErrWriteSkipped. It is called inline, so it must be quick. The default logs a warning with
// slog.Default.
func WithErrorHandler(f func(error)) Option { return failopen.WithErrorHandler(f) }

// WithFailedReadMemory sets how long a failed lookup keeps saves of its user away from uss
// (default one minute), and how many such users are remembered (default 10000). When more
// fail than that within the memory, every save is dropped until a memory has passed, rather
// than forget one.
func WithFailedReadMemory(d time.Duration, maxKeys int) Option {
	return failopen.WithFailedReadMemory(d, maxKeys)
}

// New returns a user profile service that reads and writes through c. Each call is bounded
// by c's timeout (client.WithTimeout), the only bound the SDK's decisions get, since the SDK
// passes no context.
func New(c *client.Client, opts ...Option) *Storage {
	guard, onError := failopen.Apply("optimizelyuss: uss user profiles", opts)
	return &Storage{c: c, guard: guard, onError: onError}
}

// Lookup returns the user's profile (empty for a user never saved), or an empty profile
// without the user's id when uss cannot be read; in the second case the adapter drops the
// user's saves for a while (see the package documentation).
func (s *Storage) Lookup(userID string) decision.UserProfile {
	p, err := s.c.LookupUserProfile(context.Background(), userID)
	if err != nil {
		s.guard.ReadFailed(userID)
		s.onError(err)
		return decision.UserProfile{}
	}
	s.guard.ReadSucceeded(userID, maps.Clone(p.Variations))
	profile := decision.UserProfile{ID: userID, ExperimentBucketMap: make(map[decision.UserDecisionKey]string, len(p.Variations))}
	for experiment, variation := range p.Variations {
		profile.ExperimentBucketMap[decision.NewUserDecisionKey(experiment)] = variation
	}
	return profile
}

// Save stores every variation of the profile; uss keeps the user's other experiments. A
// profile without an id is not saved (the SDK never sends one), and entries of a field
// other than variation_id (the SDK writes no other) are reported and left out.
func (s *Storage) Save(profile decision.UserProfile) {
	if profile.ID == "" {
		s.onError(fmt.Errorf("uss save user profile: a profile without a user id is not saved"))
		return
	}
	variations := make(map[string]string, len(profile.ExperimentBucketMap))
	for k, v := range profile.ExperimentBucketMap {
		if k.Field != variationField {
			s.onError(fmt.Errorf("uss save user profile: experiment %q: field %q is not stored (only %s is)", k.ExperimentID, k.Field, variationField))
			continue
		}
		variations[k.ExperimentID] = v
	}
	if !s.guard.WriteAllowed(profile.ID, variations) {
		s.onError(fmt.Errorf("uss save user profile: %w", ErrWriteSkipped))
		return
	}
	if _, err := s.c.SaveUserProfile(context.Background(), client.UserProfile{UserID: profile.ID, Variations: variations}); err != nil {
		s.onError(err)
	}
}
