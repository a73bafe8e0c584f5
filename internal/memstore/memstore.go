// Package memstore keeps assignments and conversions in memory, with the rules of
// internal/postgres's statements, so that the decision and track rules can be tested as
// tables without a database. Tests only: uss stores in PostgreSQL, and that storage path is
// tested against PostgreSQL alone.
package memstore

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/uss/uss/internal/decision"
	"github.com/uss/uss/internal/goals"
	"github.com/uss/uss/internal/settings"
	"github.com/uss/uss/internal/uss"
)

// Row is one stored assignment.
type Row struct {
	VariationName string
	Goals         []string
	Source        uss.Source
	Exposures     int64
}

// Conversion is one conversion row.
type Conversion struct {
	UserID, CampaignKey, VariationName, Goal, Revenue string
	Repeat                                            bool
}

type key struct {
	account uss.AccountID
	uss.AssignmentKey
}

// Store implements decision.Store, goals.Store and goals.TxStore. Its zero value is empty and
// ready.
type Store struct {
	mu          sync.Mutex
	rows        map[key]Row
	conversions []Conversion
}

// Put stores a row as it is, for a test's starting state.
func (s *Store) Put(account uss.AccountID, k uss.AssignmentKey, r Row) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(key{account, k}, r)
}

func (s *Store) put(k key, r Row) {
	if s.rows == nil {
		s.rows = make(map[key]Row)
	}
	s.rows[k] = r
}

// Row returns the stored row, if any.
func (s *Store) Row(account uss.AccountID, k uss.AssignmentKey) (Row, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rows[key{account, k}]
	return r, ok
}

// Conversions returns every conversion row, in the order written.
func (s *Store) Conversions() []Conversion {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.conversions)
}

// GetAssignment implements decision.Store.
func (s *Store) GetAssignment(_ context.Context, account uss.AccountID, k uss.AssignmentKey) (uss.Assignment, error) {
	r, ok := s.Row(account, k)
	if !ok {
		return uss.Assignment{}, uss.ErrNotFound
	}
	return uss.Assignment{UserID: k.UserID, CampaignKey: k.CampaignKey, VariationName: r.VariationName,
		Goals: slices.Clone(r.Goals), Source: r.Source}, nil
}

// DeleteAssignment implements decision.Store.
func (s *Store) DeleteAssignment(_ context.Context, account uss.AccountID, k uss.AssignmentKey, _ string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.rows[key{account, k}]; !ok {
		return 0, nil
	}
	delete(s.rows, key{account, k})
	return 1, nil
}

// StoreDecision implements decision.Store as decideSQL does.
func (s *Store) StoreDecision(_ context.Context, p decision.StoreParams) (decision.Stored, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{p.Account, p.Key}
	var exposures int64
	if p.Expose {
		exposures = 1
	}
	row, ok := s.rows[k]
	switch {
	case ok && slices.Contains(p.Valid, row.VariationName):
		row.Exposures += exposures
		s.put(k, row)
		return decision.Stored{VariationName: row.VariationName, Outcome: decision.OutcomeKept}, nil
	case p.Candidate == "":
		return decision.Stored{Outcome: decision.OutcomeNone}, nil
	}
	s.put(k, Row{VariationName: p.Candidate, Source: p.Source, Exposures: exposures})
	if ok {
		return decision.Stored{VariationName: p.Candidate, Outcome: decision.OutcomeReplaced}, nil
	}
	return decision.Stored{VariationName: p.Candidate, Outcome: decision.OutcomeInserted}, nil
}

// RecordConversion implements goals.TxStore as recordConversionSQL does.
func (s *Store) RecordConversion(_ context.Context, account uss.AccountID, c goals.Conversion) (goals.Recorded, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{account, uss.AssignmentKey{UserID: c.UserID, CampaignKey: c.CampaignKey}}
	row, ok := s.rows[k]
	if !ok {
		row = Row{VariationName: c.VariationName, Source: c.Source}
	}
	rec := goals.Recorded{VariationName: row.VariationName, NewGoal: !slices.Contains(row.Goals, c.Goal)}
	if rec.NewGoal {
		row.Goals = append(slices.Clone(row.Goals), c.Goal)
		s.put(k, row)
	}
	rec.Converted = rec.NewGoal || c.Repeatable
	if rec.Converted {
		s.conversions = append(s.conversions, Conversion{UserID: c.UserID, CampaignKey: c.CampaignKey,
			VariationName: row.VariationName, Goal: c.Goal, Revenue: c.Revenue, Repeat: !rec.NewGoal})
	}
	return rec, nil
}

// InTx implements goals.Store: fn works on a copy, which replaces the store's contents only
// when fn returns nil. Transactions run one at a time.
func (s *Store) InTx(_ context.Context, fn func(goals.TxStore) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &Store{rows: maps.Clone(s.rows), conversions: slices.Clone(s.conversions)}
	if err := fn(tx); err != nil {
		return err
	}
	s.rows, s.conversions = tx.rows, tx.conversions
	return nil
}

// Settings serves one settings snapshot as every account's current one (decision.Settings).
type Settings struct {
	Snapshot *settings.Snapshot
}

// Current implements decision.Settings.
func (s Settings) Current(uss.AccountID) (*settings.Snapshot, error) { return s.Snapshot, nil }
