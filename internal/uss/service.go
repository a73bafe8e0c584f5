package uss

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/uss/uss/internal/strictjson"
)

// ReasonDelete is the history reason code of a deletion through the storage API.
const ReasonDelete = "delete"

// MaxBatch bounds the records of one batch get or set.
const MaxBatch = 1000

// Store is what the service needs from persistence. Implementations map their own errors onto
// ErrNotFound and ErrUnavailable.
type Store interface {
	GetAssignment(ctx context.Context, account AccountID, key AssignmentKey) (Assignment, error)
	// GetAssignments returns the user's assignments in the given campaigns, or in all of them
	// when campaignKeys is empty, in one round trip.
	GetAssignments(ctx context.Context, account AccountID, userID string, campaignKeys []string) ([]Assignment, error)
	// SetAssignment writes one row as mode says: see Service.Set for how goals merge.
	SetAssignment(ctx context.Context, account AccountID, a Assignment, mode SetMode) (Assignment, error)
	// SetAssignments writes all rows or none.
	SetAssignments(ctx context.Context, account AccountID, as []Assignment, mode SetMode) ([]Assignment, error)
	// DeleteAssignment removes one row; reason is its history event's reason code.
	DeleteAssignment(ctx context.Context, account AccountID, key AssignmentKey, reason string) (int64, error)
	// EraseUser removes every assignment, conversion, persisted value and history event of
	// the user, and the user's records of the other SDKs' storage (docs/vendors.md), at once.
	EraseUser(ctx context.Context, account AccountID, userID string) (Erased, error)
	PersistedValues(ctx context.Context, account AccountID, key string) (map[string]json.RawMessage, error)
	SavePersistedValue(ctx context.Context, account AccountID, v PersistedValue) error
	DeletePersistedValue(ctx context.Context, account AccountID, key, configName string) (int64, error)
}

// Service validates requests against the storage contract and runs them on the Store. Every
// method validates everything before it touches the store, so bad input changes nothing.
type Service struct {
	store Store
}

// NewService returns a Service over store.
func NewService(store Store) *Service { return &Service{store: store} }

// Get returns one assignment, or ErrNotFound.
func (s *Service) Get(ctx context.Context, account AccountID, key AssignmentKey) (Assignment, error) {
	if err := validateKey("", key); err != nil {
		return Assignment{}, err
	}
	return s.store.GetAssignment(ctx, account, key)
}

// SetMode says what a set does when the user already has a row in another variation.
type SetMode uint8

const (
	// SetUpsert: the given variation replaces the stored one (VWO's set).
	SetUpsert SetMode = iota
	// SetIfAbsent: a stored variation is never replaced; the first writer wins, and every
	// caller is answered with the row that won, so an SDK can use the stored variation
	// instead of its own.
	SetIfAbsent
)

// Set writes one assignment as an SDK writes it and returns the stored row. While the
// variation stays the same, the stored goal set becomes the union of the stored goals and
// the given ones, so two SDK instances that each append a goal to what they read never lose
// one. A new variation replaces the stored one with the given goals only, as its conversions
// are not the old variation's, unless mode is SetIfAbsent: then the stored row stays as it
// is.
func (s *Service) Set(ctx context.Context, account AccountID, a Assignment, mode SetMode) (Assignment, error) {
	if err := validateAssignment("", a); err != nil {
		return Assignment{}, err
	}
	a.Source = SourceSet
	return s.store.SetAssignment(ctx, account, a, mode)
}

// BatchGet returns the user's assignments in campaignKeys, or in all of the user's campaigns
// when campaignKeys is nil (an empty, non-nil list asks for none); missing ones are absent.
func (s *Service) BatchGet(ctx context.Context, account AccountID, userID string, campaignKeys []string) ([]Assignment, error) {
	if err := ValidateIdentifier("userId", userID); err != nil {
		return nil, err
	}
	if len(campaignKeys) > MaxBatch {
		return nil, Invalid("campaignKeys", "must hold at most %d keys, got %d", MaxBatch, len(campaignKeys))
	}
	for i, k := range campaignKeys {
		if err := ValidateIdentifier(fmt.Sprintf("campaignKeys[%d]", i), k); err != nil {
			return nil, err
		}
	}
	if campaignKeys != nil && len(campaignKeys) == 0 {
		return nil, nil
	}
	return s.store.GetAssignments(ctx, account, userID, campaignKeys)
}

// BatchSet writes up to MaxBatch assignments, all or none, with Set's rules. Every record is
// validated first; two records for the same user and campaign are refused, since which one
// should win would be a guess.
func (s *Service) BatchSet(ctx context.Context, account AccountID, as []Assignment, mode SetMode) ([]Assignment, error) {
	if len(as) == 0 {
		return nil, Invalid("records", "must hold at least one record")
	}
	if len(as) > MaxBatch {
		return nil, Invalid("records", "must hold at most %d records, got %d", MaxBatch, len(as))
	}
	seen := make(map[AssignmentKey]int, len(as))
	for i := range as {
		field := fmt.Sprintf("records[%d].", i)
		if err := validateAssignment(field, as[i]); err != nil {
			return nil, err
		}
		key := AssignmentKey{UserID: as[i].UserID, CampaignKey: as[i].CampaignKey}
		if j, dup := seen[key]; dup {
			return nil, Invalid(fmt.Sprintf("records[%d]", i), "repeats the userId and campaignKey of records[%d]", j)
		}
		seen[key] = i
		as[i].Source = SourceSet
	}
	return s.store.SetAssignments(ctx, account, as, mode)
}

// Delete removes one assignment and reports how many rows went (0 or 1).
func (s *Service) Delete(ctx context.Context, account AccountID, key AssignmentKey) (Erased, error) {
	if err := validateKey("", key); err != nil {
		return Erased{}, err
	}
	n, err := s.store.DeleteAssignment(ctx, account, key, ReasonDelete)
	return Erased{Assignments: n}, err
}

// Erase removes everything stored about a user in the account (privacy erasure).
func (s *Service) Erase(ctx context.Context, account AccountID, userID string) (Erased, error) {
	if err := ValidateIdentifier("userId", userID); err != nil {
		return Erased{}, err
	}
	return s.store.EraseUser(ctx, account, userID)
}

func validateKey(prefix string, key AssignmentKey) error {
	if err := ValidateIdentifier(prefix+"userId", key.UserID); err != nil {
		return err
	}
	return ValidateIdentifier(prefix+"campaignKey", key.CampaignKey)
}

func validateAssignment(prefix string, a Assignment) error {
	if err := validateKey(prefix, AssignmentKey{UserID: a.UserID, CampaignKey: a.CampaignKey}); err != nil {
		return err
	}
	if err := ValidateIdentifier(prefix+"variationName", a.VariationName); err != nil {
		return err
	}
	if len(a.Goals) > MaxGoals {
		return Invalid(prefix+"goalIdentifier", "must hold at most %d goals", MaxGoals)
	}
	for _, g := range a.Goals {
		if err := ValidateGoal(prefix+"goalIdentifier", g); err != nil {
			return err
		}
	}
	return nil
}

// PersistedValue is one Statsig sticky evaluation: an opaque JSON object saved under a storage
// key ("<unitID>:<idType>") and a config (experiment or layer) name.
type PersistedValue struct {
	Key        string
	ConfigName string
	Value      json.RawMessage
}

// UnitID is the user part of a storage key: everything before its last colon (unit ids may
// themselves contain colons, id types do not), or the whole key when it has none.
func UnitID(key string) string {
	if i := strings.LastIndexByte(key, ':'); i >= 0 {
		return key[:i]
	}
	return key
}

// PersistedValues returns every config's value saved under key, or ErrNotFound.
func (s *Service) PersistedValues(ctx context.Context, account AccountID, key string) (map[string]json.RawMessage, error) {
	if err := ValidateIdentifier("key", key); err != nil {
		return nil, err
	}
	values, err := s.store.PersistedValues(ctx, account, key)
	if err == nil && len(values) == 0 {
		return nil, ErrNotFound
	}
	return values, err
}

// SavePersistedValue stores (or replaces) one config's value; the value must be a JSON object.
func (s *Service) SavePersistedValue(ctx context.Context, account AccountID, v PersistedValue) error {
	if err := validatePersistedKey(v.Key, v.ConfigName); err != nil {
		return err
	}
	body := bytes.TrimSpace(v.Value)
	if len(body) == 0 || body[0] != '{' || !json.Valid(body) {
		return Invalid("body", "must be a JSON object")
	}
	// The value is stored as jsonb, which would keep only the last of a repeated key; and
	// invalid UTF-8 must be refused here, not by the database.
	if err := strictjson.Check(body, nil); err != nil {
		return Invalid("body", "is not strict JSON: %v", err)
	}
	v.Value = body
	return s.store.SavePersistedValue(ctx, account, v)
}

// DeletePersistedValue removes one config's value under key.
func (s *Service) DeletePersistedValue(ctx context.Context, account AccountID, key, configName string) (Erased, error) {
	if err := validatePersistedKey(key, configName); err != nil {
		return Erased{}, err
	}
	n, err := s.store.DeletePersistedValue(ctx, account, key, configName)
	return Erased{PersistedValues: n}, err
}

func validatePersistedKey(key, configName string) error {
	if err := ValidateIdentifier("key", key); err != nil {
		return err
	}
	return ValidateIdentifier("configName", configName)
}
