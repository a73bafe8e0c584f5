// Package vwofme is the storage of VWO's FME SDKs: one record per user and feature, the
// object the SDK saves (its feature, user, and the rollout and experiment variations it
// decided), kept whole and returned as it was given. It knows nothing of HTTP or of
// PostgreSQL.
package vwofme

import (
	"context"
	"encoding/json"

	"github.com/uss/uss/internal/uss"
)

// MaxRecordBytes bounds one record as stored. An SDK's record is a few hundred bytes.
const MaxRecordBytes = 64 << 10

// MEGKeyPrefix starts the feature key of the records the SDKs keep for mutually exclusive
// groups ("_vwo_meta_meg_<groupId>"): which campaign of the group won for the user.
const MEGKeyPrefix = "_vwo_meta_meg_"

// Key names one record within an account.
type Key struct {
	UserID     string
	FeatureKey string
}

// Record is one stored object: its key, read from its "userId" and "featureKey" fields, and
// the object itself, a JSON object.
type Record struct {
	Key
	Object json.RawMessage
}

// NewRecord builds a record from the fields of the object an SDK saves. "featureKey" and
// "userId" must be strings and valid identifiers; every other field is kept as given. The
// object is re-encoded compactly (fields in name order), at most MaxRecordBytes.
func NewRecord(fields map[string]json.RawMessage) (Record, error) {
	var r Record
	var err error
	if r.FeatureKey, err = stringField(fields, "featureKey"); err != nil {
		return Record{}, err
	}
	if r.UserID, err = stringField(fields, "userId"); err != nil {
		return Record{}, err
	}
	if r.Object, err = json.Marshal(fields); err != nil {
		return Record{}, uss.Invalid("body", "is not a valid JSON object: %v", err)
	}
	if len(r.Object) > MaxRecordBytes {
		return Record{}, uss.Invalid("body", "must be at most %d bytes, got %d", MaxRecordBytes, len(r.Object))
	}
	return r, nil
}

func stringField(fields map[string]json.RawMessage, name string) (string, error) {
	raw, ok := fields[name]
	if !ok {
		return "", uss.Invalid(name, "is required")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || string(raw) == "null" {
		return "", uss.Invalid(name, "must be a string")
	}
	return s, uss.ValidateIdentifier(name, s)
}

// Store is what the service needs from persistence. Implementations map their own errors
// onto uss.ErrNotFound and uss.ErrUnavailable.
type Store interface {
	VWOFMERecord(ctx context.Context, account uss.AccountID, key Key) (json.RawMessage, error)
	// SaveVWOFMERecord replaces the record of r's key and returns the object as stored.
	SaveVWOFMERecord(ctx context.Context, account uss.AccountID, r Record) (json.RawMessage, error)
}

// Service validates requests and runs them on the Store; bad input changes nothing.
type Service struct {
	store Store
}

// NewService returns a Service over store.
func NewService(store Store) *Service { return &Service{store: store} }

// Get returns the stored object of key, or uss.ErrNotFound.
func (s *Service) Get(ctx context.Context, account uss.AccountID, key Key) (json.RawMessage, error) {
	if err := validateKey(key); err != nil {
		return nil, err
	}
	return s.store.VWOFMERecord(ctx, account, key)
}

// Save replaces the record of its user and feature, as the SDKs do on every save. r comes
// from NewRecord.
func (s *Service) Save(ctx context.Context, account uss.AccountID, r Record) (json.RawMessage, error) {
	if err := validateKey(r.Key); err != nil {
		return nil, err
	}
	if len(r.Object) == 0 || len(r.Object) > MaxRecordBytes {
		return nil, uss.Invalid("body", "must be a JSON object of at most %d bytes", MaxRecordBytes)
	}
	return s.store.SaveVWOFMERecord(ctx, account, r)
}

func validateKey(key Key) error {
	if err := uss.ValidateIdentifier("featureKey", key.FeatureKey); err != nil {
		return err
	}
	return uss.ValidateIdentifier("userId", key.UserID)
}
