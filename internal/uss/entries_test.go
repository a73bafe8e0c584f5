package uss_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/uss"
)

func TestValidateEntriesChecksEveryKeyAndValueAndTheCount(t *testing.T) {
	t.Parallel()
	require.NoError(t, uss.ValidateEntries("assignments", map[string]string{}))
	require.NoError(t, uss.ValidateEntries("assignments", map[string]string{"checkout__0": "1", "é": "🙂"}))
	many := map[string]string{}
	for i := range uss.MaxBatch + 1 {
		many[fmt.Sprint(i)] = "v"
	}
	for name, tc := range map[string]struct {
		entries map[string]string
		message string
	}{
		"no entries at all":  {nil, "assignments is required (an object, possibly empty)"},
		"an empty key":       {map[string]string{"": "1"}, "assignments key is required and must not be empty"},
		"an empty value":     {map[string]string{"a": "1", "b": ""}, `assignments["b"] is required and must not be empty`},
		"a 256-byte value":   {map[string]string{"a": strings.Repeat("x", 256)}, `assignments["a"] must be at most 255 bytes, got 256`},
		"NUL in a key":       {map[string]string{"a\x00": "1"}, "assignments key must not contain NUL characters"},
		"too many entries":   {many, "assignments must hold at most 1000 entries, got 1001"},
		"the first in order": {map[string]string{"b": "", "a": ""}, `assignments["a"] is required and must not be empty`},
	} {
		err := uss.ValidateEntries("assignments", tc.entries)
		require.ErrorIs(t, err, uss.ErrInvalidArgument, name)
		require.Equal(t, tc.message, err.Error(), name)
	}
}
