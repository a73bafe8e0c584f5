package uss_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/uss"
)

func TestParseGoalsSplitsOnTheDelimiterDroppingEmptiesAndRepeats(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]string{
		"":                            nil,
		"signup":                      {"signup"},
		"signup_vwo_purchase":         {"signup", "purchase"},
		"_vwo_a_vwo__vwo_b_vwo_":      {"a", "b"},
		"a_vwo_b_vwo_a":               {"a", "b"},
		"vwo_x_vwo_y_vwo":             {"vwo_x", "y_vwo"},
		"buy-now-clicked_vwo_product": {"buy-now-clicked", "product"},
	} {
		got, err := uss.ParseGoals("goalIdentifier", in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
		if want != nil {
			require.Equal(t, want, mustParse(t, uss.JoinGoals(got)), "join then parse round-trips")
		}
	}
}

func mustParse(t *testing.T, s string) []string {
	t.Helper()
	g, err := uss.ParseGoals("goalIdentifier", s)
	require.NoError(t, err)
	return g
}

func TestParseGoalsRefusesInvalidGoalsAndTooMany(t *testing.T) {
	t.Parallel()
	many := make([]string, uss.MaxGoals+1)
	for i := range many {
		many[i] = "g" + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + strings.Repeat("y", i/50)
	}
	for name, in := range map[string]string{
		"NUL":          "a_vwo_b\x00",
		"invalid UTF8": "a_vwo_\xff",
		"too long":     strings.Repeat("g", 256),
		"too many":     strings.Join(many, uss.GoalDelimiter),
	} {
		_, err := uss.ParseGoals("goalIdentifier", in)
		require.ErrorIs(t, err, uss.ErrInvalidArgument, name)
		require.Contains(t, err.Error(), "goalIdentifier", name)
	}
}

func TestValidateGoalRefusesTheDelimiter(t *testing.T) {
	t.Parallel()
	require.NoError(t, uss.ValidateGoal("goalIdentifier", "purchase"))
	err := uss.ValidateGoal("goalIdentifier", "a_vwo_b")
	require.ErrorIs(t, err, uss.ErrInvalidArgument)
	require.Equal(t, `goalIdentifier must not contain "_vwo_"`, err.Error())
}

func TestValidateIdentifier(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"a", strings.Repeat("é", 127), "with space/and?query&chars", "🙂"} {
		require.NoError(t, uss.ValidateIdentifier("userId", ok), ok)
	}
	for name, bad := range map[string]string{
		"empty": "", "256 bytes": strings.Repeat("x", 256), "NUL": "a\x00", "invalid UTF-8": "\xc3\x28",
	} {
		err := uss.ValidateIdentifier("userId", bad)
		require.ErrorIs(t, err, uss.ErrInvalidArgument, name)
		require.True(t, strings.HasPrefix(err.Error(), "userId "), name)
	}
}

func TestUnitIDIsTheKeyBeforeItsLastColon(t *testing.T) {
	t.Parallel()
	require.Equal(t, "user-1", uss.UnitID("user-1:userID"))
	require.Equal(t, "a:b", uss.UnitID("a:b:stableID"))
	require.Equal(t, "plain", uss.UnitID("plain"))
	require.Empty(t, uss.UnitID(":userID"))
}
