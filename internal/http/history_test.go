package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
)

type event struct {
	EventID         int64   `json:"eventId"`
	Kind            string  `json:"kind"`
	OldVariation    *string `json:"oldVariation"`
	NewVariation    *string `json:"newVariation"`
	Source          string  `json:"source"`
	ReasonCode      string  `json:"reasonCode"`
	SettingsVersion *int64  `json:"settingsVersion"`
	RequestID       *string `json:"requestId"`
	MergedFrom      *string `json:"mergedFrom"`
	OccurredAt      string  `json:"occurredAt"`
}

type historyPage struct {
	Events     []event `json:"events"`
	NextCursor string  `json:"nextCursor"`
}

func historyPath(userID, campaignKey string, extra url.Values) string {
	q := url.Values{"userId": {userID}, "campaignKey": {campaignKey}}
	for k, v := range extra {
		q[k] = v
	}
	return "/v1/storage/history?" + q.Encode()
}

// allHistory reads every page of an assignment's history, a few events at a time.
func allHistory(t *testing.T, s *apitest.Server, key, userID, campaignKey string) []event {
	t.Helper()
	var all []event
	cursor := ""
	for {
		extra := url.Values{"limit": {"2"}}
		if cursor != "" {
			extra.Set("cursor", cursor)
		}
		resp := s.Do(t, key, http.MethodGet, historyPath(userID, campaignKey, extra), nil)
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		var p historyPage
		resp.Decode(t, &p)
		all = append(all, p.Events...)
		if p.NextCursor == "" {
			return all
		}
		cursor = p.NextCursor
	}
}

// change is what a test expects of an event.
type change struct {
	kind, old, new, source, reason string
}

func changes(events []event) []change {
	out := make([]change, len(events))
	str := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	for i, e := range events {
		out[i] = change{e.Kind, str(e.OldVariation), str(e.NewVariation), e.Source, e.ReasonCode}
	}
	return out
}

// Every kind of change is an event, newest first, with the request that made it and the
// settings version in force; writes that change no variation are none.
func TestHistoryRecordsEveryChangeAndNothingElse(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	version := putSettings(t, s, key, settingsJSON(campaignJSON("ab", 100, [2]float64{50, 50}, "")))
	act := func(user string, extra map[string]any) apitest.Response {
		body := map[string]any{"campaignKey": "ab", "userId": user}
		for k, v := range extra {
			body[k] = v
		}
		resp := s.Do(t, key, http.MethodPost, "/v1/activate", body)
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		return resp
	}

	created := act("u", nil) // created: bucketed
	var first decided
	created.Decode(t, &first)
	bucketedInto := name(first)
	other := map[string]string{"Control": "Variation-1", "Variation-1": "Control"}[bucketedInto]
	// None of these changes the variation: no event.
	act("u", nil)
	s.Do(t, key, http.MethodPost, "/v1/variation", map[string]any{"campaignKey": "ab", "userId": "u"})
	track(t, s, key, map[string]any{"campaignKey": "ab", "userId": "u", "goalIdentifier": "signup"})
	set(t, s, key, record{UserID: "u", CampaignKey: "ab", VariationName: bucketedInto, GoalIdentifier: "purchase"})
	act("u", map[string]any{"dryRun": true, "sticky": false})

	overwrite := s.Do(t, key, http.MethodPost, "/v1/storage", record{UserID: "u", CampaignKey: "ab", VariationName: other})
	require.Equal(t, http.StatusOK, overwrite.Status)
	set(t, s, key, record{UserID: "u", CampaignKey: "ab", VariationName: "Gone"}) // a variation the campaign lacks
	act("u", nil)                                                                 // rebucketed
	require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodDelete, storagePath("u", "ab"), nil).Status)
	set(t, s, key, record{UserID: "anon", CampaignKey: "ab", VariationName: "Control"})
	merge(t, s, key, map[string]any{"fromUserId": "anon", "toUserId": "u"})
	act("u", map[string]any{"sticky": false}) // deleted: not sticky
	importLines(t, s, key, []byte(`{"userId":"u","campaignKey":"ab","variationName":"Control","source":"bucketed"}`+"\n"))
	importLines(t, s, key, []byte(`{"userId":"u","campaignKey":"ab","variationName":"Variation-1"}`+"\n"))
	importLines(t, s, key, []byte(`{"userId":"u","campaignKey":"ab","variationName":"Variation-1","goals":["signup"]}`+"\n"))

	events := allHistory(t, s, key, "u", "ab")
	require.Equal(t, []change{
		{"overwritten", "Control", "Variation-1", "set", "import"},
		{"created", "", "Control", "bucketed", "import"},
		{"deleted", "Control", "", "set", "not_sticky"},
		{"merged", "", "Control", "set", "merge"},
		{"deleted", bucketedInto, "", "bucketed", "delete"},
		{"rebucketed", "Gone", bucketedInto, "bucketed", "stored_variation_removed"},
		{"overwritten", other, "Gone", "set", "set"},
		{"overwritten", bucketedInto, other, "set", "set"},
		{"created", "", bucketedInto, "bucketed", "bucketed"},
	}, changes(events))

	newest, oldest := events[0], events[len(events)-1]
	require.Greater(t, newest.EventID, oldest.EventID)
	require.Equal(t, created.Header.Get("X-Request-Id"), *oldest.RequestID, "the event names the request")
	require.Equal(t, overwrite.Header.Get("X-Request-Id"), *events[7].RequestID)
	require.Equal(t, "anon", *events[3].MergedFrom)
	for _, e := range events {
		require.Equal(t, version, *e.SettingsVersion, "%+v", e)
		require.NotNil(t, e.RequestID)
		_, err := time.Parse(time.RFC3339Nano, e.OccurredAt)
		require.NoError(t, err)
	}

	// Batch sets and group-committed activations write their events too, one per row.
	require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodPost, "/v1/storage/batch-set", records{Records: []record{
		{UserID: "b1", CampaignKey: "ab", VariationName: "Control"}, {UserID: "b2", CampaignKey: "ab", VariationName: "Control"}}}).Status)
	// A set with ifAbsent never replaces a stored variation: no event.
	require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodPost, "/v1/storage",
		map[string]any{"userId": "b1", "campaignKey": "ab", "variationName": "Variation-1", "ifAbsent": true}).Status)
	for _, u := range []string{"b1", "b2"} {
		require.Equal(t, []change{{"created", "", "Control", "set", "set"}}, changes(allHistory(t, s, key, u, "ab")))
	}
	require.Empty(t, allHistory(t, s, key, "nobody", "ab"))
}

// Erasing a user erases the user's history, and the user's id from the events of the ids it
// was merged into.
func TestErasureErasesHistory(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	set(t, s, key, record{UserID: "anon", CampaignKey: "c", VariationName: "A"})
	set(t, s, key, record{UserID: "anon", CampaignKey: "c", VariationName: "B"})
	merge(t, s, key, map[string]any{"fromUserId": "anon", "toUserId": "known"})
	require.Len(t, allHistory(t, s, key, "anon", "c"), 2)
	require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodDelete, storagePath("anon", ""), nil).Status)
	require.Empty(t, allHistory(t, s, key, "anon", "c"))
	known := allHistory(t, s, key, "known", "c")
	require.Len(t, known, 1, "the known id's event stays")
	require.Nil(t, known[0].MergedFrom, "without the erased id")
	require.Zero(t, s.Count(t, `SELECT count(*) FROM assignment_history WHERE user_id = 'anon' OR merged_from = 'anon'`))
}

// A write that is refused or rolled back leaves no event.
func TestARefusedOrAbortedWriteLeavesNoEvent(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, func(c *apitest.ConfigT) { c.RequestTimeout = time.Second })
	key := s.NewKey(t, "acme")
	putSettings(t, s, key, settingsJSON(campaignJSON("a", 100, [2]float64{50, 50}, ""), campaignJSON("b", 100, [2]float64{50, 50}, "")))
	decide(t, s, key, "activate", map[string]any{"campaignKey": "b", "userId": "u"})
	before := s.Snapshot(t)

	// Refused: bad input, a batch with one bad record, an import with one bad line.
	for _, r := range []struct{ method, path, body string }{
		{http.MethodPost, "/v1/storage", `{"userId":"u","campaignKey":"c","variationName":""}`},
		{http.MethodPost, "/v1/storage/batch-set", `{"records":[{"userId":"v","campaignKey":"c","variationName":"A"},{"userId":"","campaignKey":"c","variationName":"A"}]}`},
		{http.MethodPost, "/v1/identities/merge", `{"fromUserId":"u","toUserId":"u"}`},
	} {
		resp := s.Do(t, key, r.method, r.path, r.body)
		require.Equal(t, http.StatusBadRequest, resp.Status, "%s %s", r.path, resp.Body)
	}
	resp := s.DoNDJSON(t, key, "/v1/import/assignments", `{"userId":"v","campaignKey":"c","variationName":"A"}`+"\n"+`{"userId":"w"}`)
	require.Equal(t, http.StatusBadRequest, resp.Status, "%s", resp.Body)

	// Aborted: a track decides the user into a (a created event in its transaction), then
	// waits for b's row, which the test holds, past the request's time: all rolled back.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `SELECT 1 FROM assignments WHERE user_id = 'u' AND campaign_key = 'b' FOR UPDATE`)
	require.NoError(t, err)
	resp = s.Do(t, key, http.MethodPost, "/v1/track", map[string]any{"campaignKey": nil, "userId": "u", "goalIdentifier": "signup"})
	require.Equal(t, http.StatusServiceUnavailable, resp.Status, "%s", resp.Body)
	require.NoError(t, tx.Rollback(ctx))

	require.Equal(t, before, s.Snapshot(t), "no row and no event")
	require.Empty(t, allHistory(t, s, key, "u", "a"))
	require.Len(t, allHistory(t, s, key, "u", "b"), 1, "only the activation's created event")
}

func TestHistoryRefusesBadQueries(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	for _, q := range []string{
		"userId=u", "campaignKey=c", "userId=u&campaignKey=c&limit=0", "userId=u&campaignKey=c&limit=1001",
		"userId=u&campaignKey=c&limit=ten", "userId=u&campaignKey=c&cursor=", "userId=u&campaignKey=c&cursor=-3",
		"userId=u&campaignKey=c&cursor=abc", "userId=u&campaignKey=c&kind=created", "userId=&campaignKey=c",
	} {
		resp := s.Do(t, key, http.MethodGet, "/v1/storage/history?"+q, nil)
		require.Equal(t, http.StatusBadRequest, resp.Status, "%s: %s", q, resp.Body)
		require.Equal(t, "invalid_argument", resp.ErrorCode(t), q)
	}
	resp := s.Do(t, key, http.MethodGet, historyPath("u", "c", nil), nil)
	require.Equal(t, http.StatusOK, resp.Status)
	require.JSONEq(t, `{"events":[]}`, string(resp.Body))
}
