package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/integrations/internal/adaptertest"
	"github.com/uss/uss/internal/apitest"
)

// Each run of the example is a process of its own, as it is for its users: the SDK keeps
// process-wide state that a second Init in one process would race with (see vwofmeuss).
func TestMain(m *testing.M) {
	if os.Getenv("VWOFME_EXAMPLE_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(apitest.Run(m))
}

// example runs this program (the test binary, standing in for it) and returns its output.
func example(t *testing.T, env ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "user-1")
	cmd.Env = append(os.Environ(), append(env, "VWOFME_EXAMPLE_MAIN=1")...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

func TestTheExampleStoresTheVariationInUss(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	// VWO's collection servers are not reachable from tests: the SDK's events go here.
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(sink.Close)
	env := []string{"USS_URL=" + s.URL, "USS_API_KEY=" + s.NewKey(t, "dev"), "VWO_PROXY_URL=" + sink.URL}

	first := example(t, env...)
	m := regexp.MustCompile(`^button color: (blue|green)\nstored in uss: (\{.*\})\n$`).FindStringSubmatch(first)
	require.NotNil(t, m, "output:\n%s", first)
	variation := map[string]string{"blue": "1", "green": "2"}[m[1]]
	require.Contains(t, m[2], `"experimentKey":"checkout_test"`)
	require.Contains(t, m[2], `"experimentVariationId":`+variation, "uss holds the variation the SDK chose")

	require.Equal(t, first, example(t, env...), "a second run reads the stored variation")
}

func TestTheExampleNeedsAnAPIKey(t *testing.T) {
	t.Parallel()
	err := run(t.Context(), "", "", "", "user-1", &strings.Builder{})
	require.ErrorContains(t, err, "USS_API_KEY")
}

// The integrations README shows this program whole, so what readers copy is what this test
// runs.
func TestTheReadmeShowsThisProgram(t *testing.T) {
	t.Parallel()
	adaptertest.RequireShownWhole(t, "../../README.md", "main.go")
}
