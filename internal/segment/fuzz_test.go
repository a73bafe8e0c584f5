package segment_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/uss/uss/internal/segment"
)

// FuzzSegment: any rule that compiles evaluates without panicking, for values of every type
// a JSON decoder produces; {"not": rule} matches exactly where the rule does not, and
// MatchesUser (whitelisting's injected user id) agrees with Matches given that id.
func FuzzSegment(f *testing.F) {
	f.Add([]byte(`{"or": [{"custom_variable": {"v": "wildcard(*123.0*)"}}]}`), "v", "876123", 1.5, true)
	f.Add([]byte(`{"and": [{"user": "a, b"}, {"not": {"custom_variable": {"v": "lower(X)"}}}]}`), "v", "x", 0.0, false)
	f.Add([]byte(`{"custom_variable": {"v": "regex(<(W[^>]*)(.*?)>)"}}`), "v", "<Wingify>", 10.0, true)
	f.Add([]byte(`{"custom_variable": {"n": "gte(10)"}}`), "n", "10", 10.0, false)
	f.Add([]byte(`{"custom_variable": {"v": "regex(*)"}}`), "v", "*", -1e300, true)
	f.Add([]byte(`{"user": "u-1,u-2"}`), "v", "u-2", 0.0, true)
	f.Fuzz(func(t *testing.T, dsl []byte, key, value string, num float64, flag bool) {
		seg, err := segment.Parse(dsl)
		if err != nil {
			return
		}
		// The negation adds a level and a condition, which a rule at the limits may not have.
		negated, negErr := segment.Parse([]byte(`{"not": ` + string(dsl) + `}`))
		for _, vars := range []map[string]any{
			nil,
			{key: value, "_vwo_user_id": value},
			{key: num, "n": num, "v": num},
			{key: flag, "v": flag, "n": json.Number(value)},
			{key: nil, "v": []any{value}, "n": map[string]any{"x": value}},
			{key: int64(num), "v": float32(num), "n": strconv.FormatFloat(num, 'g', -1, 64)},
		} {
			matches := seg.Matches(vars)
			if negErr == nil && negated.Matches(vars) == matches {
				t.Fatalf("the rule and its negation agree (%v) on %v", matches, vars)
			}
			withID := map[string]any{segment.UserIDVariable: value}
			for k, v := range vars {
				if k != segment.UserIDVariable {
					withID[k] = v
				}
			}
			if got, want := seg.MatchesUser(value, vars), seg.Matches(withID); got != want {
				t.Fatalf("MatchesUser(%q) = %v, Matches with that %s = %v, on %v", value, got, segment.UserIDVariable, want, vars)
			}
		}
	})
}

// FuzzLowerOperand checks the allocation-free lower() comparison against
// the Go SDK's strings.ToLower(a) == strings.ToLower(b), for values that are
// not numbers (numbers are normalised first).
func FuzzLowerOperand(f *testing.F) {
	f.Add("ChRoMe", "chrome")
	f.Add("ÜBER", "über")
	f.Add("\xff", "\uFFFD")
	f.Add("K", "\u212A") // KELVIN SIGN lowers to k
	f.Fuzz(func(t *testing.T, operand, value string) {
		if strings.ContainsAny(operand, "\n()") {
			return // keep the operand inside lower( )
		}
		if _, err := strconv.ParseFloat(operand, 64); err == nil {
			return
		}
		if _, err := strconv.ParseFloat(value, 64); err == nil {
			return
		}
		b, _ := json.Marshal(map[string]any{"custom_variable": map[string]string{"v": "lower(" + operand + ")"}})
		seg, err := segment.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		// json.Marshal turned invalid UTF-8 into U+FFFD; compare with what
		// the rule really holds.
		var decoded map[string]map[string]string
		if err := json.Unmarshal(b, &decoded); err != nil {
			t.Fatal(err)
		}
		op := strings.TrimSuffix(strings.TrimPrefix(decoded["custom_variable"]["v"], "lower("), ")")
		//nolint:staticcheck // SA6005: the rule is the SDK's ToLower equality, which EqualFold's folding does not match for every rune
		want := value != "" && strings.ToLower(op) == strings.ToLower(value)
		if got := seg.Matches(map[string]any{"v": value}); got != want {
			t.Fatalf("lower(%q) vs %q: got %v, strings.ToLower says %v", op, value, got, want)
		}
	})
}
