// Package vwouss keeps the VWO Go SDK's user storage in uss, so that every server running the
// SDK gives a user the variation stored the first time, even after the campaign's settings
// change, and no goal is counted twice.
//
// Pass a *Storage to the SDK (github.com/wingify/vwo-go-sdk v1.26.0):
//
//	inst, _ := vwo.Launch(settings, api.WithStorage(vwouss.New(c)))
//
// Launch then always returns the error "Invalid storage object/Logger given" together with a
// working instance: the SDK checks for a 3-argument Set but calls the 4-argument one, and no
// Go type can have both. Ignore that error when the instance is not nil. Do not combine
// api.WithStorage with api.WithBatchEventQueue: that SDK version panics in its batch goroutine.
//
// # When uss cannot be read
//
// The SDK's storage methods return no error, so the adapter decides: when Get fails (uss
// unreachable, timed out, or answering 5xx) it returns "nothing stored" and the SDK buckets
// the user as it would without storage (fail open: the decision is still made). It then
// remembers that this user and campaign could not be read, and drops their Sets during the
// failed-read memory (a minute by default), since such a Set would carry a variation decided
// without the stored one and could overwrite it. The one Set let through meanwhile is one of
// the variation that a later, successful Get found stored: it changes no variation, and uss
// merges its goals, so goals tracked once uss is back still reach it. Only "not found" from
// uss counts as "nothing stored". Dropped writes and errors go to the error handler.
package vwouss

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wingify/vwo-go-sdk/pkg/schema"

	"github.com/uss/uss/client"
	"github.com/uss/uss/integrations/internal/failopen"
)

// ErrWriteSkipped is reported to the error handler for a Set dropped because a Get of the
// same user and campaign failed within the failed-read memory.
var ErrWriteSkipped = failopen.ErrWriteSkipped

// Storage is the VWO Go SDK's user storage backed by uss's /v1/storage. It is safe for
// concurrent use, as the SDK calls it from every goroutine that makes a decision.
type Storage struct {
	c       *client.Client
	guard   *failopen.Guard
	onError func(error)
}

// Option changes a Storage.
type Option = failopen.Option

// WithErrorHandler receives every error the SDK cannot be told about: failed reads (the SDK
// went on as if nothing were stored), failed writes, and writes dropped with
// ErrWriteSkipped. It is called inline, so it must be quick. The default logs a warning with
// slog.Default.
func WithErrorHandler(f func(error)) Option { return failopen.WithErrorHandler(f) }

// WithFailedReadMemory sets how long a failed read keeps writes of its user and campaign
// away from uss (default one minute), and how many such keys are remembered (default
// 10000). When more keys fail than that within the memory, every write is dropped until a
// memory has passed, rather than forget a key.
func WithFailedReadMemory(d time.Duration, maxKeys int) Option {
	return failopen.WithFailedReadMemory(d, maxKeys)
}

// New returns a user storage that reads and writes through c. Each call is bounded by c's
// timeout (client.WithTimeout), the only bound the SDK's decisions get, since the SDK
// passes no context.
func New(c *client.Client, opts ...Option) *Storage {
	guard, onError := failopen.Apply("vwouss: uss user storage", opts)
	return &Storage{c: c, guard: guard, onError: onError}
}

// guardKey joins the ids with NUL, which uss refuses in ids, so no two pairs share a key.
func guardKey(userID, campaignKey string) string { return userID + "\x00" + campaignKey }

// variationEntry is what the guard compares: the variation. Goals are not compared, since
// uss merges them.
func variationEntry(name string) map[string]string { return map[string]string{"variationName": name} }

// Get returns the stored assignment, or the zero UserData (the SDK's "not stored") when
// there is none or when uss cannot be read; in the second case the adapter drops this
// user's writes in this campaign for a while (see the package documentation).
func (s *Storage) Get(userID, campaignKey string) schema.UserData {
	a, err := s.c.GetAssignment(context.Background(), userID, campaignKey)
	if err != nil {
		if !errors.Is(err, client.ErrNotFound) {
			s.guard.ReadFailed(guardKey(userID, campaignKey))
			s.onError(err)
		}
		return schema.UserData{}
	}
	s.guard.ReadSucceeded(guardKey(userID, campaignKey), variationEntry(a.VariationName))
	return schema.UserData{UserID: a.UserID, CampaignKey: a.CampaignKey, VariationName: a.VariationName,
		GoalIdentifier: a.GoalIdentifier}
}

// Set stores the user's variation and converted goals (joined by "_vwo_"). It never replaces
// a variation uss already stores (client.SetAssignmentIfAbsent): when two servers decide a
// new user at once, the first write wins and the other server's Get returns it from then
// on (the SDK takes no answer from Set, so that server's one decision in flight keeps its
// own variation). A whitelisted track, which the SDK stores with the whitelisted variation,
// leaves the stored one alone too. uss adds the goals to the stored ones while the variation
// is the same, so two servers tracking different goals at once lose neither.
func (s *Storage) Set(userID, campaignKey, variationName, goalIdentifier string) {
	if !s.guard.WriteAllowed(guardKey(userID, campaignKey), variationEntry(variationName)) {
		s.onError(fmt.Errorf("uss set assignment: %w", ErrWriteSkipped))
		return
	}
	_, err := s.c.SetAssignmentIfAbsent(context.Background(), client.Assignment{UserID: userID, CampaignKey: campaignKey,
		VariationName: variationName, GoalIdentifier: goalIdentifier})
	if err != nil {
		s.onError(err)
	}
}
