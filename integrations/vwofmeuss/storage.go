// Package vwofmeuss keeps the storage of VWO's FME Go SDK in uss, so that every server
// running the SDK gives a user the variation stored the first time, even after the flag's
// rules or traffic change.
//
// Pass a *Storage as the "storage" option of wingify.Init
// (github.com/wingify/wingify-fme-go-sdk v1.60.0):
//
//	fme, err := wingify.Init(map[string]interface{}{"sdkKey": sdkKey, "accountId": accountID,
//		"storage": vwofmeuss.New(c)})
//
// The SDK keeps its storage in a process-wide variable: the last Init given a storage sets
// it for every client in the process, so give every client of a process the same one.
//
// The SDK saves a record per user and feature after each decision that enables the flag
// (and one per user and mutually exclusive group, under the feature key
// "_vwo_meta_meg_<groupId>"), replacing the record whole; uss stores it whole and returns it
// as it was saved.
//
// # When uss cannot be read
//
// The SDK logs storage errors and goes on, so the adapter decides: when Get fails (uss
// unreachable, timed out, answering 5xx, or a record that does not decode) it returns
// "nothing stored" and the SDK decides as it would without storage (fail open: the decision
// is still made). It then remembers that this user and feature could not be read, and during
// the failed-read memory (a minute by default) drops every Set of them that could replace
// what could not be read: a Set goes through only when a later, successful Get shows that
// it keeps every field stored with its value (adding fields is fine) or that nothing is
// stored. Only "not found" from uss counts as "nothing stored". Dropped writes and errors go
// to the error handler.
package vwofmeuss

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wingify/wingify-fme-go-sdk/pkg/packages/storage"

	"github.com/uss/uss/client"
	"github.com/uss/uss/integrations/internal/failopen"
)

// ErrWriteSkipped is reported to the error handler (and returned) for a Set dropped because
// a Get of the same user and feature failed within the failed-read memory.
var ErrWriteSkipped = failopen.ErrWriteSkipped

// Storage is the VWO FME Go SDK's storage connector backed by uss's /v1/vwo-fme/storage. It
// is safe for concurrent use.
type Storage struct {
	c       *client.Client
	guard   *failopen.Guard
	onError func(error)
}

var _ storage.Connector = (*Storage)(nil)

// Option changes a Storage.
type Option = failopen.Option

// WithErrorHandler receives every error the SDK is not told about: failed reads (the SDK
// went on as if nothing were stored), failed writes, and writes dropped with
// ErrWriteSkipped. It is called inline, so it must be quick. The default logs a warning with
// slog.Default.
func WithErrorHandler(f func(error)) Option { return failopen.WithErrorHandler(f) }

// WithFailedReadMemory sets how long a failed read keeps writes of its user and feature
// away from uss (default one minute), and how many such keys are remembered (default
// 10000). When more keys fail than that within the memory, every write is dropped until a
// memory has passed, rather than forget a key.
func WithFailedReadMemory(d time.Duration, maxKeys int) Option {
	return failopen.WithFailedReadMemory(d, maxKeys)
}

// New returns a storage connector that reads and writes through c. Each call is bounded by
// c's timeout (client.WithTimeout), the only bound the SDK's decisions get, since the SDK
// passes no context.
func New(c *client.Client, opts ...Option) *Storage {
	guard, onError := failopen.Apply("vwofmeuss: uss storage", opts)
	return &Storage{c: c, guard: guard, onError: onError}
}

// guardKey joins the ids with NUL, which uss refuses in ids, so no two pairs share a key.
func guardKey(userID, featureKey string) string { return userID + "\x00" + featureKey }

// Get returns the stored record as a map[string]interface{} (numbers as json.Number, exact),
// or nil when there is none or when uss cannot be read; in the second case the adapter
// drops this user's writes of the feature for a while (see the package documentation). It
// never returns an error: the SDK would only log it, and the error handler has it.
func (s *Storage) Get(featureKey, userID string) (interface{}, error) {
	key := guardKey(userID, featureKey)
	raw, err := s.c.GetVWOFMERecord(context.Background(), featureKey, userID)
	if errors.Is(err, client.ErrNotFound) {
		s.guard.ReadSucceeded(key, nil)
		return nil, nil
	}
	var record map[string]interface{}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if derr := dec.Decode(&record); derr != nil {
			err = fmt.Errorf("uss get vwo fme record: decode: %w", derr)
		}
	}
	if err != nil {
		s.guard.ReadFailed(key)
		s.onError(err)
		return nil, nil
	}
	s.guard.ReadSucceeded(key, fields(record))
	return record, nil
}

// Set replaces the user's record of the feature with data, whole. The SDK ignores what Set
// returns; the error handler has every error too.
func (s *Storage) Set(data map[string]interface{}) error {
	featureKey, _ := data["featureKey"].(string)
	userID, _ := data["userId"].(string)
	if !s.guard.ReplaceAllowed(guardKey(userID, featureKey), fields(data)) {
		err := fmt.Errorf("uss save vwo fme record: %w", ErrWriteSkipped)
		s.onError(err)
		return err
	}
	if _, err := s.c.SaveVWOFMERecord(context.Background(), data); err != nil {
		s.onError(err)
		return err
	}
	return nil
}

// fields is a record as the guard compares it: each field's JSON encoding. A value that
// cannot be encoded is a NUL, which no encoding holds, so it equals nothing stored.
func fields(record map[string]interface{}) map[string]string {
	out := make(map[string]string, len(record))
	for k, v := range record {
		b, err := json.Marshal(v)
		if err != nil {
			b = []byte{0}
		}
		out[k] = string(b)
	}
	return out
}
