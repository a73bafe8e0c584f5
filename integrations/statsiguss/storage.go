// Package statsiguss keeps the Statsig Go SDK's persisted values (sticky experiment
// assignments) in uss, so that every server running the SDK gives a user the group saved the
// first time, even after the experiment's allocation changes.
//
// Pass a *Storage as statsig.Options.UserPersistentStorage (github.com/statsig-io/go-sdk
// v1.40.1). The SDK never loads persisted values by itself: load them for each evaluation
// and pass them in, and evaluate sticky experiments only that way:
//
//	pv := sc.GetUserPersistedValues(user, "userID")
//	exp := sc.GetExperimentWithOptions(user, "checkout_test", &statsig.GetExperimentOptions{PersistedValues: pv})
//
// The SDK deletes a user's persisted value whenever the experiment is evaluated without
// persisted values (GetExperiment, GetConfig, or options with a nil map) and when the
// experiment is no longer active. GetExperimentWithOptions with nil options panics.
//
// # When uss cannot be read
//
// The SDK's storage methods return no error, so the adapter decides: when Load fails (uss
// unreachable, timed out, answering 5xx, or a stored value that does not decode) it reports
// "nothing stored" and the SDK evaluates the user afresh (fail open: the decision is still
// made). It then remembers that this key could not be read, and drops every Save and Delete
// of it during the failed-read memory (a minute by default), since those would replace or
// remove values that could not be read. Only "not found" from uss counts as "nothing
// stored". Dropped writes and errors go to the error handler.
package statsiguss

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	statsig "github.com/statsig-io/go-sdk"

	"github.com/uss/uss/client"
	"github.com/uss/uss/integrations/internal/failopen"
)

// ErrWriteSkipped is reported to the error handler for a Save or Delete dropped because a
// Load of the same key failed within the failed-read memory.
var ErrWriteSkipped = failopen.ErrWriteSkipped

// Storage is the Statsig Go SDK's user persistent storage backed by uss's
// /v1/persisted-values. It is safe for concurrent use.
type Storage struct {
	c       *client.Client
	guard   *failopen.Guard
	onError func(error)
}

var _ statsig.IUserPersistentStorage = (*Storage)(nil)

// Option changes a Storage.
type Option = failopen.Option

// WithErrorHandler receives every error the SDK cannot be told about: failed loads (the SDK
// went on as if nothing were stored), failed writes, and writes dropped with
// ErrWriteSkipped. It is called inline, so it must be quick. The default logs a warning with
// slog.Default.
func WithErrorHandler(f func(error)) Option { return failopen.WithErrorHandler(f) }

// WithFailedReadMemory sets how long a failed load keeps writes of its key away from uss
// (default one minute), and how many such keys are remembered (default 10000). When more
// keys fail than that within the memory, every write is dropped until a memory has passed,
// rather than forget a key.
func WithFailedReadMemory(d time.Duration, maxKeys int) Option {
	return failopen.WithFailedReadMemory(d, maxKeys)
}

// New returns a persistent storage that loads and saves through c. Each call is bounded by
// c's timeout (client.WithTimeout), the only bound the SDK's evaluations get, since the SDK
// passes no context.
func New(c *client.Client, opts ...Option) *Storage {
	guard, onError := failopen.Apply("statsiguss: uss persistent storage", opts)
	return &Storage{c: c, guard: guard, onError: onError}
}

// Load returns every persisted value under key ("<unitID>:<idType>"), or (nil, false) when
// there is none or when it cannot be read; in the second case the adapter drops this key's
// writes for a while (see the package documentation). The map is the caller's own.
func (s *Storage) Load(key string) (statsig.UserPersistedValues, bool) {
	raw, err := s.c.LoadPersistedValues(context.Background(), key)
	if err != nil {
		if !errors.Is(err, client.ErrNotFound) {
			s.guard.ReadFailed(key)
			s.onError(err)
		}
		return nil, false
	}
	values := make(statsig.UserPersistedValues, len(raw))
	for configName, v := range raw {
		var sv statsig.StickyValues
		if err := json.Unmarshal(v, &sv); err != nil {
			// Saving over it would lose what is there; leave it for a person to look at.
			s.guard.ReadFailed(key)
			s.onError(fmt.Errorf("uss load persisted values: config %q: decode: %w", configName, err))
			return nil, false
		}
		values[configName] = sv
	}
	return values, true
}

// Save stores one experiment's sticky evaluation under key.
func (s *Storage) Save(key string, configName string, data statsig.StickyValues) {
	if !s.writeAllowed(key) {
		s.onError(fmt.Errorf("uss save persisted value: %w", ErrWriteSkipped))
		return
	}
	if err := s.c.SavePersistedValue(context.Background(), key, configName, data); err != nil {
		s.onError(err)
	}
}

// Delete removes one experiment's sticky evaluation under key.
func (s *Storage) Delete(key string, configName string) {
	if !s.writeAllowed(key) {
		s.onError(fmt.Errorf("uss delete persisted value: %w", ErrWriteSkipped))
		return
	}
	if _, err := s.c.DeletePersistedValue(context.Background(), key, configName); err != nil {
		s.onError(err)
	}
}

// writeAllowed: no load of key failed within the memory. Unlike VWO's storage, no write is
// let through early after a later successful load: the SDK saves only for a config it found
// nothing for and deletes only on evaluations that ignore persisted values, so neither is
// ever a rewrite of what was read.
func (s *Storage) writeAllowed(key string) bool { return s.guard.WriteAllowed(key, nil) }
