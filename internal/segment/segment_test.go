package segment_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/jsoncheck"
	"github.com/uss/uss/internal/segment"
)

func mustSegment(t *testing.T, dsl string) *segment.Segment {
	t.Helper()
	s, err := segment.Parse([]byte(dsl))
	require.NoError(t, err, dsl)
	return s
}

func condition(name, operand string) string {
	b, _ := json.Marshal(map[string]any{"custom_variable": map[string]string{name: operand}})
	return string(b)
}

func TestCustomVariableOperandForms(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		operand string
		value   any
		want    bool
	}{
		{"equality is exact", "chrome", "chrome", true},
		{"equality is case-sensitive", "chrome", "Chrome", false},
		{"lower() ignores case", "lower(ChRoMe)", "CHROME", true},
		{"lower() of an empty value is false", "lower()", "", false},
		{"lower() compares Unicode case", "lower(ÜBER)", "über", true},
		{"wildcard(*x*) is contains", "wildcard(*rom*)", "chrome", true},
		{"wildcard(*x) is ends-with", "wildcard(*ome)", "chrome", true},
		{"wildcard(*x) does not match a prefix", "wildcard(*chr)", "chrome", false},
		{"wildcard(x*) is starts-with", "wildcard(chr*)", "chrome", true},
		{"wildcard(x*) does not match a suffix", "wildcard(ome*)", "chrome", false},
		{"wildcard without stars is equality", "wildcard(chrome)", "chrome", true},
		{"only outer stars are special", "wildcard(*a*b*)", "xa*bx", true},
		{"inner star is literal", "wildcard(*a*b*)", "xaxbx", false},
		{"wildcard never matches an empty value", "wildcard(**)", "", false},
		{"regex() searches unanchored", "regex(rom)", "chrome", true},
		{"regex() honours anchors it is given", "regex(^rom)", "chrome", false},
		{"invalid regex is false", "regex(*)", "*", false},
		{"regex() over a value too long to search is false", "regex(a)", strings.Repeat("a", 5000), false},
		{"number matches its integral text", "10", 10.0, true},
		{"numeric text matches a float value", "10.0", 10.0, true},
		{"integral text of both sides", "10", "10.000", true},
		{"fraction keeps its digits", "10.5", 10.5, true},
		{"wildcard with numbers compares normalised text", "wildcard(*123.0*)", 876123.0, true},
		{"regex with a numeric pattern uses the normalised pattern", "regex(10.0)", "10", true},
		{"non-numeric operand compares raw text", "abc", 10.0, false},
		{"true matches boolean true", "true", true, true},
		{"false matches boolean false", "false", false, true},
		{"null is the empty string", "", nil, true},
		{"null does not match text", "something", nil, false},
		{"int values are decimal", "42", 42, true},
		{"json.Number is read like float64", "1000", json.Number("1e3"), true},
		{"objects never match", "x", map[string]any{"a": 1}, false},
		{"gt compares numbers", "gt(18)", 21.0, true},
		{"gt is strict", "gt(18)", 18.0, false},
		{"gte includes the bound", "gte(18)", "18", true},
		{"lt compares numbers", "lt(2.5)", 2.4, true},
		{"lte includes the bound", "lte(.5)", 0.5, true},
		{"comparison of non-numeric text is false", "gt(1)", "abc", false},
		{"malformed comparison is a literal string", "gt(abc)", "gt(abc)", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			seg := mustSegment(t, condition("v", c.operand))
			require.Equal(t, c.want, seg.Matches(map[string]any{"v": c.value}))
		})
	}
}

func TestMissingVariableNeverMatches(t *testing.T) {
	t.Parallel()
	seg := mustSegment(t, condition("browser", "regex(.*)"))
	require.False(t, seg.Matches(map[string]any{"other": "x"}))
	require.False(t, seg.Matches(nil))
	require.True(t, seg.Matches(map[string]any{"browser": ""}))
	not := mustSegment(t, `{"not": `+condition("browser", "chrome")+`}`)
	require.True(t, not.Matches(nil), "not of a missing variable")
}

func TestBooleanOperators(t *testing.T) {
	t.Parallel()
	chrome := condition("browser", "chrome")
	mobile := condition("device", "mobile")
	cases := []struct {
		name string
		dsl  string
		vars map[string]any
		want bool
	}{
		{"and needs all", `{"and": [` + chrome + `,` + mobile + `]}`, map[string]any{"browser": "chrome", "device": "desktop"}, false},
		{"and with all", `{"and": [` + chrome + `,` + mobile + `]}`, map[string]any{"browser": "chrome", "device": "mobile"}, true},
		{"or needs one", `{"or": [` + chrome + `,` + mobile + `]}`, map[string]any{"browser": "safari", "device": "mobile"}, true},
		{"or with none", `{"or": [` + chrome + `,` + mobile + `]}`, map[string]any{"browser": "safari"}, false},
		{"not inverts", `{"not": ` + chrome + `}`, map[string]any{"browser": "safari"}, true},
		{"empty and is true", `{"and": []}`, nil, true},
		{"empty or is false", `{"or": []}`, nil, false},
		{"empty rule is true", `{}`, nil, true},
		{"nested empty rule is true", `{"and": [{}]}`, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.want, mustSegment(t, c.dsl).Matches(c.vars))
		})
	}
}

func TestUserListComparesTrimmedIDs(t *testing.T) {
	t.Parallel()
	seg := mustSegment(t, `{"user": "  alice , bob,carol  "}`)
	require.True(t, seg.Matches(map[string]any{"_vwo_user_id": "bob"}))
	require.True(t, seg.Matches(map[string]any{"_vwo_user_id": "carol"}))
	require.False(t, seg.Matches(map[string]any{"_vwo_user_id": "dave"}))
	require.False(t, seg.Matches(map[string]any{"_vwo_user_id": 7.0}), "a non-string id never matches")
	require.False(t, seg.Matches(nil), "no id, no match")

	ids := make([]string, 100)
	for i := range ids {
		ids[i] = "user-" + strings.Repeat("x", i)
	}
	long := mustSegment(t, `{"user": "`+strings.Join(ids, ", ")+`"}`)
	require.True(t, long.Matches(map[string]any{"_vwo_user_id": ids[57]}))
	require.False(t, long.Matches(map[string]any{"_vwo_user_id": "user-y"}))
}

func TestNilSegmentMatchesEverybody(t *testing.T) {
	t.Parallel()
	var seg *segment.Segment
	require.True(t, seg.Matches(nil))
}

func TestParseReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := segment.Parse([]byte(`{"and": [
		{"custom_variable": {"a": 1}},
		{"user": ["x"]},
		{"xor": []},
		{"or": {}},
		{"and": [], "or": []},
		{"custom_variable": {"a": "x", "b": "y"}},
		"text"
	]}`))
	var verr *jsoncheck.Error
	require.ErrorAs(t, err, &verr)
	require.Equal(t, []string{
		`segment.and[0].custom_variable["a"]: must be a string`,
		`segment.and[1].user: must be a string`,
		`segment.and[2]: unknown operator "xor"`,
		`segment.and[3].or: must be an array`,
		`segment.and[4]: must hold exactly one operator, found and, or`,
		`segment.and[5].custom_variable: must name exactly one variable, found 2`,
		`segment.and[6]: must be an object`,
	}, verr.Problems)
}

func TestSegmentLimitsBoundHostileRules(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat(`{"not": `, 40) + `{}` + strings.Repeat(`}`, 40)
	_, err := segment.Parse([]byte(deep))
	require.ErrorContains(t, err, "nested deeper than 32 levels")

	longRegex := condition("v", "regex("+strings.Repeat("a", 2000)+")")
	_, err = segment.Parse([]byte(longRegex))
	require.ErrorContains(t, err, "regex is 2000 bytes, the limit is 1024")

	bigProgram := condition("v", "regex(a{1000}b{1000}c{500})")
	_, err = segment.Parse([]byte(bigProgram))
	require.ErrorContains(t, err, "the limit is 2000")

	wide := `{"or": [` + strings.TrimSuffix(strings.Repeat(`{},`, 10001), ",") + `]}`
	_, err = segment.Parse([]byte(wide))
	require.ErrorContains(t, err, "more than 10000 conditions")
}

// A regex RE2 cannot compile is a warning at its path, not a problem: the rule loads, its
// condition never matches, and a "not" around it always does.
func TestARegexRE2CannotCompileIsAWarningAndNeverMatches(t *testing.T) {
	t.Parallel()
	c := &jsoncheck.Checker{}
	compiler := segment.NewCompiler(c)
	bad := compiler.Compile("rule", []byte(condition("v", "regex(([)")))
	negated := compiler.Compile("negated", []byte(`{"not": `+condition("v", "regex((?<=a)b)")+`}`))
	require.NoError(t, c.Err())
	warnings := c.Warnings()
	require.Len(t, warnings, 2)
	require.True(t, strings.HasPrefix(warnings[0], `rule.custom_variable["v"]: regex "([" does not compile in RE2`), warnings[0])
	require.True(t, strings.HasPrefix(warnings[1], `negated.not.custom_variable["v"]: regex "(?<=a)b"`), warnings[1])
	for _, value := range []any{"([", "ab", "", nil, 1.0} {
		require.False(t, bad.Matches(map[string]any{"v": value}), "%v", value)
		require.True(t, negated.Matches(map[string]any{"v": value}), "%v", value)
	}
}
