package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"testing"

	statsig "github.com/statsig-io/go-sdk"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/integrations/internal/adaptertest"
	"github.com/uss/uss/internal/apitest"
)

func TestMain(m *testing.M) {
	// The SDK's process-wide output logger would print to the test's stdout.
	statsig.InitializeGlobalOutputLogger(statsig.OutputLoggerOptions{LogCallback: func(string, error) {}}, nil)
	os.Exit(apitest.Run(m)) // counts the exchanges validated against api/openapi.yaml
}

func TestTheExampleSavesTheGroupInUssAndKeepsIt(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "dev")

	var first bytes.Buffer
	require.NoError(t, run(t.Context(), s.URL, apiKey, "user-1", &first))
	m := regexp.MustCompile(`^group: (Control|Test) \(reason: None\), color: (blue|green)\nsaved in uss: (\{.*\})\n$`).
		FindStringSubmatch(first.String())
	require.NotNil(t, m, "output:\n%s", first.String())
	var saved struct {
		GroupName string            `json:"group_name"`
		JSONValue map[string]string `json:"json_value"`
	}
	require.NoError(t, json.Unmarshal([]byte(m[3]), &saved))
	require.Equal(t, m[1], saved.GroupName, "uss holds the group the SDK chose")
	require.Equal(t, m[2], saved.JSONValue["color"])

	var second bytes.Buffer
	require.NoError(t, run(t.Context(), s.URL, apiKey, "user-1", &second))
	require.Contains(t, second.String(), "group: "+m[1]+" (reason: Persisted), color: "+m[2]+"\n",
		"a second run evaluates from the saved value")
	resp := s.Do(t, apiKey, http.MethodGet, "/v1/persisted-values?key=user-1:userID", nil)
	require.Equal(t, http.StatusOK, resp.Status)
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
