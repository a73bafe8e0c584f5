// Package vwovectors reads the golden VWO vectors (testdata/vwo-vectors here: Wingify's own
// SDK test data) for the tests that check uss against them: settings files in
// internal/campaign, segment rules in internal/segment, decisions through decision.DecideIn
// and through the HTTP API. It pairs each Node SDK expectation set with its settings file in
// one place, as the Node SDK's own tests pair them. Tests only.
package vwovectors

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// Case is one user's expected outcome. Variation is a variation name, null for none, or a
// boolean for the feature-rollout sets (whether the user is inside the traffic).
type Case struct {
	User      string          `json:"user"`
	Campaign  string          `json:"campaign"`
	Variation json.RawMessage `json:"variation"`
}

// Set is an expectation set with the settings file it runs on.
type Set struct {
	Settings json.RawMessage
	Cases    []Case
}

// Read decodes the vectors file at rel (relative to the vectors directory) into into.
func Read(t testing.TB, rel string, into any) {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(here), "testdata", "vwo-vectors", rel))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, into))
}

// GoUserExpectations returns the Go SDK's user expectation sets by name (313 cases in all),
// each with its settings file; the campaign under test is the file's first.
func GoUserExpectations(t testing.TB) map[string]Set {
	t.Helper()
	return userExpectations(t, "go-sdk", "user_expectations1.json", func(set string, files map[string]json.RawMessage) json.RawMessage {
		if file, ok := files[set]; ok {
			return file
		}
		return files["FT_"+set] // T_*_W_10_20_30_40 are the FEATURE_TEST files FT_T_*
	})
}

// userExpectations pairs every expectation set of an SDK's vectors with its settings file,
// which settingsFor finds among the SDK's files (nil when there is none).
func userExpectations(t testing.TB, sdk, expectationsFile string,
	settingsFor func(set string, files map[string]json.RawMessage) json.RawMessage) map[string]Set {
	t.Helper()
	var files map[string]json.RawMessage
	Read(t, sdk+"/settings.json", &files)
	var expectations map[string][]Case
	Read(t, sdk+"/"+expectationsFile, &expectations)
	sets := make(map[string]Set, len(expectations))
	for name, cases := range expectations {
		file := settingsFor(name, files)
		require.NotNil(t, file, "no settings for %s", name)
		sets[name] = Set{Settings: file, Cases: cases}
	}
	return sets
}

// SegmentCase is one of the Go SDK's segmentation cases: a rule, the variables, and whether
// the rule matches them. A case has custom_variables (a pre-segmentation case) or, without
// them, variation_targeting_variables (a whitelisting case).
type SegmentCase struct {
	DSL                         json.RawMessage `json:"dsl"`
	Expectation                 bool            `json:"expectation"`
	CustomVariables             map[string]any  `json:"custom_variables"`
	VariationTargetingVariables map[string]any  `json:"variation_targeting_variables"`
}

// SegmentCases returns the Go SDK's 318 segmentation cases by "group/case".
func SegmentCases(t testing.TB) map[string]SegmentCase {
	t.Helper()
	var groups map[string]map[string]SegmentCase
	Read(t, "go-sdk/test_segment.json", &groups)
	all := make(map[string]SegmentCase)
	for group, cases := range groups {
		for name, tc := range cases {
			all[group+"/"+name] = tc
		}
	}
	require.Len(t, all, 318)
	return all
}

// nodeSettingsFor names the settings file of the Node SDK sets whose file is named otherwise.
var nodeSettingsFor = map[string]string{
	"BUCKET_ALGO_WITHOUT_SEED":                             "settingsWithoutSeedAndWithoutisOB",
	"BUCKET_ALGO_WITH_SEED":                                "settingsWithSeedAndWithoutisOB",
	"BUCKET_ALGO_WITH_SEED_WITH_isNB_WITH_isOB":            "settingsWithisNBAndWithisOB",
	"BUCKET_ALGO_WITH_SEED_WITH_isNB_WITHOUT_isOB":         "settingsWithisNBAndWithoutisOB",
	"BUCKET_ALGO_WITHOUT_SEED_FLAG_WITH_isNB_WITHOUT_isOB": "settingsWithisNBAndWithoutisOBAndWithoutSeedFlag",
	"SETTINGS_WITH_ISNB_WITH_ISNBv2":                       "settingsWithisNBAndisNBv2",
}

// NodeUserExpectations returns the Node SDK's user expectation sets by name (419 cases in
// all), each with its settings file.
func NodeUserExpectations(t testing.TB) map[string]Set {
	t.Helper()
	return userExpectations(t, "node-sdk", "user_expectations.json", func(set string, files map[string]json.RawMessage) json.RawMessage {
		name := set
		if mapped, ok := nodeSettingsFor[set]; ok {
			name = mapped
		}
		file, ok := files[name]
		if !ok || set != "BUCKET_ALGO_WITH_SEED" {
			return file
		}
		// The Node SDK's test runs this file with the account flag isNB unset.
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(file, &m))
		delete(m, "isNB")
		file, err := json.Marshal(m)
		require.NoError(t, err)
		return file
	})
}
