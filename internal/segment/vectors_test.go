package segment_test

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/segment"
	"github.com/uss/uss/internal/vwovectors"
)

// Like the Go SDK's own test, each of its 318 segmentation cases is evaluated against
// custom_variables, or against variation_targeting_variables when a case has no
// custom_variables. The same cases run through decision.DecideIn in internal/decision.
func TestSegmentMatchesGoSDKVectors(t *testing.T) {
	t.Parallel()
	for name, tc := range vwovectors.SegmentCases(t) {
		seg, err := segment.Parse(tc.DSL)
		require.NoError(t, err, name)
		vars := tc.CustomVariables
		if vars == nil {
			vars = tc.VariationTargetingVariables
		}
		require.Equal(t, tc.Expectation, seg.Matches(vars), name)
	}
}

// The Go SDK has no gt/gte/lt/lte and compares such operands as literal strings; uss follows
// node and compares numbers. No Go vector can tell the two apart: none uses those forms.
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
	for name, tc := range vwovectors.SegmentCases(t) {
		var dsl any
		require.NoError(t, json.Unmarshal(tc.DSL, &dsl), name)
		walk(dsl)
		require.NotContains(t, string(tc.DSL), `"gt(`, name)
	}
}
