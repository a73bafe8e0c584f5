// Package goals tracks goal conversions with VWO's semantics (docs/decisions.md): which
// campaigns a track call applies to, which goals count, revenue, returning users. A user
// without a variation is decided first, as the VWO Go SDK does. The goal joins the
// assignment's goal set and the conversions table in one atomic statement, so concurrent
// tracks never lose a goal and a repeated goal is never counted twice. A conversion is
// counted in the variation of the user's stored assignment, the row that holds the goal, so a
// report counts one user and its conversions under one variation (a whitelisted user stored
// in another variation converts in the stored one).
package goals

import (
	"context"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"

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

// ReasonCode says in one stable word what a track did in one campaign; the API returns it as
// a result's reasonCode. When the user has no variation, a result carries the decision's code
// instead (decision.ReasonNotInTraffic, ...), so that it says why.
type ReasonCode string

// The track reason codes (docs/decisions.md).
const (
	// ReasonConverted: the goal converted for the first time and is counted.
	ReasonConverted ReasonCode = "converted"
	// ReasonConvertedAgain: the goal had converted and is counted again (a returning user with
	// shouldTrackReturningUser, or a goal whose mca is -1).
	ReasonConvertedAgain ReasonCode = "converted_again"
	// ReasonAlreadyConverted: the goal had converted; nothing is counted.
	ReasonAlreadyConverted ReasonCode = "already_converted"
	// ReasonCampaignNotRunning: the campaign is not RUNNING; nothing is tracked.
	ReasonCampaignNotRunning = ReasonCode(decision.ReasonCampaignNotRunning)
	// ReasonRolloutHasNoGoals: feature rollouts track no goals.
	ReasonRolloutHasNoGoals ReasonCode = "rollout_has_no_goals"
	// ReasonGoalNotInCampaign: the campaign has no goal of that identifier.
	ReasonGoalNotInCampaign ReasonCode = "goal_not_in_campaign"
	// ReasonGoalTypeNotTracked: goalTypeToTrack excludes the goal's type.
	ReasonGoalTypeNotTracked ReasonCode = "goal_type_not_tracked"
	// ReasonRevenueMissing: a revenue goal without revenueValue.
	ReasonRevenueMissing ReasonCode = "revenue_missing"
)

// ReasonCodes lists every code a track result can carry: the track's own, then those of a
// decision that gives a tracked user no variation.
var ReasonCodes = []ReasonCode{
	ReasonConverted, ReasonConvertedAgain, ReasonAlreadyConverted, ReasonCampaignNotRunning, ReasonRolloutHasNoGoals,
	ReasonGoalNotInCampaign, ReasonGoalTypeNotTracked, ReasonRevenueMissing,
	ReasonCode(decision.ReasonNotInTraffic), ReasonCode(decision.ReasonSegmentMismatch), ReasonCode(decision.ReasonNoVariationRange),
}

// Result is the outcome in one campaign.
type Result struct {
	CampaignKey string
	Tracked     bool
	ReasonCode  ReasonCode
	Reason      string
	// Decision is the user's decision in the campaign; nil when the track stopped before one
	// was made (a campaign or goal that cannot track).
	Decision *decision.Decision
}

// Conversion is what the store records for one tracked goal.
type Conversion struct {
	UserID      string
	CampaignKey string
	// VariationName is the variation of the row the conversion creates when the user has no
	// stored assignment (a whitelisted user). A stored row's own variation always wins: the
	// conversion is counted where the user is.
	VariationName string
	Goal          string
	// Revenue is a decimal as text, "" for none.
	Revenue string
	// Repeatable: record the conversion even when the goal already converted.
	Repeatable bool
	// Source of the assignment row if the conversion has to create it.
	Source uss.Source
}

// Recorded is what RecordConversion did.
type Recorded struct {
	// VariationName is the variation the conversion was attributed to: the stored row's.
	VariationName string
	// NewGoal: the goal joined the row's goal set. Converted: a conversion row was written.
	NewGoal, Converted bool
}

// TxStore is one transaction: decisions and conversions that commit together.
type TxStore interface {
	decision.Store
	// RecordConversion atomically adds the goal to the assignment's goal set (creating the
	// row if missing) and writes a conversion row, in the row's variation, when the goal is
	// new, or when it repeats and c.Repeatable.
	RecordConversion(ctx context.Context, account uss.AccountID, c Conversion) (Recorded, error)
}

// Store runs a track's writes.
type Store interface {
	// InTx runs fn in one transaction: everything fn wrote commits when it returns nil, and
	// nothing does otherwise.
	InTx(ctx context.Context, fn func(TxStore) error) error
}

// Decider is the decision service (a user is decided before converting).
type Decider interface {
	Campaign(account uss.AccountID, key string) (*campaign.Campaign, error)
	Campaigns(account uss.AccountID) ([]*campaign.Campaign, error)
	DecideWith(ctx context.Context, store decision.Store, account uss.AccountID, c *campaign.Campaign,
		req decision.Request) (decision.Decision, error)
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
// unknown campaigns are refused before anything is written. Every campaign's writes (the
// decision of a user without a variation, the goal, the conversion) commit in one
// transaction: a failure anywhere leaves nothing written, so the caller may retry the whole
// call, and a success has written every campaign's result.
func (s *Service) Track(ctx context.Context, account uss.AccountID, req Request) ([]Result, error) {
	campaigns, err := s.validate(account, &req)
	if err != nil {
		return nil, err
	}
	// Rows are locked in key order, as every multi-row writer locks them, so concurrent
	// writers cannot deadlock; the results keep the request's order.
	order := make([]int, len(campaigns))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(campaigns[a].Key, campaigns[b].Key) })
	results := make([]Result, len(campaigns))
	err = s.store.InTx(ctx, func(tx TxStore) error {
		for _, i := range order {
			r, err := s.trackIn(ctx, tx, account, campaigns[i], req)
			if err != nil {
				return err
			}
			results[i] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
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

func (s *Service) trackIn(ctx context.Context, tx TxStore, account uss.AccountID, c *campaign.Campaign, req Request) (Result, error) {
	res := Result{CampaignKey: c.Key}
	stop := func(code ReasonCode, format string, args ...any) (Result, error) {
		res.ReasonCode, res.Reason = code, fmt.Sprintf(format, args...)
		return res, nil
	}
	goal := c.Goal(req.GoalIdentifier)
	switch {
	case !c.Running():
		return stop(ReasonCampaignNotRunning, "campaign status is %s, not RUNNING: nothing tracked", c.Status)
	case c.Type == campaign.TypeFeatureRollout:
		return stop(ReasonRolloutHasNoGoals, "feature rollouts have no goals: nothing tracked")
	case goal == nil:
		return stop(ReasonGoalNotInCampaign, "the campaign has no goal %q: nothing tracked", req.GoalIdentifier)
	case !typeMatches(goal, req.GoalTypeToTrack):
		return stop(ReasonGoalTypeNotTracked, "the goal is %s and goalTypeToTrack is %s: nothing tracked", goal.Type, req.GoalTypeToTrack)
	case goal.IsRevenue() && req.RevenueValue == "":
		return stop(ReasonRevenueMissing, "a revenue goal needs revenueValue: nothing tracked")
	}
	d, err := s.decider.DecideWith(ctx, tx, account, c, decision.Request{
		CampaignKey: c.Key, UserID: req.UserID,
		CustomVariables: req.CustomVariables, VariationTargetingVariables: req.VariationTargetingVariables,
	})
	if err != nil {
		return res, err
	}
	res.Decision = &d
	if d.Variation == nil {
		return stop(ReasonCode(d.ReasonCode), "the user has no variation, nothing tracked: %s", d.Reason)
	}
	conv := Conversion{
		UserID: req.UserID, CampaignKey: c.Key, VariationName: d.Variation.Name, Goal: goal.Identifier,
		// VWO's "mca" of -1 marks a goal that counts every conversion.
		Repeatable: req.ShouldTrackReturningUser || (goal.MCA != nil && *goal.MCA == -1),
		// A row the conversion creates is a whitelisted user's; any other decision stored its
		// row already (the row is written again only if it vanished meanwhile).
		Source: uss.SourceBucketed,
	}
	if d.Source == uss.SourceWhitelisted {
		conv.Source = uss.SourceWhitelisted
	}
	if goal.IsRevenue() {
		conv.Revenue = req.RevenueValue
	}
	rec, err := tx.RecordConversion(ctx, account, conv)
	if err != nil {
		return res, err
	}
	res.Tracked = rec.Converted
	switch {
	case rec.NewGoal:
		return stop(ReasonConverted, "converted in %q", rec.VariationName)
	case rec.Converted:
		return stop(ReasonConvertedAgain, "converted again in %q (returning user)", rec.VariationName)
	}
	return stop(ReasonAlreadyConverted, "the goal already converted for this user in %q: not counted again (set shouldTrackReturningUser to count it)", rec.VariationName)
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
