package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
)

func fmePath(featureKey, userID string) string {
	return "/v1/vwo-fme/storage?" + url.Values{"featureKey": {featureKey}, "userId": {userID}}.Encode()
}

func stickyBucketsPath(name, value string) string {
	return "/v1/growthbook/sticky-buckets?" + url.Values{"attributeName": {name}, "attributeValue": {value}}.Encode()
}

// stickyDoc is GrowthBook's StickyBucketAssignmentDoc.
type stickyDoc struct {
	AttributeName  string            `json:"attributeName"`
	AttributeValue string            `json:"attributeValue"`
	Assignments    map[string]string `json:"assignments"`
}

// profile is an Optimizely Agent user profile; bucket builds its experiment bucket map.
type profile struct {
	UserID              string                       `json:"user_id"`
	ExperimentBucketMap map[string]map[string]string `json:"experiment_bucket_map"`
}

func bucket(experimentToVariation ...string) map[string]map[string]string {
	m := map[string]map[string]string{}
	for i := 0; i < len(experimentToVariation); i += 2 {
		m[experimentToVariation[i]] = map[string]string{"variation_id": experimentToVariation[i+1]}
	}
	return m
}

func lookupProfile(t *testing.T, s *apitest.Server, key, userID string) profile {
	t.Helper()
	resp := s.Do(t, key, http.MethodPost, "/v1/optimizely/profiles/lookup", map[string]string{"user_id": userID})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var p profile
	resp.Decode(t, &p)
	return p
}

func TestVWOFMERecordIsStoredWholeAndReplacedWhole(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	require.Equal(t, http.StatusNotFound, s.Do(t, key, http.MethodGet, fmePath("checkout", "user-1"), nil).Status)

	// What the Go SDK saves, plus what newer SDKs add; numbers stay exactly as written.
	first := `{"featureKey":"checkout","userId":"user-1","featureId":12,"rolloutId":3,"rolloutKey":"checkout_rollout1",
		"rolloutVariationId":1,"experimentId":4,"experimentKey":"checkout_test1","experimentVariationId":2,
		"isInHoldoutId":[7,8],"notInHoldoutId":[],"big":12345678901234567890,"nested":{"a":[1.50,null,true]}}`
	resp := s.Do(t, key, http.MethodPost, "/v1/vwo-fme/storage", first)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.JSONEq(t, first, string(resp.Body), "the answer is the object as stored")
	resp = s.Do(t, key, http.MethodGet, fmePath("checkout", "user-1"), nil)
	require.Equal(t, http.StatusOK, resp.Status)
	require.JSONEq(t, first, string(resp.Body))
	require.Contains(t, string(resp.Body), `12345678901234567890`, "a large integer is not rounded")
	require.Contains(t, string(resp.Body), `1.50`, "nor are decimals reformatted")

	// A save replaces the record whole: fields it leaves out are gone.
	second := `{"featureKey":"checkout","userId":"user-1","featureId":12,"rolloutId":3,"rolloutKey":"checkout_rollout1","rolloutVariationId":1}`
	require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodPost, "/v1/vwo-fme/storage", second).Status)
	resp = s.Do(t, key, http.MethodGet, fmePath("checkout", "user-1"), nil)
	require.JSONEq(t, second, string(resp.Body))

	// Groups' records and other features are records of their own.
	meg := `{"featureKey":"_vwo_meta_meg_5","userId":"user-1","experimentId":9,"experimentKey":"campaign9","experimentVariationId":1}`
	require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodPost, "/v1/vwo-fme/storage", meg).Status)
	resp = s.Do(t, key, http.MethodGet, fmePath("_vwo_meta_meg_5", "user-1"), nil)
	require.JSONEq(t, meg, string(resp.Body))
	resp = s.Do(t, key, http.MethodGet, fmePath("checkout", "user-1"), nil)
	require.JSONEq(t, second, string(resp.Body))
	require.Equal(t, http.StatusNotFound, s.Do(t, key, http.MethodGet, fmePath("checkout", "user-2"), nil).Status)
}

func TestGrowthBookSaveUpsertsEntriesAndKeepsTheOthers(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	require.Equal(t, http.StatusNotFound, s.Do(t, key, http.MethodGet, stickyBucketsPath("id", "user-1"), nil).Status)

	save := func(doc stickyDoc, want map[string]string) {
		t.Helper()
		resp := s.Do(t, key, http.MethodPut, "/v1/growthbook/sticky-buckets", doc)
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		var got stickyDoc
		resp.Decode(t, &got)
		require.Equal(t, stickyDoc{AttributeName: doc.AttributeName, AttributeValue: doc.AttributeValue, Assignments: want}, got,
			"the answer is the whole document as it now stands")
	}
	save(stickyDoc{"id", "user-1", map[string]string{"checkout__0": "1"}}, map[string]string{"checkout__0": "1"})
	// Another process, that never read checkout's entry, adds its own experiment.
	save(stickyDoc{"id", "user-1", map[string]string{"pricing__0": "control"}},
		map[string]string{"checkout__0": "1", "pricing__0": "control"})
	// A re-bucketed variation replaces its entry only.
	save(stickyDoc{"id", "user-1", map[string]string{"checkout__0": "0", "checkout__1": "2"}},
		map[string]string{"checkout__0": "0", "checkout__1": "2", "pricing__0": "control"})
	save(stickyDoc{"deviceId", "d-7", map[string]string{}}, map[string]string{})
	save(stickyDoc{"deviceId", "user-1", map[string]string{"checkout__0": "1"}}, map[string]string{"checkout__0": "1"})

	resp := s.Do(t, key, http.MethodGet, stickyBucketsPath("id", "user-1"), nil)
	require.Equal(t, http.StatusOK, resp.Status)
	require.JSONEq(t, `{"attributeName":"id","attributeValue":"user-1",
		"assignments":{"checkout__0":"0","checkout__1":"2","pricing__0":"control"}}`, string(resp.Body))
	require.Equal(t, http.StatusNotFound, s.Do(t, key, http.MethodGet, stickyBucketsPath("deviceId", "d-7"), nil).Status,
		"a document without entries is not stored")

	resp = s.Do(t, key, http.MethodPost, "/v1/growthbook/sticky-buckets/batch-get",
		`{"attributes":{"id":"user-1","deviceId":"user-1","company":"acme-inc"}}`)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.JSONEq(t, `{"documents":{
		"id||user-1":{"attributeName":"id","attributeValue":"user-1","assignments":{"checkout__0":"0","checkout__1":"2","pricing__0":"control"}},
		"deviceId||user-1":{"attributeName":"deviceId","attributeValue":"user-1","assignments":{"checkout__0":"1"}}}}`,
		string(resp.Body), "documents by \"<name>||<value>\"; attributes without entries are absent")
	resp = s.Do(t, key, http.MethodPost, "/v1/growthbook/sticky-buckets/batch-get", `{"attributes":{}}`)
	require.JSONEq(t, `{"documents":{}}`, string(resp.Body))
}

// agentRequest sends a body as Optimizely Agent's REST user profile service does: POST, JSON,
// Content-Type and Accept application/json, headers from its configuration.
func agentRequest(t *testing.T, s *apitest.Server, key, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	return resp.StatusCode, string(b)
}

// TestOptimizelyAgentContractGoldenBodies: the bodies are byte for byte what Optimizely Agent
// sends (Go's encoding of its map: keys in order, no spaces) and what uss answers.
func TestOptimizelyAgentContractGoldenBodies(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	const lookup, save = "/v1/optimizely/profiles/lookup", "/v1/optimizely/profiles/save"
	for _, step := range []struct{ name, path, request, answer string }{
		{"an unknown user has an empty profile", lookup,
			`{"user_id":"user-1"}`,
			`{"user_id":"user-1","experiment_bucket_map":{}}` + "\n"},
		{"a profile with several experiments", save,
			`{"experiment_bucket_map":{"10390977673":{"variation_id":"10416523162"},"10420810910":{"variation_id":"10418551353"}},"user_id":"user-1"}`,
			`{"user_id":"user-1","experiment_bucket_map":{"10390977673":{"variation_id":"10416523162"},"10420810910":{"variation_id":"10418551353"}}}` + "\n"},
		{"is read back", lookup,
			`{"user_id":"user-1"}`,
			`{"user_id":"user-1","experiment_bucket_map":{"10390977673":{"variation_id":"10416523162"},"10420810910":{"variation_id":"10418551353"}}}` + "\n"},
		{"a second save adds an experiment (another Agent node read the profile before the first save)", save,
			`{"experiment_bucket_map":{"11111111111":{"variation_id":"22222222222"}},"user_id":"user-1"}`,
			`{"user_id":"user-1","experiment_bucket_map":{"10390977673":{"variation_id":"10416523162"},"10420810910":{"variation_id":"10418551353"},"11111111111":{"variation_id":"22222222222"}}}` + "\n"},
		{"and every experiment is kept", lookup,
			`{"user_id":"user-1"}`,
			`{"user_id":"user-1","experiment_bucket_map":{"10390977673":{"variation_id":"10416523162"},"10420810910":{"variation_id":"10418551353"},"11111111111":{"variation_id":"22222222222"}}}` + "\n"},
		{"a save of a changed variation changes that experiment only", save,
			`{"experiment_bucket_map":{"10390977673":{"variation_id":"10416523999"},"10420810910":{"variation_id":"10418551353"},"11111111111":{"variation_id":"22222222222"}},"user_id":"user-1"}`,
			`{"user_id":"user-1","experiment_bucket_map":{"10390977673":{"variation_id":"10416523999"},"10420810910":{"variation_id":"10418551353"},"11111111111":{"variation_id":"22222222222"}}}` + "\n"},
		{"other users are apart", lookup,
			`{"user_id":"user-2"}`,
			`{"user_id":"user-2","experiment_bucket_map":{}}` + "\n"},
	} {
		status, answer := agentRequest(t, s, key, step.path, step.request)
		require.Equal(t, http.StatusOK, status, "%s: %s", step.name, answer)
		require.Equal(t, step.answer, answer, step.name)
	}
}

func TestEraseAlsoRemovesTheUsersVendorRecords(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	ok := func(resp apitest.Response) {
		t.Helper()
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	}
	for _, u := range []string{"u", "keep"} {
		ok(s.Do(t, key, http.MethodPost, "/v1/storage", record{UserID: u, CampaignKey: "c", VariationName: "V"}))
		for _, f := range []string{"checkout", "_vwo_meta_meg_2"} {
			ok(s.Do(t, key, http.MethodPost, "/v1/vwo-fme/storage", map[string]any{"featureKey": f, "userId": u, "featureId": 1}))
		}
		ok(s.Do(t, key, http.MethodPut, "/v1/growthbook/sticky-buckets", stickyDoc{"id", u, map[string]string{"a__0": "1", "b__0": "0"}}))
		ok(s.Do(t, key, http.MethodPut, "/v1/growthbook/sticky-buckets", stickyDoc{"deviceId", u, map[string]string{"a__0": "1"}}))
		ok(s.Do(t, key, http.MethodPost, "/v1/optimizely/profiles/save", profile{u, bucket("e1", "v1", "e2", "v2", "e3", "v3")}))
	}
	// Matched by attribute value, whatever the attribute; another value is another user.
	ok(s.Do(t, key, http.MethodPut, "/v1/growthbook/sticky-buckets", stickyDoc{"company", "u-corp", map[string]string{"a__0": "1"}}))

	resp := s.Do(t, key, http.MethodDelete, storagePath("u", ""), nil)
	ok(resp)
	require.JSONEq(t, `{"deleted":{"assignments":1,"conversions":0,"persistedValues":0,
		"vwoFmeRecords":2,"growthbookAssignments":3,"optimizelyDecisions":3}}`, string(resp.Body))
	require.Equal(t, http.StatusNotFound, s.Do(t, key, http.MethodGet, fmePath("checkout", "u"), nil).Status)
	require.Equal(t, http.StatusNotFound, s.Do(t, key, http.MethodGet, fmePath("_vwo_meta_meg_2", "u"), nil).Status)
	require.Equal(t, http.StatusNotFound, s.Do(t, key, http.MethodGet, stickyBucketsPath("id", "u"), nil).Status)
	require.Equal(t, http.StatusNotFound, s.Do(t, key, http.MethodGet, stickyBucketsPath("deviceId", "u"), nil).Status)
	require.Empty(t, lookupProfile(t, s, key, "u").ExperimentBucketMap)

	require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodGet, fmePath("checkout", "keep"), nil).Status, "other users are untouched")
	require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodGet, stickyBucketsPath("deviceId", "keep"), nil).Status)
	require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodGet, stickyBucketsPath("company", "u-corp"), nil).Status)
	require.Len(t, lookupProfile(t, s, key, "keep").ExperimentBucketMap, 3)

	resp = s.Do(t, key, http.MethodDelete, storagePath("u", ""), nil)
	require.JSONEq(t, `{"deleted":{"assignments":0,"conversions":0,"persistedValues":0,
		"vwoFmeRecords":0,"growthbookAssignments":0,"optimizelyDecisions":0}}`, string(resp.Body))
}

func TestAnotherAccountCanNeitherReadNorOverwriteVendorRecords(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	a, b := s.NewKey(t, "acme"), s.NewKey(t, "other")
	fme := `{"featureKey":"f","userId":"u","featureId":1,"experimentKey":"f_e","experimentVariationId":2}`
	require.Equal(t, http.StatusOK, s.Do(t, a, http.MethodPost, "/v1/vwo-fme/storage", fme).Status)
	require.Equal(t, http.StatusOK, s.Do(t, a, http.MethodPut, "/v1/growthbook/sticky-buckets", stickyDoc{"id", "u", map[string]string{"e__0": "1"}}).Status)
	require.Equal(t, http.StatusOK, s.Do(t, a, http.MethodPost, "/v1/optimizely/profiles/save", profile{"u", bucket("e", "v")}).Status)
	before := s.Snapshot(t)

	// The other account sees nothing ...
	resp := s.Do(t, b, http.MethodGet, fmePath("f", "u"), nil)
	require.Equal(t, http.StatusNotFound, resp.Status)
	require.Equal(t, "not_found", resp.ErrorCode(t))
	resp = s.Do(t, b, http.MethodGet, stickyBucketsPath("id", "u"), nil)
	require.Equal(t, http.StatusNotFound, resp.Status)
	require.Equal(t, "not_found", resp.ErrorCode(t))
	resp = s.Do(t, b, http.MethodPost, "/v1/growthbook/sticky-buckets/batch-get", `{"attributes":{"id":"u"}}`)
	require.JSONEq(t, `{"documents":{}}`, string(resp.Body))
	require.Empty(t, lookupProfile(t, s, b, "u").ExperimentBucketMap)
	// ... and erases nothing of it.
	resp = s.Do(t, b, http.MethodDelete, storagePath("u", ""), nil)
	require.JSONEq(t, `{"deleted":{"assignments":0,"conversions":0,"persistedValues":0,
		"vwoFmeRecords":0,"growthbookAssignments":0,"optimizelyDecisions":0}}`, string(resp.Body))
	require.Equal(t, before, s.Snapshot(t))

	// Its writes land in its own account.
	require.Equal(t, http.StatusOK, s.Do(t, b, http.MethodPost, "/v1/vwo-fme/storage", `{"featureKey":"f","userId":"u"}`).Status)
	require.Equal(t, http.StatusOK, s.Do(t, b, http.MethodPut, "/v1/growthbook/sticky-buckets", stickyDoc{"id", "u", map[string]string{"e__0": "0"}}).Status)
	require.Equal(t, http.StatusOK, s.Do(t, b, http.MethodPost, "/v1/optimizely/profiles/save", profile{"u", bucket("e", "other")}).Status)
	resp = s.Do(t, a, http.MethodGet, fmePath("f", "u"), nil)
	require.JSONEq(t, fme, string(resp.Body))
	resp = s.Do(t, a, http.MethodGet, stickyBucketsPath("id", "u"), nil)
	require.JSONEq(t, `{"attributeName":"id","attributeValue":"u","assignments":{"e__0":"1"}}`, string(resp.Body))
	require.Equal(t, bucket("e", "v"), lookupProfile(t, s, a, "u").ExperimentBucketMap)
	require.Equal(t, bucket("e", "other"), lookupProfile(t, s, b, "u").ExperimentBucketMap)
}

// TestConcurrentSavesOfOneUserKeepEveryEntry: many writers each save a document or profile
// holding only their own experiment for the same user at the same moment, as SDK instances
// that read before any of the others saved would. Every experiment is kept.
func TestConcurrentSavesOfOneUserKeepEveryEntry(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	const users, writers = 20, 8
	for u := range users {
		user := fmt.Sprint("user-", u)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range writers {
			wg.Go(func() {
				<-start
				exp := fmt.Sprint("exp-", w)
				gb := s.Do(t, key, http.MethodPut, "/v1/growthbook/sticky-buckets", stickyDoc{"id", user, map[string]string{exp + "__0": "1"}})
				op := s.Do(t, key, http.MethodPost, "/v1/optimizely/profiles/save", profile{user, bucket(exp, "v")})
				if gb.Status != http.StatusOK || op.Status != http.StatusOK {
					t.Errorf("%s writer %d: %d %s / %d %s", user, w, gb.Status, gb.Body, op.Status, op.Body)
				}
			})
		}
		close(start)
		wg.Wait()
		resp := s.Do(t, key, http.MethodGet, stickyBucketsPath("id", user), nil)
		var doc stickyDoc
		resp.Decode(t, &doc)
		require.Len(t, doc.Assignments, writers, "%s: %s", user, resp.Body)
		require.Len(t, lookupProfile(t, s, key, user).ExperimentBucketMap, writers, user)
	}
}

func TestVendorReportViewsCountUsersPerVariation(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	other := s.NewKey(t, "other")
	ok := func(resp apitest.Response) {
		t.Helper()
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	}
	for i := range 5 {
		u := fmt.Sprint("user-", i)
		variation := 1 + i%2 // users 0, 2, 4 in 1; 1, 3 in 2
		ok(s.Do(t, key, http.MethodPost, "/v1/vwo-fme/storage", map[string]any{"featureKey": "checkout", "userId": u, "featureId": 3,
			"rolloutId": 1, "rolloutKey": "checkout_rollout", "rolloutVariationId": 1,
			"experimentId": 2, "experimentKey": "checkout_test", "experimentVariationId": variation}))
		ok(s.Do(t, key, http.MethodPost, "/v1/vwo-fme/storage", map[string]any{"featureKey": "_vwo_meta_meg_1", "userId": u,
			"experimentId": 2, "experimentKey": "checkout_test", "experimentVariationId": 1}))
		ok(s.Do(t, key, http.MethodPut, "/v1/growthbook/sticky-buckets", stickyDoc{"id", u,
			map[string]string{"checkout__0": fmt.Sprint(variation - 1), "my__exp__12": "a"}}))
		ok(s.Do(t, key, http.MethodPost, "/v1/optimizely/profiles/save", profile{u, bucket("100", fmt.Sprint(200+variation))}))
	}
	ok(s.Do(t, other, http.MethodPost, "/v1/optimizely/profiles/save", profile{"x", bucket("100", "201")}))

	conn, err := pgx.Connect(context.Background(), s.DatabaseURL)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	rows := func(sql string) []string {
		t.Helper()
		r, err := conn.Query(context.Background(), sql)
		require.NoError(t, err)
		var out []string
		for r.Next() {
			vals, err := r.Values()
			require.NoError(t, err)
			cols := make([]string, len(vals))
			for i, v := range vals {
				cols[i] = fmt.Sprint(v)
			}
			out = append(out, strings.Join(cols, " "))
		}
		require.NoError(t, r.Err())
		return out
	}
	const acme = `account_id = (SELECT account_id FROM accounts WHERE name = 'acme')`
	require.Equal(t, []string{
		"checkout experiment checkout_test 1 3",
		"checkout experiment checkout_test 2 2",
		"checkout rollout checkout_rollout 1 5",
	}, rows(`SELECT feature_key, rule_type, rule_key, variation_id, users FROM report_vwo_fme_users
		WHERE `+acme+` ORDER BY 1, 2, 3, 4`), "group records are left out")
	require.Equal(t, []string{
		"id checkout 0 0 3",
		"id checkout 0 1 2",
		"id my__exp 12 a 5",
	}, rows(`SELECT attribute_name, experiment_key, bucket_version::text, variation_key, users
		FROM report_growthbook_users WHERE `+acme+` ORDER BY 2, 4`), "the version is split at the last __")
	require.Equal(t, []string{"100 201 3", "100 202 2"}, rows(`SELECT experiment_id, variation_id, users
		FROM report_optimizely_users WHERE `+acme+` ORDER BY 2`))
}

func TestVendorLookupsAndSavesAreCounted(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	s.Do(t, key, http.MethodGet, fmePath("f", "u"), nil)
	s.Do(t, key, http.MethodPost, "/v1/vwo-fme/storage", `{"featureKey":"f","userId":"u"}`)
	s.Do(t, key, http.MethodGet, fmePath("f", "u"), nil)
	s.Do(t, key, http.MethodPut, "/v1/growthbook/sticky-buckets", stickyDoc{"id", "u", map[string]string{"e__0": "1"}})
	s.Do(t, key, http.MethodPost, "/v1/growthbook/sticky-buckets/batch-get", `{"attributes":{"id":"u","deviceId":"d","company":"c"}}`)
	s.Do(t, key, http.MethodGet, stickyBucketsPath("id", "u"), nil)
	lookupProfile(t, s, key, "u")
	s.Do(t, key, http.MethodPost, "/v1/optimizely/profiles/save", profile{"u", bucket("e", "v")})
	s.Do(t, key, http.MethodPost, "/v1/optimizely/profiles/save", profile{"u", bucket("e", "v")})
	lookupProfile(t, s, key, "u")

	body := string(s.Do(t, "", http.MethodGet, "/metrics", nil).Body)
	for _, line := range []string{
		`uss_vendor_lookups_total{result="miss",vendor="vwo_fme"} 1`,
		`uss_vendor_lookups_total{result="hit",vendor="vwo_fme"} 1`,
		`uss_vendor_saves_total{vendor="vwo_fme"} 1`,
		`uss_vendor_lookups_total{result="hit",vendor="growthbook"} 2`,
		`uss_vendor_lookups_total{result="miss",vendor="growthbook"} 2`,
		`uss_vendor_saves_total{vendor="growthbook"} 1`,
		`uss_vendor_lookups_total{result="miss",vendor="optimizely"} 1`,
		`uss_vendor_lookups_total{result="hit",vendor="optimizely"} 1`,
		`uss_vendor_saves_total{vendor="optimizely"} 2`,
	} {
		require.Contains(t, body, line+"\n")
	}
}
