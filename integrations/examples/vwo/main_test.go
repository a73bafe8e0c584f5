package main

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/integrations/internal/adaptertest"
	"github.com/uss/uss/internal/apitest"
)

func TestTheExampleStoresTheVariationAndTheGoalInUss(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "dev")

	var first bytes.Buffer
	require.NoError(t, run(t.Context(), s.URL, apiKey, "user-1", &first))
	m := regexp.MustCompile(`^variation: (Control|Variation-1)\npurchase tracked: true\nstored in uss: variation=(\S+) goals=purchase\n$`).
		FindStringSubmatch(first.String())
	require.NotNil(t, m, "output:\n%s", first.String())
	require.Equal(t, m[1], m[2], "uss holds the variation the SDK chose")

	var second bytes.Buffer
	require.NoError(t, run(t.Context(), s.URL, apiKey, "user-1", &second))
	require.Equal(t, "variation: "+m[1]+"\npurchase tracked: false\nstored in uss: variation="+m[1]+" goals=purchase\n",
		second.String(), "a second run reads the stored variation and does not count the goal again")
}

func TestTheExampleNeedsAnAPIKey(t *testing.T) {
	t.Parallel()
	err := run(t.Context(), "", "", "user-1", &bytes.Buffer{})
	require.ErrorContains(t, err, "USS_API_KEY")
}

// The integrations README shows this program whole, so what readers copy is what this test
// runs.
func TestTheReadmeShowsThisProgram(t *testing.T) {
	t.Parallel()
	adaptertest.RequireShownWhole(t, "../../README.md", "main.go")
}
