// Package goals tracks goal conversions with VWO's semantics (VWO-REFERENCE 1.4): which
// campaigns a track call applies to, which goals count, revenue, returning users. A user
// without a variation is decided first, as the VWO Go SDK does. The goal joins the
// assignment's goal set and the conversions table in one atomic statement, so concurrent
// tracks never lose a goal and a repeated goal is never counted twice.
package goals

import (
	"context"
	"fmt"
	"math/big"
	"regexp"

	"github.com/uss/uss/internal/campaign"
	"github.com/uss/uss/internal/decision"
	"github.com/uss/uss/internal/uss"
)

// Goal types a track call can be limited to.
const (
	TrackAll     = "ALL"
	TrackCustom  = string(campaign.GoalCustom)
	TrackRevenue = string(campaign.GoalRevenue)
)

// maxRevenue bounds a revenue value: far above any real order, low enough that a sum over
// millions of conversions stays an ordinary number.
var maxRevenue = big.NewRat(1_000_000_000_000_000, 1)

// revenueSyntax is JSON's number grammar: what a numeric string must look like. The exponent
// has at most two digits, so no value can make big.Rat build an enormous power of ten.
var revenueSyntax = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]{1,2})?$`)

// Request is one track call.
type Request struct {
	// CampaignKeys names the campaigns to track in; nil means every running campaign that has
	// the goal (and of the type asked for).
	CampaignKeys   []string
	UserID         string
	GoalIdentifier string
	// RevenueValue is a decimal number as text ("" when none was given).
	RevenueValue                string
	CustomVariables             map[string]any
	VariationTargetingVariables map[string]any
	// GoalTypeToTrack is ALL (default), CUSTOM_GOAL or REVENUE_TRACKING.
	GoalTypeToTrack          string
	ShouldTrackReturningUser bool
}

// Result is the outcome in one campaign.
type Result struct {
	CampaignKey string
	Tracked     bool
	Reason      string
}

// Conversion is what the store records for one tracked goal.
type Conversion struct {
	UserID        string
	CampaignKey   string
	VariationName string
	Goal          string
	// Revenue is a decimal as text, "" for none.
	Revenue string
	// Repeatable: record the conversion even when the goal already converted.
	Repeatable bool
	// Source of the assignment row if the conversion has to create it (a whitelisted user
	// has no stored row until a goal converts).
	Source uss.Source
}

// Store records conversions.
type Store interface {
	// RecordConversion atomically adds the goal to the assignment's goal set (creating the
	// row if missing) and writes a conversion row when the goal is new, or when it repeats and
	// c.Repeatable. It reports whether the goal was new and whether a conversion was written.
	RecordConversion(ctx context.Context, account uss.AccountID, c Conversion) (newGoal, recorded bool, err error)
}

// Decider is the decision service (a user is decided before converting).
type Decider interface {
	Campaign(account uss.AccountID, key string) (*campaign.Campaign, error)
	Campaigns(account uss.AccountID) ([]*campaign.Campaign, error)
	DecideIn(ctx context.Context, account uss.AccountID, c *campaign.Campaign, req decision.Request, expose bool) (decision.Decision, error)
}

// Service tracks goals.
type Service struct {
	decider Decider
	store   Store
}

// NewService returns a Service.
func NewService(decider Decider, store Store) *Service {
	return &Service{decider: decider, store: store}
}

// Track records the goal for the user in every campaign the request applies to. Bad input and
// unknown campaigns are refused before anything is written; after that each campaign has its
// own result.
func (s *Service) Track(ctx context.Context, account uss.AccountID, req Request) ([]Result, error) {
	campaigns, err := s.validate(account, &req)
	if err != nil {
		return nil, err
	}
	results := make([]Result, 0, len(campaigns))
	for _, c := range campaigns {
		r, err := s.trackIn(ctx, account, c, req)
		if err != nil {
			return nil, err
		}
		results = append(results, r)
	}
	return results, nil
}

func (s *Service) validate(account uss.AccountID, req *Request) ([]*campaign.Campaign, error) {
	if err := uss.ValidateIdentifier("userId", req.UserID); err != nil {
		return nil, err
	}
	if err := uss.ValidateGoal("goalIdentifier", req.GoalIdentifier); err != nil {
		return nil, err
	}
	switch req.GoalTypeToTrack {
	case "":
		req.GoalTypeToTrack = TrackAll
	case TrackAll, TrackCustom, TrackRevenue:
	default:
		return nil, uss.Invalid("goalTypeToTrack", "must be %s, %s or %s", TrackAll, TrackCustom, TrackRevenue)
	}
	if req.RevenueValue != "" {
		if err := validateRevenue(req.RevenueValue); err != nil {
			return nil, err
		}
	}
	if req.CampaignKeys == nil {
		all, err := s.decider.Campaigns(account)
		if err != nil {
			return nil, err
		}
		var out []*campaign.Campaign
		for _, c := range all {
			if g := c.Goal(req.GoalIdentifier); c.Running() && g != nil && typeMatches(g, req.GoalTypeToTrack) {
				out = append(out, c)
			}
		}
		return out, nil
	}
	if len(req.CampaignKeys) == 0 {
		return nil, uss.Invalid("campaignKey", "must not be an empty list (use null for every campaign with the goal)")
	}
	if len(req.CampaignKeys) > uss.MaxBatch {
		return nil, uss.Invalid("campaignKey", "must hold at most %d keys", uss.MaxBatch)
	}
	out := make([]*campaign.Campaign, 0, len(req.CampaignKeys))
	seen := make(map[string]bool, len(req.CampaignKeys))
	for i, key := range req.CampaignKeys {
		if err := uss.ValidateIdentifier(fmt.Sprintf("campaignKey[%d]", i), key); err != nil {
			return nil, err
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		c, err := s.decider.Campaign(account, key)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (s *Service) trackIn(ctx context.Context, account uss.AccountID, c *campaign.Campaign, req Request) (Result, error) {
	res := Result{CampaignKey: c.Key}
	goal := c.Goal(req.GoalIdentifier)
	switch {
	case !c.Running():
		res.Reason = fmt.Sprintf("campaign status is %s, not RUNNING", c.Status)
		return res, nil
	case c.Type == campaign.TypeFeatureRollout:
		res.Reason = "feature rollouts have no goals"
		return res, nil
	case goal == nil:
		res.Reason = fmt.Sprintf("the campaign has no goal %q", req.GoalIdentifier)
		return res, nil
	case !typeMatches(goal, req.GoalTypeToTrack):
		res.Reason = fmt.Sprintf("the goal is %s and goalTypeToTrack is %s", goal.Type, req.GoalTypeToTrack)
		return res, nil
	case goal.IsRevenue() && req.RevenueValue == "":
		res.Reason = "a revenue goal needs revenueValue"
		return res, nil
	}
	d, err := s.decider.DecideIn(ctx, account, c, decision.Request{
		CampaignKey: c.Key, UserID: req.UserID,
		CustomVariables: req.CustomVariables, VariationTargetingVariables: req.VariationTargetingVariables,
	}, false)
	if err != nil {
		return res, err
	}
	if d.Variation == nil {
		res.Reason = "the user has no variation: " + d.Reason
		return res, nil
	}
	conv := Conversion{
		UserID: req.UserID, CampaignKey: c.Key, VariationName: d.Variation.Name, Goal: goal.Identifier,
		// VWO's "mca" of -1 marks a goal that counts every conversion.
		Repeatable: req.ShouldTrackReturningUser || (goal.MCA != nil && *goal.MCA == -1),
		Source:     uss.SourceBucketed,
	}
	if goal.IsRevenue() {
		conv.Revenue = req.RevenueValue
	}
	if d.Source == decision.SourceWhitelisted {
		conv.Source = uss.SourceWhitelisted
	}
	newGoal, recorded, err := s.store.RecordConversion(ctx, account, conv)
	if err != nil {
		return res, err
	}
	res.Tracked = recorded
	switch {
	case newGoal:
		res.Reason = fmt.Sprintf("converted in %q", d.Variation.Name)
	case recorded:
		res.Reason = fmt.Sprintf("converted again in %q (returning user)", d.Variation.Name)
	default:
		res.Reason = "the goal already converted for this user (set shouldTrackReturningUser to count it again)"
	}
	return res, nil
}

func typeMatches(g *campaign.Goal, goalTypeToTrack string) bool {
	return goalTypeToTrack == TrackAll || string(g.Type) == goalTypeToTrack
}

func validateRevenue(v string) error {
	if len(v) > 64 || !revenueSyntax.MatchString(v) {
		return uss.Invalid("revenueValue", "must be a number or a numeric string, got %q", v)
	}
	r, ok := new(big.Rat).SetString(v)
	if !ok || new(big.Rat).Abs(r).Cmp(maxRevenue) >= 0 {
		return uss.Invalid("revenueValue", "must be a number below 1e15 in magnitude, got %q", v)
	}
	return nil
}
