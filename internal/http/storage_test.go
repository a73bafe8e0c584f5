package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
)

type record struct {
	UserID         string `json:"userId"`
	CampaignKey    string `json:"campaignKey"`
	VariationName  string `json:"variationName"`
	GoalIdentifier string `json:"goalIdentifier"`
}

type records struct {
	Records []record `json:"records"`
}

func storagePath(userID, campaignKey string) string {
	q := url.Values{"userId": {userID}}
	if campaignKey != "" {
		q.Set("campaignKey", campaignKey)
	}
	return "/v1/storage?" + q.Encode()
}

func getRecord(t *testing.T, s *apitest.Server, key, userID, campaignKey string) (record, int) {
	t.Helper()
	resp := s.Do(t, key, http.MethodGet, storagePath(userID, campaignKey), nil)
	var r record
	if resp.Status == http.StatusOK {
		resp.Decode(t, &r)
	}
	return r, resp.Status
}

func TestStorageRoundTripsAwkwardIdentifiers(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	ids := map[string]string{
		"slash":        "users/42/profile",
		"query chars":  "a?b=c&d=e#f",
		"spaces":       "  leading and trailing  ",
		"plus percent": "1+1=2 %20 %zz",
		"non-ASCII":    "usuário-ß-日本語-🙂",
		"quotes":       `"quoted" 'single' \back`,
		"max length":   strings.Repeat("x", 255),
		"vwo-like":     "D8E56BFF89A75539B46C1FECD3C97D7C",
	}
	for name, id := range ids {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			campaign := ("c/" + id)[:min(len(id)+2, 255)]
			in := record{UserID: id, CampaignKey: campaign, VariationName: "Variation " + id[:1], GoalIdentifier: "signup_vwo_purchase"}
			resp := s.Do(t, key, http.MethodPost, "/v1/storage", in)
			require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
			var stored record
			resp.Decode(t, &stored)
			require.Equal(t, in, stored)

			got, status := getRecord(t, s, key, id, campaign)
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, in, got)
		})
	}
}

func TestStorageAcceptsTheGoSDKFieldSpelling(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	// vwo-go-sdk's schema.UserData has no JSON tags, so it marshals Go field names.
	body := `{"UserID":"u1","CampaignKey":"c1","VariationName":"Control","GoalIdentifier":"g1_vwo_g2"}`
	resp := s.Do(t, key, http.MethodPost, "/v1/storage", body)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	got, status := getRecord(t, s, key, "u1", "c1")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, record{UserID: "u1", CampaignKey: "c1", VariationName: "Control", GoalIdentifier: "g1_vwo_g2"}, got)
}

func TestStorageGetOfAMissingAssignmentIs404(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	resp := s.Do(t, key, http.MethodGet, storagePath("nobody", "c1"), nil)
	require.Equal(t, http.StatusNotFound, resp.Status)
	require.Equal(t, "not_found", resp.ErrorCode(t))
}

func TestStorageSetMergesGoalsWhileTheVariationStays(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	set := func(variation, goals string) record {
		resp := s.Do(t, key, http.MethodPost, "/v1/storage",
			record{UserID: "u", CampaignKey: "c", VariationName: variation, GoalIdentifier: goals})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		var r record
		resp.Decode(t, &r)
		return r
	}
	require.Empty(t, set("Control", "").GoalIdentifier)
	require.Equal(t, "a_vwo_b", set("Control", "a_vwo_b").GoalIdentifier)
	// Two SDK instances that each read "a_vwo_b" and append their own goal lose neither.
	require.Equal(t, "a_vwo_b_vwo_c", set("Control", "a_vwo_b_vwo_c").GoalIdentifier)
	require.Equal(t, "a_vwo_b_vwo_c_vwo_d", set("Control", "a_vwo_b_vwo_d").GoalIdentifier)
	// Empty parts and repeats in the wire string are dropped.
	require.Equal(t, "a_vwo_b_vwo_c_vwo_d_vwo_e", set("Control", "_vwo_e_vwo__vwo_e").GoalIdentifier)
	// A new variation starts from the goals written with it.
	require.Equal(t, "x", set("Variation-1", "x").GoalIdentifier)
	got, _ := getRecord(t, s, key, "u", "c")
	require.Equal(t, record{UserID: "u", CampaignKey: "c", VariationName: "Variation-1", GoalIdentifier: "x"}, got)
}

func TestBatchSetStoresAllAndBatchGetReadsThem(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	in := []record{
		{UserID: "u", CampaignKey: "c1", VariationName: "Control", GoalIdentifier: ""},
		{UserID: "u", CampaignKey: "c2", VariationName: "Variation-1", GoalIdentifier: "g"},
		{UserID: "u", CampaignKey: "c3", VariationName: "Variation-2", GoalIdentifier: "g_vwo_h"},
		{UserID: "other", CampaignKey: "c1", VariationName: "Control", GoalIdentifier: ""},
	}
	resp := s.Do(t, key, http.MethodPost, "/v1/storage/batch-set", records{Records: in})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var stored records
	resp.Decode(t, &stored)
	require.Equal(t, in, stored.Records, "results come back in request order")

	resp = s.Do(t, key, http.MethodPost, "/v1/storage/batch-get", map[string]any{"userId": "u"})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var all records
	resp.Decode(t, &all)
	require.Equal(t, in[:3], all.Records, "all of the user's campaigns, and no other user's")

	resp = s.Do(t, key, http.MethodPost, "/v1/storage/batch-get",
		map[string]any{"userId": "u", "campaignKeys": []string{"c3", "missing", "c1"}})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var some records
	resp.Decode(t, &some)
	require.Equal(t, []record{in[0], in[2]}, some.Records, "missing campaigns are absent")

	resp = s.Do(t, key, http.MethodPost, "/v1/storage/batch-get",
		map[string]any{"userId": "u", "campaignKeys": []string{}})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.JSONEq(t, `{"records":[]}`, string(resp.Body))
}

func TestBatchSetIsAllOrNothing(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	tooMany := make([]record, 1001)
	for i := range tooMany {
		tooMany[i] = record{UserID: "u", CampaignKey: strings.Repeat("c", i%200+1) + string(rune('a'+i%26)), VariationName: "V"}
	}
	cases := map[string]records{
		"an empty userId among good ones": {Records: []record{
			{UserID: "u", CampaignKey: "c1", VariationName: "V"}, {UserID: "", CampaignKey: "c2", VariationName: "V"}}},
		"a repeated user and campaign": {Records: []record{
			{UserID: "u", CampaignKey: "c1", VariationName: "V"}, {UserID: "u", CampaignKey: "c1", VariationName: "W"}}},
		"a goal with NUL": {Records: []record{
			{UserID: "u", CampaignKey: "c1", VariationName: "V"}, {UserID: "u", CampaignKey: "c2", VariationName: "V", GoalIdentifier: "a\x00b"}}},
		"more than 1000 records": {Records: tooMany},
		"no records":             {Records: nil},
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			resp := s.Do(t, key, http.MethodPost, "/v1/storage/batch-set", body)
			require.Equal(t, http.StatusBadRequest, resp.Status, "%s", resp.Body)
			require.Equal(t, "invalid_argument", resp.ErrorCode(t))
			resp = s.Do(t, key, http.MethodPost, "/v1/storage/batch-get", map[string]any{"userId": "u"})
			require.JSONEq(t, `{"records":[]}`, string(resp.Body), "nothing was stored")
		})
	}
}

func TestDeleteRemovesOneAssignmentAndEraseEverythingOfTheUser(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	for _, r := range []record{
		{UserID: "u", CampaignKey: "c1", VariationName: "V"},
		{UserID: "u", CampaignKey: "c2", VariationName: "V"},
		{UserID: "u", CampaignKey: "c3", VariationName: "V"},
		{UserID: "keep", CampaignKey: "c1", VariationName: "V"},
	} {
		require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodPost, "/v1/storage", r).Status)
	}
	for _, p := range []string{"/v1/persisted-values?key=u:userID&configName=exp", "/v1/persisted-values?key=keep:userID&configName=exp"} {
		require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodPut, p, `{"value":"x"}`).Status)
	}

	resp := s.Do(t, key, http.MethodDelete, storagePath("u", "c1"), nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.JSONEq(t, `{"deleted":{"assignments":1,"conversions":0,"persistedValues":0,"vwoFmeRecords":0,"growthbookAssignments":0,"optimizelyDecisions":0}}`, string(resp.Body))
	_, status := getRecord(t, s, key, "u", "c1")
	require.Equal(t, http.StatusNotFound, status)
	_, status = getRecord(t, s, key, "u", "c2")
	require.Equal(t, http.StatusOK, status, "only the named campaign goes")

	resp = s.Do(t, key, http.MethodDelete, storagePath("u", "c1"), nil)
	require.JSONEq(t, `{"deleted":{"assignments":0,"conversions":0,"persistedValues":0,"vwoFmeRecords":0,"growthbookAssignments":0,"optimizelyDecisions":0}}`, string(resp.Body),
		"deleting again is fine and says nothing went")

	resp = s.Do(t, key, http.MethodDelete, storagePath("u", ""), nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.JSONEq(t, `{"deleted":{"assignments":2,"conversions":0,"persistedValues":1,"vwoFmeRecords":0,"growthbookAssignments":0,"optimizelyDecisions":0}}`, string(resp.Body))
	resp = s.Do(t, key, http.MethodPost, "/v1/storage/batch-get", map[string]any{"userId": "u"})
	require.JSONEq(t, `{"records":[]}`, string(resp.Body))
	require.Equal(t, http.StatusNotFound, s.Do(t, key, http.MethodGet, "/v1/persisted-values?key=u:userID", nil).Status)

	_, status = getRecord(t, s, key, "keep", "c1")
	require.Equal(t, http.StatusOK, status, "other users are untouched")
	require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodGet, "/v1/persisted-values?key=keep:userID", nil).Status)
}

// Ten SDK instances store a first variation for one new user at once, five of them A and five
// B. With ifAbsent the first writer wins, and every caller is answered with the row that won,
// so each can use the stored variation instead of its own.
func TestConcurrentSetsIfAbsentAllAnswerTheRowThatWon(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	for round := range 5 {
		user := fmt.Sprintf("new-user-%d", round)
		answers := make([]record, 10)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				variation := []string{"A", "B"}[i%2]
				resp := s.Do(t, key, http.MethodPost, "/v1/storage", map[string]any{
					"userId": user, "campaignKey": "c", "variationName": variation, "goalIdentifier": "", "ifAbsent": true})
				if resp.Status == http.StatusOK {
					resp.Decode(t, &answers[i])
				}
			}()
		}
		close(start)
		wg.Wait()
		stored, status := getRecord(t, s, key, user, "c")
		require.Equal(t, http.StatusOK, status)
		for i, got := range answers {
			require.Equal(t, stored, got, "%s: caller %d was told another row than the one stored", user, i)
		}
	}
}

// ifAbsent never replaces a stored variation, alone or in a batch: a record of another
// variation changes nothing and is answered with the stored row; one of the stored variation
// adds its goals, as a plain set does.
func TestSetIfAbsentKeepsTheStoredVariation(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	set := func(body map[string]any) record {
		t.Helper()
		resp := s.Do(t, key, http.MethodPost, "/v1/storage", body)
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		var r record
		resp.Decode(t, &r)
		return r
	}
	first := set(map[string]any{"userId": "u", "campaignKey": "c", "variationName": "A", "goalIdentifier": "g1", "ifAbsent": true})
	require.Equal(t, record{UserID: "u", CampaignKey: "c", VariationName: "A", GoalIdentifier: "g1"}, first, "absent: stored")

	lost := set(map[string]any{"userId": "u", "campaignKey": "c", "variationName": "B", "goalIdentifier": "g2", "ifAbsent": true})
	require.Equal(t, first, lost, "another variation: the stored row, unchanged")

	merged := set(map[string]any{"userId": "u", "campaignKey": "c", "variationName": "A", "goalIdentifier": "g3", "ifAbsent": true})
	require.Equal(t, "g1_vwo_g3", merged.GoalIdentifier, "the stored variation: goals join")

	resp := s.Do(t, key, http.MethodPost, "/v1/storage/batch-set", map[string]any{"ifAbsent": true, "records": []record{
		{UserID: "u", CampaignKey: "c", VariationName: "B"},
		{UserID: "v", CampaignKey: "c", VariationName: "B"},
	}})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var batch records
	resp.Decode(t, &batch)
	require.Equal(t, []record{merged, {UserID: "v", CampaignKey: "c", VariationName: "B"}}, batch.Records)

	replaced := set(map[string]any{"userId": "u", "campaignKey": "c", "variationName": "B", "goalIdentifier": ""})
	require.Equal(t, "B", replaced.VariationName, "without ifAbsent a set still replaces the variation")

	for name, body := range map[string]string{
		"ifAbsent not a bool":           `{"userId":"u","campaignKey":"c","variationName":"A","ifAbsent":"yes"}`,
		"ifAbsent on a record of batch": `{"records":[{"userId":"u","campaignKey":"c","variationName":"A","ifAbsent":true}]}`,
	} {
		path := "/v1/storage"
		if strings.HasPrefix(body, `{"records"`) {
			path += "/batch-set"
		}
		require.Equal(t, http.StatusBadRequest, s.Do(t, key, http.MethodPost, path, body).Status, name)
	}
}
