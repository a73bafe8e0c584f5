package jsoncheck_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/jsoncheck"
)

// Problems and warnings are kept up to a bound, and the rest is counted, so that a hostile
// document cannot make an answer of a million lines.
func TestProblemsAndWarningsAreBoundedAndCounted(t *testing.T) {
	t.Parallel()
	c := &jsoncheck.Checker{}
	require.NoError(t, c.Err())
	require.Empty(t, c.Warnings())
	for i := range 1005 {
		c.Addf(jsoncheck.Index("items", i), "problem %d", i)
		c.Warn(jsoncheck.Index("items", i), fmt.Sprintf("warning %d", i))
	}
	var verr *jsoncheck.Error
	require.ErrorAs(t, c.Err(), &verr)
	require.Len(t, verr.Problems, 1001)
	require.Equal(t, "items[0]: problem 0", verr.Problems[0])
	require.Equal(t, "... and 5 more problems", verr.Problems[1000])
	warnings := c.Warnings()
	require.Len(t, warnings, 1001)
	require.Equal(t, "items[999]: warning 999", warnings[999])
	require.Equal(t, "... and 5 more warnings", warnings[1000])
}

func TestReadersNameTheProblemByPath(t *testing.T) {
	t.Parallel()
	c := &jsoncheck.Checker{}
	_, ok := c.Object("a", []byte(`[1]`))
	require.False(t, ok)
	_, ok = c.Integer("b", []byte(`"1.5"`))
	require.False(t, ok)
	n, ok := c.Integer("c", []byte(`"42"`))
	require.True(t, ok)
	require.Equal(t, 42, n)
	_, ok = c.Bool("d", []byte(`"yes"`))
	require.False(t, ok)
	text, ok := c.IntegerText("e", []byte(`12345678901`))
	require.True(t, ok)
	require.Equal(t, "12345678901", text)
	var verr *jsoncheck.Error
	require.ErrorAs(t, c.Err(), &verr)
	require.Equal(t, []string{"a: must be an object", "b: must be a whole number, got 1.5", "d: must be true or false"}, verr.Problems)
}
