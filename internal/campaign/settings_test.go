package campaign_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/bucketing"
	"github.com/uss/uss/internal/campaign"
)

// validCampaign is a campaign that passes validation; tests change one field
// at a time.
func validCampaign() map[string]any {
	return map[string]any{
		"id": 1, "key": "checkout", "name": "Checkout", "status": "RUNNING", "type": "VISUAL_AB",
		"percentTraffic": 100, "segments": map[string]any{},
		"goals": []any{map[string]any{"identifier": "purchase", "id": 10, "type": "REVENUE_TRACKING", "revenueProp": "amount"}},
		"variations": []any{
			map[string]any{"id": 1, "name": "Control", "weight": 50},
			map[string]any{"id": 2, "name": "Variation-1", "weight": 50},
		},
	}
}

func settingsJSON(t *testing.T, campaigns ...map[string]any) []byte {
	t.Helper()
	list := make([]any, len(campaigns))
	for i, c := range campaigns {
		list[i] = c
	}
	data, err := json.Marshal(map[string]any{"accountId": 123456, "sdkKey": "key", "version": 1, "campaigns": list})
	require.NoError(t, err)
	return data
}

func problems(t *testing.T, data []byte) []string {
	t.Helper()
	_, err := campaign.Parse(data)
	var verr *campaign.ValidationError
	require.ErrorAs(t, err, &verr)
	return verr.Problems
}

func TestParseKeepsTheFileAndItsFields(t *testing.T) {
	t.Parallel()
	data := []byte(`{"sdkKey": "k", "accountId": "88888888", "version": 7, "isEventArchEnabled": true,
		"collectionPrefix": "eu01", "unknownRootField": {"x": 1},
		"groups": {"1": {"name": "g", "campaigns": [1, 2], "et": 2, "p": [2], "wt": {"1": 80}}},
		"campaignGroups": {"1": 1, "2": 1},
		"campaigns": [{"id": 1, "key": "a", "status": "RUNNING", "type": "FEATURE_TEST", "percentTraffic": 90,
			"isMAB": true, "someNewVWOField": [1, 2, 3],
			"goals": [{"identifier": "g1", "id": 5, "type": "CUSTOM_GOAL", "mca": -1}],
			"variables": [{"id": 1, "key": "color", "type": "string", "value": "red"}],
			"variations": [{"id": "1", "name": "Control", "weight": "40", "isFeatureEnabled": false, "changes": {"a": 1}},
				{"id": 2, "name": "V1", "weight": 60, "isFeatureEnabled": true}]},
			{"id": 2, "key": "b", "status": "PAUSED", "type": "VISUAL_AB", "percentTraffic": 0,
			"variations": [{"id": 1, "name": "Control", "weight": 100}]}]}`)
	s := mustParse(t, data)
	require.Equal(t, "k", s.SDKKey)
	require.Equal(t, "88888888", s.AccountID)
	require.Equal(t, "7", s.Version)
	require.True(t, s.IsEventArchEnabled)
	require.Equal(t, "eu01", s.CollectionPrefix)
	require.Equal(t, campaign.Group{Name: "g", Campaigns: []int{1, 2}, ET: 2, P: []int{2}, WT: map[string]float64{"1": 80}}, s.Groups["1"])
	require.Equal(t, map[string]int{"1": 1, "2": 1}, s.CampaignGroups)

	a := s.Campaign("a")
	require.NotNil(t, a)
	require.True(t, a.Running())
	require.True(t, a.IsMAB)
	require.Equal(t, campaign.TypeFeatureTest, a.Type)
	require.Equal(t, 1, a.Variation("Control").ID, "ids may come as strings")
	require.Equal(t, 40.0, a.Variation("Control").Weight, "weights may come as strings")
	require.True(t, a.Variation("V1").IsFeatureEnabled)
	require.Nil(t, a.Variation("control"), "names are case-sensitive")
	g := a.Goal("g1")
	require.NotNil(t, g)
	require.Equal(t, 5, g.ID)
	require.False(t, g.IsRevenue())
	require.Equal(t, -1, *g.MCA)
	require.Nil(t, a.Goal("missing"))
	require.Equal(t, "color", a.Variables[0].Key)

	b := s.Campaign("b")
	require.False(t, b.Running())
	require.Nil(t, s.Campaign("c"))
}

func TestParseRejectsWhatIsNotASettingsObject(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		data string
		want []string
	}{
		{"not JSON", `{"campaigns": [`, []string{"settings: not valid JSON: unexpected end of JSON input"}},
		{"empty input", ``, []string{"settings: not valid JSON: unexpected end of JSON input"}},
		{"an array", `[]`, []string{"settings: must be an object"}},
		{"no campaigns", `{"accountId": 1}`, []string{"campaigns: required"}},
		{"campaigns not an array", `{"accountId": 1, "campaigns": {}}`, []string{"campaigns: must be an array"}},
		{"no account", `{"campaigns": []}`, []string{"accountId: required"}},
		{"fractional account", `{"accountId": 1.5, "campaigns": []}`, []string{"accountId: must be a whole number, got \"1.5\""}},
		{"boolean flag of the wrong type", `{"accountId": 1, "isNB": "yes", "campaigns": []}`, []string{"isNB: must be true or false"}},
		// SDKs read the stored file too, each JSON parser resolving these its own way.
		{"a key twice", `{"accountId": 1, "campaigns": [], "accountId": 2}`,
			[]string{`settings: not strict JSON: key "accountId" appears twice in one object (at byte 34)`}},
		{"a key twice deep in a campaign", `{"accountId": 1, "campaigns": [{"variations": [{"weight": 50, "weight": 100}]}]}`,
			[]string{`settings: not strict JSON: key "weight" appears twice in one object (at byte 62)`}},
		{"a key twice where uss does not look", `{"accountId": 1, "campaigns": [], "x": {"changes": {"a": 1, "a": 2}}}`,
			[]string{`settings: not strict JSON: key "a" appears twice in one object (at byte 60)`}},
		{"invalid UTF-8", "{\"accountId\": 1, \"campaigns\": [], \"sdkKey\": \"k\xff\"}",
			[]string{`settings: not strict JSON: invalid UTF-8 byte 0xff (at byte 46)`}},
		{"a lone surrogate", `{"accountId": 1, "campaigns": [{"key": "\udc00"}]}`,
			[]string{`settings: not strict JSON: \uDC00 is half of a UTF-16 surrogate pair without its first half: not a character (at byte 40)`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.want, problems(t, []byte(c.data)))
		})
	}
}

func TestParseAcceptsAnAccountWithoutCampaigns(t *testing.T) {
	t.Parallel()
	s := mustParse(t, []byte(`{"accountId": 1, "campaigns": []}`))
	require.Empty(t, s.Campaigns)
}

func TestParseReportsEachCampaignProblem(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(c map[string]any)
		want   string
	}{
		{"missing id", func(c map[string]any) { delete(c, "id") }, "campaigns[0].id: required"},
		{"missing key", func(c map[string]any) { delete(c, "key") }, "campaigns[0].key: required"},
		{"empty key", func(c map[string]any) { c["key"] = "" }, "campaigns[0].key: must not be empty"},
		{"key over 255 bytes", func(c map[string]any) { c["key"] = strings.Repeat("k", 256) }, "campaigns[0].key: must be at most 255 bytes, is 256"},
		{"key with NUL", func(c map[string]any) { c["key"] = "a\x00b" }, "campaigns[0].key: must not contain NUL"},
		{"unknown status", func(c map[string]any) { c["status"] = "Running" }, `campaigns[0].status: unknown status "Running" (known: ARCHIVED, NOT_RUNNING, NOT_STARTED, PAUSED, RUNNING, STOPPED, TRASHED)`},
		{"unknown type", func(c map[string]any) { c["type"] = "SPLIT_URL" }, `campaigns[0].type: unknown type "SPLIT_URL" (known: FEATURE_ROLLOUT, FEATURE_TEST, VISUAL_AB)`},
		{"traffic above 100", func(c map[string]any) { c["percentTraffic"] = 101 }, "campaigns[0].percentTraffic: must be between 0 and 100, is 101"},
		{"negative traffic", func(c map[string]any) { c["percentTraffic"] = -1 }, "campaigns[0].percentTraffic: must be between 0 and 100, is -1"},
		{"fractional traffic", func(c map[string]any) { c["percentTraffic"] = 50.5 }, "campaigns[0].percentTraffic: must be a whole number, got 50.5"},
		{"missing traffic", func(c map[string]any) { delete(c, "percentTraffic") }, "campaigns[0].percentTraffic: required"},
		{"missing variations", func(c map[string]any) { delete(c, "variations") }, "campaigns[0].variations: required"},
		{"no variations", func(c map[string]any) { c["variations"] = []any{} }, "campaigns[0].variations: must not be empty"},
		{"unparsable pre-segmentation", func(c map[string]any) { c["segments"] = map[string]any{"or": "x"} }, "campaigns[0].segments.or: must be an array"},
		{"flag of the wrong type", func(c map[string]any) { c["isForcedVariationEnabled"] = 1 }, "campaigns[0].isForcedVariationEnabled: must be true or false"},
		{"goals not an array", func(c map[string]any) { c["goals"] = map[string]any{} }, "campaigns[0].goals: must be an array"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			camp := validCampaign()
			c.change(camp)
			require.Equal(t, []string{c.want}, problems(t, settingsJSON(t, camp)))
		})
	}
}

func TestParseReportsEachVariationAndGoalProblem(t *testing.T) {
	t.Parallel()
	variation := func(id any, name any, weight any) map[string]any {
		return map[string]any{"id": id, "name": name, "weight": weight}
	}
	goal := func(identifier string, typ string) map[string]any {
		return map[string]any{"identifier": identifier, "id": 1, "type": typ}
	}
	cases := []struct {
		name       string
		variations []any
		goals      []any
		want       []string
	}{
		{"duplicate variation name", []any{variation(1, "A", 50), variation(2, "A", 50)}, nil,
			[]string{`campaigns[0].variations[1].name: duplicate variation name "A" (also campaigns[0].variations[0])`}},
		{"duplicate variation id", []any{variation(1, "A", 50), variation(1, "B", 50)}, nil,
			[]string{"campaigns[0].variations[1].id: duplicate variation id 1 (also campaigns[0].variations[0])"}},
		{"empty variation name", []any{variation(1, "", 100)}, nil,
			[]string{"campaigns[0].variations[0].name: must not be empty"}},
		{"negative weight", []any{variation(1, "A", -10), variation(2, "B", 110)}, nil,
			[]string{"campaigns[0].variations[0].weight: must be between 0 and 100, is -10",
				"campaigns[0].variations[1].weight: must be between 0 and 100, is 110"}},
		{"weight that is not a number", []any{variation(1, "A", true)}, nil,
			[]string{"campaigns[0].variations[0].weight: must be a number"}},
		{"weights short of 100", []any{variation(1, "A", 50), variation(2, "B", 49.98)}, nil,
			[]string{"campaigns[0].variations: weights must sum to 100 (within 0.01), they sum to 99.98"}},
		{"weights over 100", []any{variation(1, "A", 50), variation(2, "B", 50.02)}, nil,
			[]string{"campaigns[0].variations: weights must sum to 100 (within 0.01), they sum to 100.02"}},
		{"goal identifier with the delimiter", []any{variation(1, "A", 100)}, []any{goal("sign_vwo_up", "CUSTOM_GOAL")},
			[]string{`campaigns[0].goals[0].identifier: must not contain "_vwo_", VWO's goal-list delimiter`}},
		{"duplicate goal identifier", []any{variation(1, "A", 100)}, []any{goal("g", "CUSTOM_GOAL"), goal("g", "REVENUE_TRACKING")},
			[]string{`campaigns[0].goals[1].identifier: duplicate goal identifier "g" (also campaigns[0].goals[0])`}},
		{"unknown goal type", []any{variation(1, "A", 100)}, []any{goal("g", "PAGE_VISIT")},
			[]string{`campaigns[0].goals[0].type: unknown goal type "PAGE_VISIT" (known: CUSTOM_GOAL, REVENUE_TRACKING)`}},
		{"empty goal identifier", []any{variation(1, "A", 100)}, []any{goal("", "CUSTOM_GOAL")},
			[]string{"campaigns[0].goals[0].identifier: must not be empty"}},
		{"unparsable whitelisting", []any{map[string]any{"id": 1, "name": "A", "weight": 100, "segments": map[string]any{"user": 5}}}, nil,
			[]string{"campaigns[0].variations[0].segments.user: must be a string"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			camp := validCampaign()
			camp["variations"] = c.variations
			camp["goals"] = c.goals
			require.Equal(t, c.want, problems(t, settingsJSON(t, camp)))
		})
	}
}

// VWO rounds weights to four decimals: three equal variations sum to
// 99.9999, and the SDKs' own files rely on that.
func TestWeightsWithinRoundingOf100AreAccepted(t *testing.T) {
	t.Parallel()
	for _, weights := range [][]float64{{33.3333, 33.3333, 33.3333}, {33.3334, 33.3333, 33.3334}, {14.2857, 14.2857, 14.2857, 14.2857, 14.2857, 14.2857, 14.2857}} {
		camp := validCampaign()
		vs := make([]any, len(weights))
		for i, w := range weights {
			vs[i] = map[string]any{"id": i + 1, "name": fmt.Sprintf("V%d", i), "weight": w}
		}
		camp["variations"] = vs
		mustParse(t, settingsJSON(t, camp))
	}
}

func TestParseReportsSeveralProblemsAtOnce(t *testing.T) {
	t.Parallel()
	first := validCampaign()
	second := validCampaign()
	second["status"] = "LIVE"
	second["percentTraffic"] = 120
	second["variations"] = []any{
		map[string]any{"id": 1, "name": "Control", "weight": 50},
		map[string]any{"id": 2, "name": "Control", "weight": 40},
	}
	second["goals"] = []any{map[string]any{"identifier": "a_vwo_b", "id": 1, "type": "CUSTOM_GOAL"}}
	third := validCampaign()
	third["key"] = "other"
	third["id"] = 3
	third["segments"] = map[string]any{"custom_variable": map[string]any{"x": []any{}}}

	require.Equal(t, []string{
		`campaigns[1].status: unknown status "LIVE" (known: ARCHIVED, NOT_RUNNING, NOT_STARTED, PAUSED, RUNNING, STOPPED, TRASHED)`,
		"campaigns[1].percentTraffic: must be between 0 and 100, is 120",
		`campaigns[1].goals[0].identifier: must not contain "_vwo_", VWO's goal-list delimiter`,
		`campaigns[1].variations[1].name: duplicate variation name "Control" (also campaigns[1].variations[0])`,
		"campaigns[1].variations: weights must sum to 100 (within 0.01), they sum to 90",
		`campaigns[1].key: duplicate campaign key "checkout" (also campaigns[0])`,
		"campaigns[1].id: duplicate campaign id 1 (also campaigns[0])",
		`campaigns[2].segments.custom_variable["x"]: must be a string`,
	}, problems(t, settingsJSON(t, first, second, third)))
}

func TestProblemListIsBounded(t *testing.T) {
	t.Parallel()
	campaigns := make([]map[string]any, 1500)
	for i := range campaigns {
		c := validCampaign()
		c["key"] = fmt.Sprintf("c%d", i)
		c["id"] = i
		c["status"] = "BROKEN"
		campaigns[i] = c
	}
	got := problems(t, settingsJSON(t, campaigns...))
	require.Len(t, got, 1001)
	require.Equal(t, "... and 500 more problems", got[1000])
}

func TestInvalidRegexLoadsWithAWarning(t *testing.T) {
	t.Parallel()
	camp := validCampaign()
	camp["segments"] = map[string]any{"custom_variable": map[string]any{"ua": "regex((?=lookahead))"}}
	s := mustParse(t, settingsJSON(t, camp))
	require.Len(t, s.Warnings(), 1)
	require.Contains(t, s.Warnings()[0], `campaigns[0].segments.custom_variable["ua"]: regex "(?=lookahead)" does not compile`)
	require.False(t, s.Campaigns[0].PassesSegments(map[string]any{"ua": "lookahead"}))
}

func TestParseComputesVariationRanges(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		weights []float64
		want    []bucketing.Range
	}{
		{"33.34 takes 3335 buckets", []float64{33.33, 33.33, 33.34}, []bucketing.Range{{Start: 1, End: 3333}, {Start: 3334, End: 6666}, {Start: 6667, End: 10001}}},
		{"three times 33.3333", []float64{33.3333, 33.3333, 33.3333}, []bucketing.Range{{Start: 1, End: 3334}, {Start: 3335, End: 6668}, {Start: 6669, End: 10002}}},
		{"zero weight owns nothing", []float64{0, 100}, []bucketing.Range{bucketing.NoRange(), {Start: 1, End: 10000}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			camp := validCampaign()
			vs := make([]any, len(c.weights))
			for i, w := range c.weights {
				vs[i] = map[string]any{"id": i + 1, "name": fmt.Sprintf("V%d", i), "weight": w}
			}
			camp["variations"] = vs
			s := mustParse(t, settingsJSON(t, camp))
			got := make([]bucketing.Range, len(c.weights))
			for i, v := range s.Campaigns[0].Variations {
				got[i] = v.Range
			}
			require.Equal(t, c.want, got)
		})
	}
}

// whitelistingFile has one campaign whose variations each carry a
// whitelisting rule of n conditions made by cond(variation, i).
func whitelistingFile(t *testing.T, variations, n int, cond func(v, i int) string) []byte {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"accountId": 1, "campaigns": [{"id": 1, "key": "k", "status": "RUNNING", "type": "VISUAL_AB",
		"percentTraffic": 100, "isForcedVariationEnabled": true, "variations": [`)
	for v := 0; v < variations; v++ {
		if v > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id": %d, "name": "V%d", "weight": %v, "segments": {"or": [`, v+1, v, 100.0/float64(variations))
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(cond(v, i))
		}
		b.WriteString(`]}}`)
	}
	b.WriteString(`]}]}`)
	return []byte(b.String())
}

func TestFileWideBudgetsBoundHostileFiles(t *testing.T) {
	t.Parallel()
	regex := func(v, i int) string { return fmt.Sprintf(`{"custom_variable": {"x": "regex(^p%d_%d$)"}}`, v, i) }
	got := problems(t, whitelistingFile(t, 3, 3500, regex))
	require.Len(t, got, 1)
	require.Contains(t, got[0], "the file holds more regex than uss compiles (at most 10000 distinct patterns")

	empty := func(v, i int) string { return `{}` }
	got = problems(t, whitelistingFile(t, 11, 9500, empty))
	require.Len(t, got, 1)
	require.Contains(t, got[0], "the file's segments have more than 100000 conditions in all")
}

// Identical patterns are compiled once, so repeating one rule across
// variations costs no budget.
func TestRepeatedRegexesShareOneCompilation(t *testing.T) {
	t.Parallel()
	same := func(v, i int) string { return `{"custom_variable": {"x": "regex(^beta-[0-9]+$)"}}` }
	s := mustParse(t, whitelistingFile(t, 4, 5000, same))
	require.Nil(t, s.Campaigns[0].Whitelist("u", map[string]any{"x": "other"}))
	require.NotNil(t, s.Campaigns[0].Whitelist("u", map[string]any{"x": "beta-7"}))
}

func TestParseWithinRefusesAFileOverTheCampaignLimit(t *testing.T) {
	t.Parallel()
	campaigns := func(n int) []byte {
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf(`{"id": %d, "key": "c%d", "status": "RUNNING", "type": "VISUAL_AB", "percentTraffic": 100,
				"variations": [{"id": 1, "name": "A", "weight": 100}]}`, i+1, i)
		}
		return []byte(`{"accountId": 1, "campaigns": [` + strings.Join(items, ",") + `]}`)
	}
	s, err := campaign.ParseWithin(campaigns(3), campaign.Limits{Campaigns: 3})
	require.NoError(t, err)
	require.Len(t, s.Campaigns, 3)

	_, err = campaign.ParseWithin(campaigns(4), campaign.Limits{Campaigns: 3})
	var invalid *campaign.ValidationError
	require.ErrorAs(t, err, &invalid)
	require.Equal(t, []string{"campaigns: the file lists 4 campaigns, more than the 3 this server accepts per account"}, invalid.Problems)

	s, err = campaign.Parse(campaigns(4))
	require.NoError(t, err, "Parse has no limit: a stored file loads whatever the limit is today")
	require.Len(t, s.Campaigns, 4)
}
