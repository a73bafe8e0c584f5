package api_test

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/api"
	"github.com/uss/uss/internal/apitest"
	"github.com/uss/uss/internal/decision"
	"github.com/uss/uss/internal/goals"
)

func TestMain(m *testing.M) { os.Exit(apitest.Run(m)) }

// echoParam is an echo path parameter (:name); the document writes {name}.
var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestEveryRouteIsDocumentedAndEveryDocumentedRouteExists compares the routes the server
// registers with the operations of api/openapi.yaml, both ways.
func TestEveryRouteIsDocumentedAndEveryDocumentedRouteExists(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	e, ok := s.Handler().(*echo.Echo)
	require.True(t, ok, "the server's handler is echo")
	contract, err := apitest.LoadContract()
	require.NoError(t, err)

	registered := map[string]bool{}
	for _, r := range e.Routes() {
		registered[r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	documented := map[string]bool{}
	for path, item := range contract.Doc.Paths.Map() {
		for method := range item.Operations() {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}

	var problems []string
	for _, route := range sorted(registered) {
		if !documented[route] {
			method, path, _ := strings.Cut(route, " ")
			problems = append(problems, fmt.Sprintf("%s is registered by the server but missing from api/openapi.yaml: "+
				"add `%s:` under `paths:` → `%s:` with its parameters, request body, every response it answers "+
				"(errors included, as $ref to components/responses) and an example of each body", route, strings.ToLower(method), path))
		}
	}
	for _, route := range sorted(documented) {
		if !registered[route] {
			problems = append(problems, fmt.Sprintf("%s is in api/openapi.yaml but the server has no such route "+
				"(internal/http/server.go registers the routes): remove it from the document or register it", route))
		}
	}
	require.Empty(t, problems, "\n%s", strings.Join(problems, "\n"))
	require.NotEmpty(t, registered)
}

func sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestDocumentIsValidWithExamples checks the document against OpenAPI 3.1 (its examples
// against their schemas too) and that every body it describes has an example.
func TestDocumentIsValidWithExamples(t *testing.T) {
	t.Parallel()
	contract, err := apitest.LoadContract() // validates, examples included
	require.NoError(t, err)
	require.Equal(t, "3.1.0", contract.Doc.OpenAPI)

	var missing []string
	for path, item := range contract.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := strings.ToUpper(method) + " " + path
			if op.RequestBody != nil {
				for ct, mt := range op.RequestBody.Value.Content {
					if mt.Example == nil && len(mt.Examples) == 0 {
						missing = append(missing, where+" request body "+ct)
					}
				}
			}
			for status, resp := range op.Responses.Map() {
				for ct, mt := range resp.Value.Content {
					if mt.Example == nil && len(mt.Examples) == 0 {
						missing = append(missing, fmt.Sprintf("%s response %s %s", where, status, ct))
					}
				}
			}
			for _, p := range op.Parameters {
				if p.Value.Example == nil && len(p.Value.Examples) == 0 && p.Value.In != "path" {
					missing = append(missing, where+" parameter "+p.Value.Name)
				}
			}
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "bodies and parameters without an example")
}

func TestTheDocumentIsServedWithoutAKey(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	resp := s.Do(t, "", http.MethodGet, "/openapi.yaml", nil)
	require.Equal(t, http.StatusOK, resp.Status)
	require.Equal(t, "application/yaml", resp.Header.Get("Content-Type"))
	require.Equal(t, api.OpenAPI, resp.Body)
}

// The reason codes the document lists are the ones the server gives, both ways: every
// decision's (decision.ReasonCodes) and every track result's (goals.ReasonCodes).
func TestTheDocumentListsEveryReasonCode(t *testing.T) {
	t.Parallel()
	contract, err := apitest.LoadContract()
	require.NoError(t, err)
	enum := func(s *openapi3.Schema) []string {
		var out []string
		for _, v := range s.Enum {
			out = append(out, fmt.Sprint(v))
		}
		sort.Strings(out)
		return out
	}
	decisionCodes := contract.Doc.Components.Responses["Decision"].Value.Content.Get("application/json").
		Schema.Value.Properties["reasonCode"].Value
	trackCodes := contract.Doc.Paths.Value("/v1/track").Post.Responses.Value("200").Value.Content.Get("application/json").
		Schema.Value.Properties["results"].Value.Items.Value.Properties["reasonCode"].Value
	require.Equal(t, codes(decision.ReasonCodes), enum(decisionCodes))
	require.Equal(t, codes(goals.ReasonCodes), enum(trackCodes))
}

func codes[C ~string](list []C) []string {
	out := make([]string, len(list))
	for i, c := range list {
		out[i] = string(c)
	}
	sort.Strings(out)
	return out
}
