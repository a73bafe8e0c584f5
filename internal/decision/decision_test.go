package decision_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/campaign"
	"github.com/uss/uss/internal/decision"
	"github.com/uss/uss/internal/memstore"
	"github.com/uss/uss/internal/uss"
)

const account = uss.AccountID(1)

// rulesSettings has a campaign for each rule of the decision:
//   - ab: running, 50/50, pre-segmentation plan=pro, Variation-1 whitelisted for qa=yes;
//   - half: running at percentTraffic 50 with the same segment, V1 whitelisted for user vip;
//   - paused: not running.
const rulesSettings = `{"accountId": 123456, "campaigns": [
	{"id": 1, "key": "ab", "status": "RUNNING", "type": "VISUAL_AB", "percentTraffic": 100,
		"isForcedVariationEnabled": true, "segments": {"custom_variable": {"plan": "pro"}},
		"variations": [{"id": 1, "name": "Control", "weight": 50},
			{"id": 2, "name": "Variation-1", "weight": 50, "segments": {"custom_variable": {"qa": "yes"}}}]},
	{"id": 2, "key": "half", "status": "RUNNING", "type": "VISUAL_AB", "percentTraffic": 50,
		"isForcedVariationEnabled": true, "segments": {"custom_variable": {"plan": "pro"}},
		"variations": [{"id": 1, "name": "Control", "weight": 50},
			{"id": 2, "name": "V1", "weight": 50, "segments": {"user": "vip"}}]},
	{"id": 3, "key": "paused", "status": "PAUSED", "type": "VISUAL_AB", "percentTraffic": 100,
		"variations": [{"id": 1, "name": "Control", "weight": 100}]}]}`

func parse(t *testing.T, data string) *campaign.Settings {
	t.Helper()
	s, err := campaign.Parse([]byte(data))
	require.NoError(t, err)
	return s
}

// The users of the table, and what bucketing alone gives them: the premises of the rules.
func TestDecisionRulesPremises(t *testing.T) {
	t.Parallel()
	s := parse(t, rulesSettings)
	ab, half := s.Campaign("ab"), s.Campaign("half")
	require.Equal(t, "Control", ab.Allocate("Ashley").Name)
	require.Equal(t, "Variation-1", ab.Allocate("Chris").Name)
	require.False(t, half.InTraffic("Chris"))
	require.True(t, half.InTraffic("user-7519"))
	require.Nil(t, half.Allocate("user-7519"), "in traffic, but its variation bucket is 10001")
}

var pro = map[string]any{"plan": "pro"}

// The decision's rules as a table: the campaign, what the user has stored, the request, and
// the answer with the row after it. Ashley buckets into Control in ab; Chris buckets into
// Variation-1, and is outside half's traffic.
func TestDecideInFollowsTheRules(t *testing.T) {
	t.Parallel()
	stored := func(variation string, exposures int64) *memstore.Row {
		return &memstore.Row{VariationName: variation, Source: uss.SourceSet, Goals: []string{"g"}, Exposures: exposures}
	}
	bucketedRow := func(variation string, exposures int64) *memstore.Row {
		return &memstore.Row{VariationName: variation, Source: uss.SourceBucketed, Exposures: exposures}
	}
	cases := []struct {
		name      string
		campaign  string
		stored    *memstore.Row // the user's row before; nil for none
		req       decision.Request
		variation string // "" for none
		source    uss.Source
		code      decision.ReasonCode
		reason    string
		after     *memstore.Row // the user's row after; nil for none
	}{
		{
			name: "a campaign that is not running gives nothing and keeps the stored row", campaign: "paused",
			stored: stored("Control", 3), req: decision.Request{UserID: "Ashley", Expose: true},
			source: uss.SourceNone, code: decision.ReasonCampaignNotRunning,
			reason: "campaign status is PAUSED: only RUNNING campaigns hand out variations, and nothing is stored",
			after:  stored("Control", 3),
		},
		{
			name: "whitelisting wins over the stored variation and stores nothing", campaign: "ab",
			stored:    stored("Control", 3),
			req:       decision.Request{UserID: "Ashley", VariationTargetingVariables: map[string]any{"qa": "yes"}, Expose: true},
			variation: "Variation-1", source: uss.SourceWhitelisted, code: decision.ReasonWhitelisted,
			reason: `whitelisted into "Variation-1": variationTargetingVariables match its segments (not stored)`,
			after:  stored("Control", 3),
		},
		{
			name: "whitelisting ignores traffic and pre-segmentation", campaign: "half",
			req:       decision.Request{UserID: "vip", Expose: true},
			variation: "V1", source: uss.SourceWhitelisted, code: decision.ReasonWhitelisted,
			reason: `whitelisted into "V1": variationTargetingVariables match its segments (not stored)`,
		},
		{
			name: "a new user is bucketed, stored and exposed", campaign: "ab",
			req:       decision.Request{UserID: "Ashley", CustomVariables: pro, Expose: true},
			variation: "Control", source: uss.SourceBucketed, code: decision.ReasonBucketed,
			reason: `bucketed into "Control" and stored`,
			after:  bucketedRow("Control", 1),
		},
		{
			name: "a new user decided without an exposure is stored with none", campaign: "ab",
			req:       decision.Request{UserID: "Ashley", CustomVariables: pro},
			variation: "Control", source: uss.SourceBucketed, code: decision.ReasonBucketed,
			reason: `bucketed into "Control" and stored`,
			after:  bucketedRow("Control", 0),
		},
		{
			name: "a returning user is answered from the stored row even when bucketing agrees", campaign: "ab",
			stored: bucketedRow("Control", 1), req: decision.Request{UserID: "Ashley", CustomVariables: pro, Expose: true},
			variation: "Control", source: uss.SourceStored, code: decision.ReasonStored,
			reason: `stored assignment "Control"`,
			after:  bucketedRow("Control", 2),
		},
		{
			name: "the stored variation wins over today's bucketing", campaign: "ab",
			stored: stored("Variation-1", 0), req: decision.Request{UserID: "Ashley", CustomVariables: pro, Expose: true},
			variation: "Variation-1", source: uss.SourceStored, code: decision.ReasonStored,
			reason: `stored assignment "Variation-1" (without it, today's settings would bucket "Control")`,
			after:  stored("Variation-1", 1),
		},
		{
			name: "a stored user keeps the variation outside pre-segmentation", campaign: "ab",
			stored: stored("Control", 0), req: decision.Request{UserID: "Ashley", CustomVariables: map[string]any{"plan": "free"}},
			variation: "Control", source: uss.SourceStored, code: decision.ReasonStored,
			reason: `stored assignment "Control", kept although the user does not match the campaign's pre-segmentation`,
			after:  stored("Control", 0),
		},
		{
			name: "a stored user keeps the variation outside traffic", campaign: "half",
			stored: stored("Control", 0), req: decision.Request{UserID: "Chris", CustomVariables: pro},
			variation: "Control", source: uss.SourceStored, code: decision.ReasonStored,
			reason: `stored assignment "Control", kept although the user is outside the campaign's traffic (percentTraffic 50)`,
			after:  stored("Control", 0),
		},
		{
			name: "a stored variation that no longer exists is replaced, goals and all", campaign: "ab",
			stored: stored("Retired", 5), req: decision.Request{UserID: "Chris", CustomVariables: pro, Expose: true},
			variation: "Variation-1", source: uss.SourceBucketed, code: decision.ReasonStoredVariationRemoved,
			reason: `the stored variation no longer exists in the campaign: bucketed into "Variation-1" and stored in its place`,
			after:  bucketedRow("Variation-1", 1),
		},
		{
			name: "a user outside traffic gets nothing and nothing is stored", campaign: "half",
			req:    decision.Request{UserID: "Chris", CustomVariables: pro, Expose: true},
			source: uss.SourceNone, code: decision.ReasonNotInTraffic,
			reason: "the user is outside the campaign's traffic (percentTraffic 50); the user has no stored variation",
		},
		{
			name: "a user outside traffic with a removed stored variation gets nothing; the row stays", campaign: "half",
			stored: stored("Retired", 0), req: decision.Request{UserID: "Chris", CustomVariables: pro, Expose: true},
			source: uss.SourceNone, code: decision.ReasonNotInTraffic,
			reason: "the user is outside the campaign's traffic (percentTraffic 50); the user has no stored variation",
			after:  stored("Retired", 0),
		},
		{
			name: "a user who does not match pre-segmentation gets nothing", campaign: "ab",
			req:    decision.Request{UserID: "Ashley", CustomVariables: map[string]any{"plan": "free"}, Expose: true},
			source: uss.SourceNone, code: decision.ReasonSegmentMismatch,
			reason: "the user does not match the campaign's pre-segmentation; the user has no stored variation",
		},
		{
			name: "a user whose bucket lies beyond every range gets nothing", campaign: "half",
			req:    decision.Request{UserID: "user-7519", CustomVariables: pro, Expose: true},
			source: uss.SourceNone, code: decision.ReasonNoVariationRange,
			reason: "the user's variation bucket lies beyond every variation's range; the user has no stored variation",
		},
		{
			name: "enforced targeting hides a stored variation from a user outside pre-segmentation", campaign: "ab",
			stored: stored("Control", 2), req: decision.Request{UserID: "Ashley", EnforceTargeting: true, Expose: true},
			source: uss.SourceNone, code: decision.ReasonEnforcedTargeting,
			reason: "the user does not match the campaign's pre-segmentation and enforceTargeting is set: no variation; a stored assignment, if any, is kept",
			after:  stored("Control", 2),
		},
		{
			name: "enforced targeting answers the stored variation of a matching user", campaign: "ab",
			stored: stored("Variation-1", 2), req: decision.Request{UserID: "Ashley", CustomVariables: pro, EnforceTargeting: true, Expose: true},
			variation: "Variation-1", source: uss.SourceStored, code: decision.ReasonStored,
			reason: `stored assignment "Variation-1" (without it, today's settings would bucket "Control")`,
			after:  stored("Variation-1", 3),
		},
		{
			name: "not sticky decides without the stored row and removes it", campaign: "ab",
			stored: stored("Variation-1", 2), req: decision.Request{UserID: "Ashley", CustomVariables: pro, NotSticky: true, Expose: true},
			variation: "Control", source: uss.SourceBucketed, code: decision.ReasonNotSticky,
			reason: `bucketed into "Control" (sticky is false: decided without the stored assignment, which was removed; nothing stored)`,
		},
		{
			name: "not sticky without a stored row stores nothing", campaign: "ab",
			req:       decision.Request{UserID: "Ashley", CustomVariables: pro, NotSticky: true, Expose: true},
			variation: "Control", source: uss.SourceBucketed, code: decision.ReasonNotSticky,
			reason: `bucketed into "Control" (sticky is false: there was no stored assignment to remove; nothing stored)`,
		},
		{
			name: "not sticky in a dry run keeps the stored row", campaign: "ab",
			stored: stored("Variation-1", 2), req: decision.Request{UserID: "Ashley", CustomVariables: pro, NotSticky: true, DryRun: true, Expose: true},
			variation: "Control", source: uss.SourceBucketed, code: decision.ReasonNotSticky,
			reason: `bucketed into "Control" (sticky is false and this is a dry run: decided without the stored assignment, which is kept; nothing stored)`,
			after:  stored("Variation-1", 2),
		},
		{
			name: "not sticky outside traffic gives nothing and removes the row", campaign: "half",
			stored: stored("Control", 2), req: decision.Request{UserID: "Chris", CustomVariables: pro, NotSticky: true},
			source: uss.SourceNone, code: decision.ReasonNotInTraffic,
			reason: "the user is outside the campaign's traffic (percentTraffic 50); sticky is false: decided without the stored assignment, which was removed; nothing stored",
		},
		{
			name: "a dry run of a new user answers the bucketer's variation and stores nothing", campaign: "ab",
			req:       decision.Request{UserID: "Ashley", CustomVariables: pro, DryRun: true, Expose: true},
			variation: "Control", source: uss.SourceBucketed, code: decision.ReasonDryRun,
			reason: `bucketed into "Control" (dry run: nothing written)`,
		},
		{
			name: "a dry run of a stored user answers the stored variation and counts nothing", campaign: "ab",
			stored: stored("Variation-1", 2), req: decision.Request{UserID: "Ashley", CustomVariables: pro, DryRun: true, Expose: true},
			variation: "Variation-1", source: uss.SourceStored, code: decision.ReasonStored,
			reason: `stored assignment "Variation-1" (without it, today's settings would bucket "Control"); dry run: nothing written`,
			after:  stored("Variation-1", 2),
		},
		{
			name: "a dry run with a removed stored variation answers the bucketer's and replaces nothing", campaign: "ab",
			stored: stored("Retired", 2), req: decision.Request{UserID: "Ashley", CustomVariables: pro, DryRun: true},
			variation: "Control", source: uss.SourceBucketed, code: decision.ReasonDryRun,
			reason: `the stored variation "Retired" no longer exists in the campaign: bucketed into "Control" (dry run: nothing written)`,
			after:  stored("Retired", 2),
		},
		{
			name: "a dry run of a user outside pre-segmentation gives nothing", campaign: "ab",
			req:    decision.Request{UserID: "Ashley", DryRun: true},
			source: uss.SourceNone, code: decision.ReasonSegmentMismatch,
			reason: "the user does not match the campaign's pre-segmentation; dry run: nothing written",
		},
	}
	s := parse(t, rulesSettings)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			store := &memstore.Store{}
			key := uss.AssignmentKey{UserID: c.req.UserID, CampaignKey: c.campaign}
			if c.stored != nil {
				store.Put(account, key, *c.stored)
			}
			c.req.CampaignKey = c.campaign
			d, err := decision.NewService(store, nil).DecideIn(context.Background(), account, s.Campaign(c.campaign), c.req)
			require.NoError(t, err)
			require.Equal(t, c.variation, variationName(d.Variation))
			require.Equal(t, c.source, d.Source)
			require.Equal(t, c.code, d.ReasonCode)
			require.Equal(t, c.reason, d.Reason)
			after, found := store.Row(account, key)
			if c.after == nil {
				require.False(t, found, "no row after: %+v", after)
				return
			}
			require.True(t, found, "a row after")
			require.Equal(t, *c.after, after)
		})
	}
}

// Every reason code is one a decision gives, and the list has no repeats.
func TestReasonCodesAreDistinct(t *testing.T) {
	t.Parallel()
	seen := map[decision.ReasonCode]bool{}
	for _, code := range decision.ReasonCodes {
		require.False(t, seen[code], code)
		seen[code] = true
	}
	require.Len(t, seen, 11)
}

func variationName(v *campaign.Variation) string {
	if v == nil {
		return ""
	}
	return v.Name
}

// BenchmarkDecideIn is a whole decision of a returning user without I/O: the steps, the
// in-memory store and the reason.
func BenchmarkDecideIn(b *testing.B) {
	s, err := campaign.Parse([]byte(rulesSettings))
	require.NoError(b, err)
	c := s.Campaign("ab")
	store := &memstore.Store{}
	svc := decision.NewService(store, nil)
	req := decision.Request{CampaignKey: "ab", UserID: "Ashley", CustomVariables: pro, Expose: true}
	_, err = svc.DecideIn(context.Background(), account, c, req)
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.DecideIn(context.Background(), account, c, req); err != nil {
			b.Fatal(err)
		}
	}
}
