// Package decision decides a user's variation in a campaign the way VWO's SDKs do, with uss's
// storage in the middle. DecideWith is the one place that holds the order (see
// docs/decisions.md): campaign status, whitelisting, enforced targeting, the stored
// assignment, then traffic, pre-segmentation and variation allocation for a user without one,
// whose variation is stored first-writer-wins. The steps themselves are pure methods of
// internal/campaign; this package adds the storage and the stickiness options.
package decision

import (
	"context"
	"errors"
	"fmt"

	"github.com/uss/uss/internal/campaign"
	"github.com/uss/uss/internal/settings"
	"github.com/uss/uss/internal/uss"
)

// ErrCampaignNotFound: the account's settings have no campaign with that key (or the
// account has no settings yet).
var ErrCampaignNotFound = fmt.Errorf("campaign %w", uss.ErrNotFound)

// Request is one decision to make.
type Request struct {
	CampaignKey string
	UserID      string
	// CustomVariables feed pre-segmentation; VariationTargetingVariables feed whitelisting.
	CustomVariables             map[string]any
	VariationTargetingVariables map[string]any
	// EnforceTargeting re-checks pre-segmentation for a user with a stored variation (Statsig's
	// option): one who no longer matches gets no variation, and the row is kept.
	EnforceTargeting bool
	// DryRun decides without writing anything.
	DryRun bool
	// NotSticky decides without the stored row and deletes it (Statsig's "no persisted
	// values"); nothing new is stored. With DryRun the row is kept.
	NotSticky bool
	// Expose counts an exposure on the row the answer comes from (VWO's activate); the
	// variation endpoint and goal tracking decide without one.
	Expose bool
}

// Decision is the outcome.
type Decision struct {
	Variation *campaign.Variation // nil: no variation
	// Source is where the variation came from: uss.SourceStored, SourceBucketed,
	// SourceWhitelisted, or SourceNone without a variation.
	Source uss.Source
	// ReasonCode says why in one stable word; Reason says it in a sentence for people.
	ReasonCode ReasonCode
	Reason     string
}

// StoreParams is one decision's write.
type StoreParams struct {
	Account uss.AccountID
	Key     uss.AssignmentKey
	// Valid names the campaign's variations: a stored row counts only while its variation is
	// one of them.
	Valid []string
	// Candidate is the variation to store when the user has no row with a valid variation;
	// "" stores nothing.
	Candidate string
	// Source is the source of a row written for Candidate.
	Source uss.Source
	// Expose counts an exposure on the row of the answer.
	Expose bool
}

// Outcome is what StoreDecision found and did.
type Outcome uint8

const (
	// OutcomeNone: the user has no row with a valid variation and there was no candidate;
	// nothing was written.
	OutcomeNone Outcome = iota
	// OutcomeKept: the user's row has a valid variation; it is the answer, unchanged but for
	// the exposure.
	OutcomeKept
	// OutcomeInserted: the user had no row; the candidate is stored now.
	OutcomeInserted
	// OutcomeReplaced: the row's variation no longer exists in the campaign; the candidate
	// replaced it (and its goals, which were the old variation's).
	OutcomeReplaced
)

// Stored is StoreDecision's answer.
type Stored struct {
	// VariationName is the user's stored variation after the call; "" with OutcomeNone.
	VariationName string
	Outcome       Outcome
}

// Store is what decisions need from persistence.
type Store interface {
	GetAssignment(ctx context.Context, account uss.AccountID, key uss.AssignmentKey) (uss.Assignment, error)
	// DeleteAssignment removes the row; reason is its history event's reason code.
	DeleteAssignment(ctx context.Context, account uss.AccountID, key uss.AssignmentKey, reason string) (int64, error)
	// StoreDecision, in one atomic step: answers with the stored row if its variation is
	// valid (counting an exposure when asked); else stores the candidate, if any,
	// first-writer-wins (replacing a row whose variation is not valid), and answers with the
	// row that won. The Outcome tells the cases apart.
	StoreDecision(ctx context.Context, p StoreParams) (Stored, error)
}

// Settings gives an account's current settings (the settings registry).
type Settings interface {
	// Current returns the account's settings, nil when it has none.
	Current(account uss.AccountID) (*settings.Snapshot, error)
}

// Service makes decisions from the in-memory settings and the store.
type Service struct {
	store    Store
	settings Settings
}

// NewService returns a Service.
func NewService(store Store, s Settings) *Service {
	return &Service{store: store, settings: s}
}

// Activate decides and counts an exposure (VWO's activate).
func (s *Service) Activate(ctx context.Context, account uss.AccountID, req Request) (Decision, error) {
	req.Expose = true
	return s.decide(ctx, account, req)
}

// Variation decides without counting an exposure (VWO's getVariationName).
func (s *Service) Variation(ctx context.Context, account uss.AccountID, req Request) (Decision, error) {
	req.Expose = false
	return s.decide(ctx, account, req)
}

// Campaign returns the account's campaign with that key from the current settings.
func (s *Service) Campaign(account uss.AccountID, key string) (*campaign.Campaign, error) {
	snap, err := s.settings.Current(account)
	if err != nil {
		return nil, err
	}
	if snap == nil {
		return nil, fmt.Errorf("%w: the account has no settings; upload them with PUT /v1/settings", ErrCampaignNotFound)
	}
	c := snap.Settings.Campaign(key)
	if c == nil {
		return nil, fmt.Errorf("%w: no campaign %q in settings version %d", ErrCampaignNotFound, key, snap.Version)
	}
	return c, nil
}

// Campaigns returns every campaign of the account's current settings.
func (s *Service) Campaigns(account uss.AccountID) ([]*campaign.Campaign, error) {
	snap, err := s.settings.Current(account)
	if snap == nil || err != nil {
		return nil, err
	}
	return snap.Settings.Campaigns, nil
}

func (s *Service) decide(ctx context.Context, account uss.AccountID, req Request) (Decision, error) {
	if err := uss.ValidateIdentifier("campaignKey", req.CampaignKey); err != nil {
		return Decision{}, err
	}
	if err := uss.ValidateIdentifier("userId", req.UserID); err != nil {
		return Decision{}, err
	}
	c, err := s.Campaign(account, req.CampaignKey)
	if err != nil {
		return Decision{}, err
	}
	return s.DecideIn(ctx, account, c, req)
}

// DecideIn decides in a campaign already looked up.
func (s *Service) DecideIn(ctx context.Context, account uss.AccountID, c *campaign.Campaign, req Request) (Decision, error) {
	return s.DecideWith(ctx, s.store, account, c, req)
}

// DecideWith is DecideIn reading and writing through store: a caller that writes more than the
// decision (a goal conversion) passes a transaction's store, so both commit together.
func (s *Service) DecideWith(ctx context.Context, store Store, account uss.AccountID, c *campaign.Campaign, req Request) (Decision, error) {
	if !c.Running() {
		return noVariation(ReasonCampaignNotRunning,
			"campaign status is %s: only RUNNING campaigns hand out variations, and nothing is stored", c.Status), nil
	}
	// Whitelisting wins over everything and is never stored.
	if v := c.Whitelist(req.UserID, req.VariationTargetingVariables); v != nil {
		return Decision{Variation: v, Source: uss.SourceWhitelisted, ReasonCode: ReasonWhitelisted,
			Reason: fmt.Sprintf("whitelisted into %q: variationTargetingVariables match its segments (not stored)", v.Name)}, nil
	}
	// With enforceTargeting a user outside pre-segmentation gets nothing, stored or not: the
	// stored row, if any, is kept for when the user matches again.
	if req.EnforceTargeting && !c.PassesSegments(req.CustomVariables) {
		return noVariation(ReasonEnforcedTargeting,
			"the user does not match the campaign's pre-segmentation and enforceTargeting is set: no variation; a stored assignment, if any, is kept"), nil
	}
	fresh := eligibility(c, req.UserID, req.CustomVariables)
	key := uss.AssignmentKey{UserID: req.UserID, CampaignKey: c.Key}
	switch {
	case req.NotSticky:
		return notSticky(ctx, store, account, key, req.DryRun, fresh)
	case req.DryRun:
		return dryRun(ctx, store, account, key, c, fresh)
	}

	st, err := store.StoreDecision(ctx, StoreParams{
		Account: account, Key: key, Valid: c.VariationNames(), Candidate: fresh.name(),
		Source: uss.SourceBucketed, Expose: req.Expose,
	})
	if err != nil {
		// Never decide past a failed read: the user may have a stored variation.
		return Decision{}, err
	}
	if st.Outcome == OutcomeNone {
		return fresh.without("the user has no stored variation"), nil
	}
	v := c.Variation(st.VariationName)
	if v == nil { // cannot happen: the store keeps or writes only valid names
		return Decision{}, fmt.Errorf("stored variation %q is not in campaign %q", st.VariationName, c.Key)
	}
	switch st.Outcome {
	case OutcomeInserted:
		return bucketed(ReasonBucketed, v, "bucketed into %q and stored", v.Name), nil
	case OutcomeReplaced:
		return bucketed(ReasonStoredVariationRemoved, v,
			"the stored variation no longer exists in the campaign: bucketed into %q and stored in its place", v.Name), nil
	}
	return stored(v, fresh, ""), nil
}

// notSticky decides without the stored row: it deletes the row, unless dryRun, and stores
// nothing.
func notSticky(ctx context.Context, store Store, account uss.AccountID, key uss.AssignmentKey, dryRun bool,
	fresh candidate) (Decision, error) {
	note := "sticky is false and this is a dry run: decided without the stored assignment, which is kept; nothing stored"
	if !dryRun {
		removed, err := store.DeleteAssignment(ctx, account, key, string(ReasonNotSticky))
		if err != nil {
			return Decision{}, err
		}
		note = "sticky is false: there was no stored assignment to remove; nothing stored"
		if removed > 0 {
			note = "sticky is false: decided without the stored assignment, which was removed; nothing stored"
		}
	}
	if fresh.variation == nil {
		return fresh.without(note), nil
	}
	return bucketed(ReasonNotSticky, fresh.variation, "bucketed into %q (%s)", fresh.variation.Name, note), nil
}

// dryRun answers what the decision would be, writing nothing: the stored variation if it is
// still valid, else the bucketer's.
func dryRun(ctx context.Context, store Store, account uss.AccountID, key uss.AssignmentKey, c *campaign.Campaign,
	fresh candidate) (Decision, error) {
	const note = "dry run: nothing written"
	row, err := store.GetAssignment(ctx, account, key)
	switch {
	case errors.Is(err, uss.ErrNotFound):
	case err != nil:
		return Decision{}, err
	default:
		if v := c.Variation(row.VariationName); v != nil {
			return stored(v, fresh, note), nil
		}
	}
	if fresh.variation == nil {
		return fresh.without(note), nil
	}
	if err == nil {
		return bucketed(ReasonDryRun, fresh.variation,
			"the stored variation %q no longer exists in the campaign: bucketed into %q (%s)", row.VariationName, fresh.variation.Name, note), nil
	}
	return bucketed(ReasonDryRun, fresh.variation, "bucketed into %q (%s)", fresh.variation.Name, note), nil
}

// candidate is what traffic, pre-segmentation and allocation give a user without a stored
// variation: a variation, or none, why and its code.
type candidate struct {
	variation *campaign.Variation
	code      ReasonCode
	why       string
}

func eligibility(c *campaign.Campaign, userID string, customVariables map[string]any) candidate {
	if !c.InTraffic(userID) {
		return candidate{code: ReasonNotInTraffic,
			why: fmt.Sprintf("the user is outside the campaign's traffic (percentTraffic %d)", c.PercentTraffic)}
	}
	if !c.PassesSegments(customVariables) {
		return candidate{code: ReasonSegmentMismatch, why: "the user does not match the campaign's pre-segmentation"}
	}
	if v := c.Allocate(userID); v != nil {
		return candidate{variation: v, code: ReasonBucketed}
	}
	return candidate{code: ReasonNoVariationRange, why: "the user's variation bucket lies beyond every variation's range"}
}

// name is the candidate's variation name, "" when there is none.
func (f candidate) name() string {
	if f.variation == nil {
		return ""
	}
	return f.variation.Name
}

// without is the decision for a user the candidate gives no variation.
func (f candidate) without(note string) Decision {
	return noVariation(f.code, "%s; %s", f.why, note)
}

func noVariation(code ReasonCode, format string, args ...any) Decision {
	return Decision{Source: uss.SourceNone, ReasonCode: code, Reason: fmt.Sprintf(format, args...)}
}

func bucketed(code ReasonCode, v *campaign.Variation, format string, args ...any) Decision {
	return Decision{Variation: v, Source: uss.SourceBucketed, ReasonCode: code, Reason: fmt.Sprintf(format, args...)}
}

// stored is the decision that answers with the user's stored variation v; the reason says how
// it compares with what the user would get without it.
func stored(v *campaign.Variation, fresh candidate, note string) Decision {
	d := Decision{Variation: v, Source: uss.SourceStored, ReasonCode: ReasonStored}
	switch {
	case fresh.variation == nil:
		d.Reason = fmt.Sprintf("stored assignment %q, kept although %s", v.Name, fresh.why)
	case fresh.variation != v:
		d.Reason = fmt.Sprintf("stored assignment %q (without it, today's settings would bucket %q)", v.Name, fresh.variation.Name)
	default:
		d.Reason = fmt.Sprintf("stored assignment %q", v.Name)
	}
	if note != "" {
		d.Reason += "; " + note
	}
	return d
}
