package uss

import "strings"

// GoalDelimiter joins converted goals on the wire (VWO's userStorageData.goalIdentifier).
const GoalDelimiter = "_vwo_"

// MaxGoals bounds the goal set of one assignment, so that no request can grow a row without
// limit. Campaigns have a handful of goals; this is far above any real one.
const MaxGoals = 1000

// ValidateGoal checks one goal identifier: a valid identifier that does not contain the
// delimiter, since it could not be told apart from two goals once joined.
func ValidateGoal(field, goal string) error {
	if err := ValidateIdentifier(field, goal); err != nil {
		return err
	}
	if strings.Contains(goal, GoalDelimiter) {
		return Invalid(field, "must not contain %q", GoalDelimiter)
	}
	return nil
}

// ParseGoals splits a goalIdentifier string into the goal set: empty parts are dropped (VWO
// SDKs write "" for "no goal yet") and repeats are kept once, in first-seen order. Each part
// must be a valid identifier.
func ParseGoals(field, joined string) ([]string, error) {
	if joined == "" {
		return nil, nil
	}
	parts := strings.Split(joined, GoalDelimiter)
	goals := parts[:0]
	for _, g := range parts {
		if g == "" || containsGoal(goals, g) {
			continue
		}
		if err := ValidateIdentifier(field, g); err != nil {
			return nil, Invalid(field, "has an invalid goal: %v", err)
		}
		if len(goals) == MaxGoals {
			return nil, Invalid(field, "must hold at most %d goals", MaxGoals)
		}
		goals = append(goals, g)
	}
	return goals, nil
}

// JoinGoals is the wire form of a goal set.
func JoinGoals(goals []string) string { return strings.Join(goals, GoalDelimiter) }

func containsGoal(goals []string, g string) bool {
	for _, x := range goals {
		if x == g {
			return true
		}
	}
	return false
}
