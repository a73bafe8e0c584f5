package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
)

type importCounts struct {
	Lines     int64 `json:"lines"`
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
}

func export(t *testing.T, s *apitest.Server, key, query string) []string {
	t.Helper()
	resp := s.Do(t, key, http.MethodGet, "/v1/export/assignments"+query, nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.Equal(t, "application/x-ndjson", resp.Header.Get("Content-Type"))
	lines := strings.Split(strings.TrimSuffix(string(resp.Body), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	slices.Sort(lines)
	return lines
}

func importLines(t *testing.T, s *apitest.Server, key string, body []byte) importCounts {
	t.Helper()
	resp := s.DoNDJSON(t, key, "/v1/import/assignments", string(body))
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var c importCounts
	resp.Decode(t, &c)
	return c
}

// loadAssignments writes n assignments of the account with SQL: several campaigns, goals,
// sources, exposures and timestamps of every shape an export must carry.
func loadAssignments(t *testing.T, s *apitest.Server, account string, n int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `
		INSERT INTO assignments (account_id, user_id, campaign_key, variation_name, goals, source, exposures, created_at, updated_at)
		SELECT (SELECT account_id FROM accounts WHERE name = $1), 'user-' || (i / 4), 'campaign-' || (i % 4),
		       CASE WHEN i % 3 = 0 THEN 'Control' ELSE 'Variation-' || (i % 5) || ' "ü"\' END,
		       CASE i % 4 WHEN 0 THEN '{}' WHEN 1 THEN '{signup}' ELSE ARRAY['purchase', 'g' || i] END,
		       (ARRAY['set', 'bucketed', 'whitelisted'])[1 + i % 3], i % 7,
		       timestamptz '2024-01-01 00:00:00.123456+00' + i * interval '1 second',
		       timestamptz '2024-06-01 00:00:00+00' + i * interval '1 millisecond'
		FROM generate_series(0, $2 - 1) AS i`, account, n)
	require.NoError(t, err)
}

// Export, import into another account, export again: the same lines. Importing the same
// file again changes nothing.
func TestExportThenImportGivesBackTheSameHundredThousandRows(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	from, to := s.NewKey(t, "from"), s.NewKey(t, "to")
	const n = 100_000
	loadAssignments(t, s, "from", n)

	exported := export(t, s, from, "")
	require.Len(t, exported, n)
	body := []byte(strings.Join(exported, "\n") + "\n")
	require.Equal(t, importCounts{Lines: n, Created: n}, importLines(t, s, to, body))
	require.Equal(t, exported, export(t, s, to, ""), "the round trip changes no row")

	require.Equal(t, importCounts{Lines: n, Unchanged: n}, importLines(t, s, to, body))
	require.Equal(t, exported, export(t, s, to, ""), "importing the same file again changes nothing")

	one := export(t, s, to, "?campaignKey=campaign-1")
	require.Len(t, one, n/4)
	for _, l := range one {
		require.Contains(t, l, `"campaignKey":"campaign-1"`)
	}
}

func TestImportMergesGoalsAsASetDoes(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	set(t, s, key, record{UserID: "u1", CampaignKey: "c", VariationName: "A", GoalIdentifier: "signup"})
	set(t, s, key, record{UserID: "u2", CampaignKey: "c", VariationName: "A", GoalIdentifier: "signup"})
	set(t, s, key, record{UserID: "u3", CampaignKey: "c", VariationName: "A", GoalIdentifier: "signup"})
	file := `{"userId":"u1","campaignKey":"c","variationName":"A","goals":["purchase"]}
{"userId":"u2","campaignKey":"c","variationName":"B","goals":["purchase"]}
{"userId":"u3","campaignKey":"c","variationName":"A","goals":["signup"]}

{"userId":"u4","campaignKey":"c","variationName":"B"}
`
	require.Equal(t, importCounts{Lines: 4, Created: 1, Updated: 2, Unchanged: 1}, importLines(t, s, key, []byte(file)))
	for user, want := range map[string]record{
		"u1": {UserID: "u1", CampaignKey: "c", VariationName: "A", GoalIdentifier: "signup_vwo_purchase"},
		"u2": {UserID: "u2", CampaignKey: "c", VariationName: "B", GoalIdentifier: "purchase"},
		"u3": {UserID: "u3", CampaignKey: "c", VariationName: "A", GoalIdentifier: "signup"},
		"u4": {UserID: "u4", CampaignKey: "c", VariationName: "B"},
	} {
		got, status := getRecord(t, s, key, user, "c")
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, want, got)
	}
}

// The first bad line stops the import: a 400 naming it, and nothing stored, whatever came
// before it.
func TestABadLineAbortsTheImportWithNothingStored(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	set(t, s, key, record{UserID: "u0", CampaignKey: "c", VariationName: "A"})
	before := s.Snapshot(t)
	var good bytes.Buffer
	for i := range 1000 {
		fmt.Fprintf(&good, `{"userId":"u%d","campaignKey":"c","variationName":"B"}`+"\n", i)
	}
	for name, bad := range map[string]string{
		"not JSON":             `{"userId":`,
		"unknown field":        `{"userId":"x","campaignKey":"c","variationName":"B","variationId":2}`,
		"missing variation":    `{"userId":"x","campaignKey":"c"}`,
		"wrong type":           `{"userId":"x","campaignKey":"c","variationName":"B","exposures":"3"}`,
		"delimiter in a goal":  `{"userId":"x","campaignKey":"c","variationName":"B","goals":["a_vwo_b"]}`,
		"repeated goal":        `{"userId":"x","campaignKey":"c","variationName":"B","goals":["a","a"]}`,
		"unknown source":       `{"userId":"x","campaignKey":"c","variationName":"B","source":"guessed"}`,
		"negative exposures":   `{"userId":"x","campaignKey":"c","variationName":"B","exposures":-1}`,
		"bad time":             `{"userId":"x","campaignKey":"c","variationName":"B","createdAt":"yesterday"}`,
		"NUL in an id":         `{"userId":"x\u0000","campaignKey":"c","variationName":"B"}`,
		"two values on a line": `{"userId":"x","campaignKey":"c","variationName":"B"} {}`,
		"an array":             `[{"userId":"x","campaignKey":"c","variationName":"B"}]`,
	} {
		body := good.String() + bad + "\n" + `{"userId":"y","campaignKey":"c","variationName":"B"}` + "\n"
		resp := s.DoNDJSON(t, key, "/v1/import/assignments", body)
		require.Equal(t, http.StatusBadRequest, resp.Status, "%s: %s", name, resp.Body)
		require.Equal(t, "invalid_argument", resp.ErrorCode(t), name)
		require.Contains(t, string(resp.Body), "line 1001: ", name)
	}
	// A key repeated further down is found once every line is in: the repeat is named.
	body := good.String() + `{"userId":"u7","campaignKey":"c","variationName":"A"}` + "\n"
	resp := s.DoNDJSON(t, key, "/v1/import/assignments", body)
	require.Equal(t, http.StatusBadRequest, resp.Status, "%s", resp.Body)
	require.Contains(t, string(resp.Body), "line 1001: repeats the userId and campaignKey of line 8")

	for name, body := range map[string]string{"empty body": "", "blank lines only": "\n\n  \n"} {
		resp := s.DoNDJSON(t, key, "/v1/import/assignments", body)
		require.Equal(t, http.StatusBadRequest, resp.Status, "%s: %s", name, resp.Body)
	}
	require.Equal(t, before, s.Snapshot(t), "no bad import stored anything")
}

func TestImportsOverTheirLimitGet413(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, func(c *apitest.ConfigT) { c.ImportBodyLimit = 4096 })
	key := s.NewKey(t, "acme")
	before := s.Snapshot(t)
	body := strings.Repeat(`{"userId":"u","campaignKey":"c","variationName":"B"}`+"\n", 100)
	resp := s.DoNDJSON(t, key, "/v1/import/assignments", body)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.Status, "%s", resp.Body)
	require.Equal(t, before, s.Snapshot(t))
}

func TestExportRefusesBadQueries(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	for _, q := range []string{"?campaignKey=", "?campaign=c", "?campaignKey=a&campaignKey=b", "?campaignKey=%00"} {
		resp := s.Do(t, key, http.MethodGet, "/v1/export/assignments"+q, nil)
		require.Equal(t, http.StatusBadRequest, resp.Status, "%s: %s", q, resp.Body)
	}
	require.Empty(t, export(t, s, key, ""), "an account without assignments exports nothing")
}
