// Package decision decides a user's variation in a campaign the way VWO's SDKs do, with uss's
// storage in the middle: status, whitelisting, the stored assignment, traffic,
// pre-segmentation, variation allocation, then a first-writer-wins store. The bucketing
// itself is pure (internal/campaign, internal/bucketing); this package adds the I/O and the
// stickiness rules of SPEC 3.2.
package decision

import (
	"context"
	"errors"
	"fmt"

	"github.com/uss/uss/internal/campaign"
	"github.com/uss/uss/internal/settings"
	"github.com/uss/uss/internal/uss"
)

// Source says where a decision's variation came from.
type Source string

const (
	SourceStored      Source = "stored"
	SourceWhitelisted Source = "whitelisted"
	SourceBucketed    Source = "bucketed"
	SourceNone        Source = "none"
)

// ReasonNotSticky is the history reason code of a stored row that a decision with sticky
// false removed.
const ReasonNotSticky = "not_sticky"

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
	// values"); nothing new is stored.
	NotSticky bool
}

// Decision is the outcome.
type Decision struct {
	Campaign  *campaign.Campaign
	Variation *campaign.Variation // nil: no variation
	Source    Source
	Reason    string
	// Goals the user already converted in the campaign (from the stored row).
	Goals []string
}

// Stored is an assignment as a decision reads or writes it.
type Stored struct {
	VariationName string
	Goals         []string
}

// Store is what decisions need from persistence.
type Store interface {
	GetAssignment(ctx context.Context, account uss.AccountID, key uss.AssignmentKey) (uss.Assignment, error)
	// DeleteAssignment removes the row; reason is its history event's reason code.
	DeleteAssignment(ctx context.Context, account uss.AccountID, key uss.AssignmentKey, reason string) (int64, error)
	// StoreDecision, in one atomic step: returns the stored row if its variation is one of
	// valid (counting an exposure on it when expose); else, when candidate is not empty,
	// stores candidate first-writer-wins (replacing a row whose variation is not valid) and
	// returns the row that won. found is false when there is no valid row and no candidate.
	StoreDecision(ctx context.Context, account uss.AccountID, key uss.AssignmentKey, valid []string,
		candidate string, expose bool) (s Stored, found bool, err error)
}

// Service makes decisions from the in-memory settings and the store.
type Service struct {
	store    Store
	settings *settings.Registry
}

// NewService returns a Service.
func NewService(store Store, registry *settings.Registry) *Service {
	return &Service{store: store, settings: registry}
}

// Activate decides and counts an exposure (VWO's activate).
func (s *Service) Activate(ctx context.Context, account uss.AccountID, req Request) (Decision, error) {
	return s.decide(ctx, account, req, true)
}

// Variation decides without counting an exposure (VWO's getVariationName).
func (s *Service) Variation(ctx context.Context, account uss.AccountID, req Request) (Decision, error) {
	return s.decide(ctx, account, req, false)
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

func (s *Service) decide(ctx context.Context, account uss.AccountID, req Request, expose bool) (Decision, error) {
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
	return s.DecideIn(ctx, account, c, req, expose)
}

// DecideIn decides in a campaign already looked up.
func (s *Service) DecideIn(ctx context.Context, account uss.AccountID, c *campaign.Campaign, req Request, expose bool) (Decision, error) {
	return s.DecideWith(ctx, s.store, account, c, req, expose)
}

// DecideWith is DecideIn reading and writing through store: a caller that writes more than the
// decision (a goal conversion) passes a transaction's store, so both commit together.
func (s *Service) DecideWith(ctx context.Context, store Store, account uss.AccountID, c *campaign.Campaign, req Request, expose bool) (Decision, error) {
	d := Decision{Campaign: c, Source: SourceNone}
	if !c.Running() {
		d.Reason = fmt.Sprintf("campaign status is %s; only RUNNING campaigns are served and nothing is stored", c.Status)
		return d, nil
	}
	// 2. Whitelisting wins over everything and is never stored.
	if v := c.Whitelist(req.UserID, req.VariationTargetingVariables); v != nil {
		d.Variation, d.Source = v, SourceWhitelisted
		d.Reason = fmt.Sprintf("whitelisted: variationTargetingVariables match the segments of %q (not stored)", v.Name)
		return d, nil
	}
	// With enforceTargeting a user outside pre-segmentation gets nothing, stored or not: the
	// stored row, if any, is kept for when the user matches again.
	if req.EnforceTargeting && !c.PassesSegments(req.CustomVariables) {
		d.Reason = "the user does not match the campaign's pre-segmentation (enforceTargeting); a stored assignment is kept"
		return d, nil
	}
	candidate, why := eligibility(c, req)
	key := uss.AssignmentKey{UserID: req.UserID, CampaignKey: c.Key}

	switch {
	case req.NotSticky:
		if !req.DryRun {
			if _, err := store.DeleteAssignment(ctx, account, key, ReasonNotSticky); err != nil {
				return Decision{}, err
			}
		}
		return fresh(d, candidate, why, "sticky is false: decided without the stored assignment, which is removed, and nothing stored"), nil
	case req.DryRun:
		stored, err := store.GetAssignment(ctx, account, key)
		if err != nil && !errors.Is(err, uss.ErrNotFound) {
			return Decision{}, err
		}
		if err == nil {
			if v := c.Variation(stored.VariationName); v != nil {
				return storedDecision(d, v, stored.Goals, candidate, why), nil
			}
		}
		return fresh(d, candidate, why, "dry run: nothing stored"), nil
	}

	name := ""
	if candidate != nil {
		name = candidate.Name
	}
	stored, found, err := store.StoreDecision(ctx, account, key, c.VariationNames(), name, expose)
	if err != nil {
		// Never decide past a failed read: the user may have a stored variation.
		return Decision{}, err
	}
	if !found {
		d.Reason = why
		return d, nil
	}
	v := c.Variation(stored.VariationName)
	if v == nil { // cannot happen: the store keeps or writes only valid names
		return Decision{}, fmt.Errorf("stored variation %q is not in campaign %q", stored.VariationName, c.Key)
	}
	if candidate != nil && v == candidate {
		d.Variation, d.Source, d.Goals = v, SourceBucketed, stored.Goals
		d.Reason = fmt.Sprintf("bucketed into %q and stored", v.Name)
		return d, nil
	}
	return storedDecision(d, v, stored.Goals, candidate, why), nil
}

// eligibility runs traffic, pre-segmentation and allocation: the variation a user without a
// stored assignment gets, or nil and why not.
func eligibility(c *campaign.Campaign, req Request) (*campaign.Variation, string) {
	if !c.InTraffic(req.UserID) {
		return nil, fmt.Sprintf("the user is outside the campaign's traffic (percentTraffic %d)", c.PercentTraffic)
	}
	if !c.PassesSegments(req.CustomVariables) {
		return nil, "the user does not match the campaign's pre-segmentation"
	}
	if v := c.Allocate(req.UserID); v != nil {
		return v, ""
	}
	return nil, "the user's variation bucket is beyond every variation's range"
}

func fresh(d Decision, candidate *campaign.Variation, why, note string) Decision {
	if candidate == nil {
		d.Reason = why
		return d
	}
	d.Variation, d.Source = candidate, SourceBucketed
	d.Reason = fmt.Sprintf("bucketed into %q (%s)", candidate.Name, note)
	return d
}

func storedDecision(d Decision, v *campaign.Variation, goals []string, candidate *campaign.Variation, why string) Decision {
	d.Variation, d.Source, d.Goals = v, SourceStored, goals
	switch {
	case candidate == nil:
		d.Reason = fmt.Sprintf("stored assignment %q, kept although %s", v.Name, why)
	case candidate != v:
		d.Reason = fmt.Sprintf("stored assignment %q (today's settings would bucket %q)", v.Name, candidate.Name)
	default:
		d.Reason = fmt.Sprintf("stored assignment %q", v.Name)
	}
	return d
}
