package goals_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/campaign"
	"github.com/uss/uss/internal/decision"
	"github.com/uss/uss/internal/goals"
	"github.com/uss/uss/internal/memstore"
	"github.com/uss/uss/internal/settings"
	"github.com/uss/uss/internal/uss"
)

const account = uss.AccountID(1)

// trackSettings has a campaign for each rule of a track:
//   - ab: running, 100/0 so every new user is in Control, pre-segmentation plan=pro,
//     Variation-1 whitelisted for qa=yes; goals signup (custom), purchase (revenue) and
//     visit (custom, mca -1: every conversion counts);
//   - other: running, with signup and purchase too;
//   - paused: not running, with signup;
//   - rollout: a feature rollout, which has no goals to track.
const trackSettings = `{"accountId": 123456, "campaigns": [
	{"id": 1, "key": "ab", "status": "RUNNING", "type": "VISUAL_AB", "percentTraffic": 100,
		"isForcedVariationEnabled": true, "segments": {"custom_variable": {"plan": "pro"}},
		"goals": [{"id": 1, "identifier": "signup", "type": "CUSTOM_GOAL"},
			{"id": 2, "identifier": "purchase", "type": "REVENUE_TRACKING"},
			{"id": 3, "identifier": "visit", "type": "CUSTOM_GOAL", "mca": -1}],
		"variations": [{"id": 1, "name": "Control", "weight": 100},
			{"id": 2, "name": "Variation-1", "weight": 0, "segments": {"custom_variable": {"qa": "yes"}}}]},
	{"id": 2, "key": "other", "status": "RUNNING", "type": "VISUAL_AB", "percentTraffic": 100,
		"goals": [{"id": 1, "identifier": "signup", "type": "CUSTOM_GOAL"},
			{"id": 2, "identifier": "purchase", "type": "REVENUE_TRACKING"}],
		"variations": [{"id": 1, "name": "Control", "weight": 100}]},
	{"id": 3, "key": "paused", "status": "PAUSED", "type": "VISUAL_AB", "percentTraffic": 100,
		"goals": [{"id": 1, "identifier": "signup", "type": "CUSTOM_GOAL"}],
		"variations": [{"id": 1, "name": "Control", "weight": 100}]},
	{"id": 4, "key": "rollout", "status": "RUNNING", "type": "FEATURE_ROLLOUT", "percentTraffic": 100,
		"goals": [{"id": 1, "identifier": "signup", "type": "CUSTOM_GOAL"}],
		"variations": [{"id": 1, "name": "Control", "weight": 100}]}]}`

type rig struct {
	store *memstore.Store
	svc   *goals.Service
}

func newRig(t *testing.T) rig {
	t.Helper()
	s, err := campaign.Parse([]byte(trackSettings))
	require.NoError(t, err)
	store := &memstore.Store{}
	decider := decision.NewService(store, memstore.Settings{Snapshot: &settings.Snapshot{Version: 1, Settings: s}})
	return rig{store: store, svc: goals.NewService(decider, store)}
}

var pro = map[string]any{"plan": "pro"}

func key(user, campaignKey string) uss.AssignmentKey {
	return uss.AssignmentKey{UserID: user, CampaignKey: campaignKey}
}

// The track rules as a table, one campaign at a time: what the user has stored, the request,
// the result, and the row and conversions after it.
func TestTrackFollowsTheRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		stored      *memstore.Row
		req         goals.Request
		tracked     bool
		code        goals.ReasonCode
		reason      string
		decided     decision.ReasonCode // the decision's code; "" when none was made
		after       *memstore.Row
		conversions []memstore.Conversion
	}{
		{
			name: "a campaign that is not running tracks nothing",
			req:  goals.Request{CampaignKeys: []string{"paused"}, GoalIdentifier: "signup"},
			code: goals.ReasonCampaignNotRunning, reason: "campaign status is PAUSED, not RUNNING: nothing tracked",
		},
		{
			name: "a feature rollout tracks nothing",
			req:  goals.Request{CampaignKeys: []string{"rollout"}, GoalIdentifier: "signup"},
			code: goals.ReasonRolloutHasNoGoals, reason: "feature rollouts have no goals: nothing tracked",
		},
		{
			name: "a goal the campaign does not have tracks nothing",
			req:  goals.Request{CampaignKeys: []string{"ab"}, GoalIdentifier: "refund"},
			code: goals.ReasonGoalNotInCampaign, reason: `the campaign has no goal "refund": nothing tracked`,
		},
		{
			name: "a goal of a type not asked for tracks nothing",
			req:  goals.Request{CampaignKeys: []string{"ab"}, GoalIdentifier: "purchase", RevenueValue: "9.90", GoalTypeToTrack: goals.TrackCustom},
			code: goals.ReasonGoalTypeNotTracked, reason: "the goal is REVENUE_TRACKING and goalTypeToTrack is CUSTOM_GOAL: nothing tracked",
		},
		{
			name: "a revenue goal without revenue tracks nothing",
			req:  goals.Request{CampaignKeys: []string{"ab"}, GoalIdentifier: "purchase"},
			code: goals.ReasonRevenueMissing, reason: "a revenue goal needs revenueValue: nothing tracked",
		},
		{
			name: "a user without a variation tracks nothing and says why",
			req:  goals.Request{CampaignKeys: []string{"ab"}, GoalIdentifier: "signup"},
			code: goals.ReasonCode(decision.ReasonSegmentMismatch), decided: decision.ReasonSegmentMismatch,
			reason: "the user has no variation, nothing tracked: the user does not match the campaign's pre-segmentation; the user has no stored variation",
		},
		{
			name:    "a new user is decided, stored and converts in that variation",
			req:     goals.Request{CampaignKeys: []string{"ab"}, GoalIdentifier: "signup", CustomVariables: pro},
			tracked: true, code: goals.ReasonConverted, reason: `converted in "Control"`, decided: decision.ReasonBucketed,
			after:       &memstore.Row{VariationName: "Control", Source: uss.SourceBucketed, Goals: []string{"signup"}},
			conversions: []memstore.Conversion{{VariationName: "Control", Goal: "signup"}},
		},
		{
			name:    "a stored user converts in the stored variation, outside pre-segmentation too",
			stored:  &memstore.Row{VariationName: "Variation-1", Source: uss.SourceSet},
			req:     goals.Request{CampaignKeys: []string{"ab"}, GoalIdentifier: "purchase", RevenueValue: "19.90"},
			tracked: true, code: goals.ReasonConverted, reason: `converted in "Variation-1"`, decided: decision.ReasonStored,
			after:       &memstore.Row{VariationName: "Variation-1", Source: uss.SourceSet, Goals: []string{"purchase"}},
			conversions: []memstore.Conversion{{VariationName: "Variation-1", Goal: "purchase", Revenue: "19.90"}},
		},
		{
			name:   "a goal that converted already is not counted again",
			stored: &memstore.Row{VariationName: "Control", Source: uss.SourceBucketed, Goals: []string{"signup"}},
			req:    goals.Request{CampaignKeys: []string{"ab"}, GoalIdentifier: "signup"},
			code:   goals.ReasonAlreadyConverted, decided: decision.ReasonStored,
			reason: `the goal already converted for this user in "Control": not counted again (set shouldTrackReturningUser to count it)`,
			after:  &memstore.Row{VariationName: "Control", Source: uss.SourceBucketed, Goals: []string{"signup"}},
		},
		{
			name:    "a returning user is counted again when asked",
			stored:  &memstore.Row{VariationName: "Control", Source: uss.SourceBucketed, Goals: []string{"signup"}},
			req:     goals.Request{CampaignKeys: []string{"ab"}, GoalIdentifier: "signup", ShouldTrackReturningUser: true},
			tracked: true, code: goals.ReasonConvertedAgain, reason: `converted again in "Control" (returning user)`, decided: decision.ReasonStored,
			after:       &memstore.Row{VariationName: "Control", Source: uss.SourceBucketed, Goals: []string{"signup"}},
			conversions: []memstore.Conversion{{VariationName: "Control", Goal: "signup", Repeat: true}},
		},
		{
			name:    "a goal whose mca is -1 counts every conversion",
			stored:  &memstore.Row{VariationName: "Control", Source: uss.SourceBucketed, Goals: []string{"visit"}},
			req:     goals.Request{CampaignKeys: []string{"ab"}, GoalIdentifier: "visit"},
			tracked: true, code: goals.ReasonConvertedAgain, reason: `converted again in "Control" (returning user)`, decided: decision.ReasonStored,
			after:       &memstore.Row{VariationName: "Control", Source: uss.SourceBucketed, Goals: []string{"visit"}},
			conversions: []memstore.Conversion{{VariationName: "Control", Goal: "visit", Repeat: true}},
		},
		{
			name: "a whitelisted user without a row converts in the whitelisted variation, which is stored",
			req: goals.Request{CampaignKeys: []string{"ab"}, GoalIdentifier: "signup",
				VariationTargetingVariables: map[string]any{"qa": "yes"}},
			tracked: true, code: goals.ReasonConverted, reason: `converted in "Variation-1"`, decided: decision.ReasonWhitelisted,
			after:       &memstore.Row{VariationName: "Variation-1", Source: uss.SourceWhitelisted, Goals: []string{"signup"}},
			conversions: []memstore.Conversion{{VariationName: "Variation-1", Goal: "signup"}},
		},
		{
			name:   "a whitelisted user stored in another variation converts where stored",
			stored: &memstore.Row{VariationName: "Control", Source: uss.SourceBucketed},
			req: goals.Request{CampaignKeys: []string{"ab"}, GoalIdentifier: "signup",
				VariationTargetingVariables: map[string]any{"qa": "yes"}},
			tracked: true, code: goals.ReasonConverted, reason: `converted in "Control"`, decided: decision.ReasonWhitelisted,
			after:       &memstore.Row{VariationName: "Control", Source: uss.SourceBucketed, Goals: []string{"signup"}},
			conversions: []memstore.Conversion{{VariationName: "Control", Goal: "signup"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			campaignKey := c.req.CampaignKeys[0]
			if c.stored != nil {
				r.store.Put(account, key("u", campaignKey), *c.stored)
			}
			c.req.UserID = "u"
			results, err := r.svc.Track(context.Background(), account, c.req)
			require.NoError(t, err)
			require.Len(t, results, 1)
			res := results[0]
			require.Equal(t, campaignKey, res.CampaignKey)
			require.Equal(t, c.tracked, res.Tracked)
			require.Equal(t, c.code, res.ReasonCode)
			require.Equal(t, c.reason, res.Reason)
			if c.decided == "" {
				require.Nil(t, res.Decision)
			} else {
				require.NotNil(t, res.Decision)
				require.Equal(t, c.decided, res.Decision.ReasonCode)
			}
			after, found := r.store.Row(account, key("u", campaignKey))
			require.Equal(t, c.after != nil, found, "a row after: %+v", after)
			if c.after != nil {
				require.Equal(t, *c.after, after)
			}
			for i := range c.conversions {
				c.conversions[i].UserID, c.conversions[i].CampaignKey = "u", campaignKey
			}
			require.Equal(t, c.conversions, r.store.Conversions())
		})
	}
}

// Without campaign keys a track reaches every running campaign with the goal, of the type
// asked for (a feature rollout among them answers rollout_has_no_goals); listed keys are
// tracked in the order given, once each.
func TestTrackChoosesItsCampaigns(t *testing.T) {
	t.Parallel()
	campaignsOf := func(results []goals.Result) []string {
		var keys []string
		for _, r := range results {
			keys = append(keys, r.CampaignKey)
		}
		return keys
	}
	cases := []struct {
		name string
		req  goals.Request
		want []string
	}{
		{"every running campaign with the goal", goals.Request{GoalIdentifier: "signup"}, []string{"ab", "other", "rollout"}},
		{"only campaigns with a goal of the type asked for",
			goals.Request{GoalIdentifier: "purchase", RevenueValue: "1", GoalTypeToTrack: goals.TrackCustom}, nil},
		{"listed keys in their order, repeats once", goals.Request{CampaignKeys: []string{"other", "paused", "other", "ab"},
			GoalIdentifier: "signup"}, []string{"other", "paused", "ab"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.req.UserID, c.req.CustomVariables = "u", pro
			results, err := newRig(t).svc.Track(context.Background(), account, c.req)
			require.NoError(t, err)
			require.Equal(t, c.want, campaignsOf(results))
		})
	}
}

// Bad requests are refused before anything is decided or written.
func TestTrackRefusesBadRequestsAndWritesNothing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		req  goals.Request
		err  error
	}{
		{"no user", goals.Request{GoalIdentifier: "signup"}, uss.ErrInvalidArgument},
		{"no goal", goals.Request{UserID: "u"}, uss.ErrInvalidArgument},
		{"an unknown goal type", goals.Request{UserID: "u", GoalIdentifier: "signup", GoalTypeToTrack: "SOME"}, uss.ErrInvalidArgument},
		{"revenue that is not a number", goals.Request{UserID: "u", GoalIdentifier: "purchase", RevenueValue: "12px"}, uss.ErrInvalidArgument},
		{"revenue beyond 1e15", goals.Request{UserID: "u", GoalIdentifier: "purchase", RevenueValue: "1e16"}, uss.ErrInvalidArgument},
		{"an empty campaign list", goals.Request{UserID: "u", GoalIdentifier: "signup", CampaignKeys: []string{}}, uss.ErrInvalidArgument},
		{"an unknown campaign among good ones", goals.Request{UserID: "u", GoalIdentifier: "signup",
			CampaignKeys: []string{"ab", "nope"}}, decision.ErrCampaignNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			c.req.CustomVariables = pro
			_, err := r.svc.Track(context.Background(), account, c.req)
			require.ErrorIs(t, err, c.err)
			_, found := r.store.Row(account, key("u", "ab"))
			require.False(t, found)
			require.Empty(t, r.store.Conversions())
		})
	}
}
