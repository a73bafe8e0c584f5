package campaign_test

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/campaign"
	"github.com/uss/uss/internal/campaign/vwovectors"
)

// The golden vectors are Wingify's own SDK test data, copied into testdata
// (see its README). Every case runs through the package's public methods.

// Every golden settings file must load, except the ones listed here with the
// reason uss refuses them.
func TestGoldenSettingsFilesValidate(t *testing.T) {
	t.Parallel()
	// Neither of these is a deliberate negative case: they are copy-paste
	// slips in the Go SDK's fixtures that its tests never look at, and no
	// user expectation uses them. Each is refused for exactly one problem.
	refused := map[string][]string{
		// Two campaigns share id 22. Campaign ids seed bucketing and name
		// the campaign in VWO's reports, so they must be unique.
		"go-sdk/settings.json NEW_SETTINGS_FILE": {
			"campaigns[2].id: duplicate campaign id 22 (also campaigns[1])",
		},
		// Variation-2 and Variation-3 share id 3. VWO reports conversions
		// by variation id ("combination"), so the two would be merged.
		"go-sdk/settings.json FT_100_W_33_33_33_WS_WW": {
			"campaigns[0].variations[3].id: duplicate variation id 3 (also campaigns[0].variations[2])",
		},
	}
	loaded := 0
	for _, rel := range []string{"go-sdk/settings.json", "node-sdk/settings.json", "node-sdk/settings_meg.json"} {
		files := settingsFiles(t, rel)
		names := make([]string, 0, len(files))
		for name := range files {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			s, err := campaign.Parse(files[name])
			if want, ok := refused[rel+" "+name]; ok {
				var verr *campaign.ValidationError
				require.ErrorAs(t, err, &verr, name)
				require.Equal(t, want, verr.Problems, name)
				continue
			}
			require.NoError(t, err, "%s %s", rel, name)
			require.NotEmpty(t, s.Campaigns, name)
			loaded++
		}
	}
	// 26 Go files less the two refused, 17 node files, 2 MEG files.
	require.Equal(t, 24+17+2, loaded)
}

// FR_WRONG_VARIABLE_TYPE looks like a negative case by its name, but it is
// the Go SDK's test of coercing variable values ("123" for an integer). The
// SDK accepts the file, so uss loads it too and keeps the values as sent.
func TestWrongVariableTypeFileLoadsWithValuesAsSent(t *testing.T) {
	t.Parallel()
	s := mustParse(t, settingsFiles(t, "go-sdk/settings.json")["FR_WRONG_VARIABLE_TYPE"])
	vars := s.Campaigns[0].Variables
	require.Len(t, vars, 8)
	require.Equal(t, "integer", vars[0].Type)
	require.JSONEq(t, `"123"`, string(vars[0].Value))
}

func TestDecideMatchesGoSDKUserExpectations(t *testing.T) {
	t.Parallel()
	files := settingsFiles(t, "go-sdk/settings.json")
	var expectations map[string][]struct {
		User      string  `json:"user"`
		Variation *string `json:"variation"`
	}
	vwovectors.Read(t, "go-sdk/user_expectations1.json", &expectations)

	total := 0
	for name, cases := range expectations {
		file, ok := files[name]
		if !ok {
			// T_*_W_10_20_30_40 are the FEATURE_TEST files FT_T_*.
			file, ok = files["FT_"+name]
		}
		require.True(t, ok, "no settings for %s", name)
		c := mustParse(t, file).Campaigns[0]
		for _, tc := range cases {
			v, reason := campaign.Decide(c, tc.User, campaign.Inputs{})
			require.Equal(t, tc.Variation, variationName(v), "%s %s (%s)", name, tc.User, reason)
			total++
		}
	}
	require.Equal(t, 313, total)
}

func TestDecideMatchesNodeSDKUserExpectations(t *testing.T) {
	t.Parallel()
	total := 0
	for name, set := range vwovectors.NodeUserExpectations(t) {
		cases := set.Cases
		s := mustParse(t, set.Settings)
		for _, tc := range cases {
			c := s.Campaigns[0]
			if tc.Campaign != "" {
				c = s.Campaign(tc.Campaign)
				require.NotNil(t, c, tc.Campaign)
			}
			var inTraffic bool
			if json.Unmarshal(tc.Variation, &inTraffic) == nil {
				// FEATURE_ROLLOUT_TRAFFIC_*: the feature is enabled for
				// exactly the users inside traffic.
				require.Equal(t, inTraffic, c.InTraffic(tc.User), "%s %s", name, tc.User)
				total++
				continue
			}
			var want *string
			require.NoError(t, json.Unmarshal(tc.Variation, &want))
			v, reason := campaign.Decide(c, tc.User, campaign.Inputs{})
			require.Equal(t, want, variationName(v), "%s %s %s (%s)", name, tc.Campaign, tc.User, reason)
			total++
		}
	}
	require.Equal(t, 419, total)
}

type segmentCase struct {
	DSL                         json.RawMessage `json:"dsl"`
	Expectation                 bool            `json:"expectation"`
	CustomVariables             map[string]any  `json:"custom_variables"`
	VariationTargetingVariables map[string]any  `json:"variation_targeting_variables"`
}

func segmentCases(t *testing.T) map[string]segmentCase {
	t.Helper()
	var groups map[string]map[string]segmentCase
	vwovectors.Read(t, "go-sdk/test_segment.json", &groups)
	all := make(map[string]segmentCase)
	for group, cases := range groups {
		for name, tc := range cases {
			all[group+"/"+name] = tc
		}
	}
	require.Len(t, all, 318)
	return all
}

// Like the Go SDK's test, each rule is evaluated against custom_variables,
// or against variation_targeting_variables when a case has no
// custom_variables.
func TestSegmentMatchesGoSDKVectors(t *testing.T) {
	t.Parallel()
	for name, tc := range segmentCases(t) {
		seg, err := campaign.ParseSegment(tc.DSL)
		require.NoError(t, err, name)
		vars := tc.CustomVariables
		if vars == nil {
			vars = tc.VariationTargetingVariables
		}
		require.Equal(t, tc.Expectation, seg.Matches(vars), name)
	}
}

// The same vectors through the decision methods: custom_variables cases as a
// campaign's pre-segmentation, variation_targeting_variables cases as a
// variation's whitelisting rule.
func TestSegmentVectorsThroughCampaignDecisions(t *testing.T) {
	t.Parallel()
	const user = "segment-vector-user"
	for name, tc := range segmentCases(t) {
		if tc.CustomVariables != nil {
			s := mustParse(t, []byte(`{"accountId": 1, "campaigns": [{"id": 1, "key": "c", "status": "RUNNING",
				"type": "VISUAL_AB", "percentTraffic": 100, "segments": `+string(tc.DSL)+`,
				"variations": [{"id": 1, "name": "Control", "weight": 100}]}]}`))
			require.Equal(t, tc.Expectation, s.Campaigns[0].PassesSegments(tc.CustomVariables), name)
			continue
		}
		// The vectors send their own _vwo_user_id, which whitelisting keeps.
		require.Contains(t, tc.VariationTargetingVariables, "_vwo_user_id", name)
		s := mustParse(t, []byte(`{"accountId": 1, "campaigns": [{"id": 1, "key": "c", "status": "RUNNING",
			"type": "VISUAL_AB", "percentTraffic": 100, "isForcedVariationEnabled": true,
			"variations": [{"id": 1, "name": "Control", "weight": 100, "segments": `+string(tc.DSL)+`}]}]}`))
		got := s.Campaigns[0].Whitelist(user, tc.VariationTargetingVariables)
		require.Equal(t, tc.Expectation, got != nil, name)
	}
}

// The Go SDK has no gt/gte/lt/lte and compares such operands as literal
// strings; uss follows node and compares numbers. No Go vector can tell the
// two apart: none uses those forms.
func TestGoSegmentVectorsUseNoNumericComparisons(t *testing.T) {
	t.Parallel()
	comparison := regexp.MustCompile(`^(gte|gt|lte|lt)\(`)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, sub := range x {
				if s, ok := sub.(string); ok && k != "user" {
					require.False(t, comparison.MatchString(s), "operand %q", s)
				}
				walk(sub)
			}
		case []any:
			for _, sub := range x {
				walk(sub)
			}
		}
	}
	for name, tc := range segmentCases(t) {
		var dsl any
		require.NoError(t, json.Unmarshal(tc.DSL, &dsl), name)
		walk(dsl)
		require.False(t, strings.Contains(string(tc.DSL), `"gt(`), name)
	}
}
