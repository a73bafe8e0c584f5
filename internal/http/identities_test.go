package httpapi_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
)

type merged struct {
	Copied int64 `json:"copied"`
	Kept   int64 `json:"kept"`
}

func merge(t *testing.T, s *apitest.Server, key string, body map[string]any) merged {
	t.Helper()
	resp := s.Do(t, key, http.MethodPost, "/v1/identities/merge", body)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var m merged
	resp.Decode(t, &m)
	return m
}

func set(t *testing.T, s *apitest.Server, key string, r record) {
	t.Helper()
	resp := s.Do(t, key, http.MethodPost, "/v1/storage", r)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
}

func savePersisted(t *testing.T, s *apitest.Server, key, storageKey, configName, value string) {
	t.Helper()
	resp := s.Do(t, key, http.MethodPut, persistedPath(storageKey, configName), value)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
}

func loadPersisted(t *testing.T, s *apitest.Server, key, storageKey string) map[string]any {
	t.Helper()
	resp := s.Do(t, key, http.MethodGet, "/v1/persisted-values?key="+storageKey, nil)
	if resp.Status == http.StatusNotFound {
		return nil
	}
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var out struct {
		Values map[string]any `json:"values"`
	}
	resp.Decode(t, &out)
	return out.Values
}

// anonymousAndKnown stores an anonymous visitor's rows and a known user's:
//
//	c1: anonymous only                      -> copied
//	c2: both, same variation, other goals   -> kept, goals merged
//	c3: both, different variations          -> kept as the known id has it
//	persisted e1: anonymous only -> copied; e2: both -> kept
func anonymousAndKnown(t *testing.T, s *apitest.Server, key string) {
	t.Helper()
	set(t, s, key, record{UserID: "anon", CampaignKey: "c1", VariationName: "Control", GoalIdentifier: "signup"})
	set(t, s, key, record{UserID: "anon", CampaignKey: "c2", VariationName: "Variation-1", GoalIdentifier: "signup"})
	set(t, s, key, record{UserID: "anon", CampaignKey: "c3", VariationName: "Control", GoalIdentifier: "purchase"})
	set(t, s, key, record{UserID: "known", CampaignKey: "c2", VariationName: "Variation-1", GoalIdentifier: "purchase"})
	set(t, s, key, record{UserID: "known", CampaignKey: "c3", VariationName: "Variation-1"})
	savePersisted(t, s, key, "anon:userID", "e1", `{"v":"anon-e1"}`)
	savePersisted(t, s, key, "anon:userID", "e2", `{"v":"anon-e2"}`)
	savePersisted(t, s, key, "known:userID", "e2", `{"v":"known-e2"}`)
}

func requireKnownAfterMerge(t *testing.T, s *apitest.Server, key string) {
	t.Helper()
	for campaign, want := range map[string]record{
		"c1": {UserID: "known", CampaignKey: "c1", VariationName: "Control", GoalIdentifier: "signup"},
		"c2": {UserID: "known", CampaignKey: "c2", VariationName: "Variation-1", GoalIdentifier: "purchase_vwo_signup"},
		"c3": {UserID: "known", CampaignKey: "c3", VariationName: "Variation-1"},
	} {
		got, status := getRecord(t, s, key, "known", campaign)
		require.Equal(t, http.StatusOK, status, campaign)
		require.Equal(t, want, got, campaign)
	}
	require.Equal(t, map[string]any{"e1": map[string]any{"v": "anon-e1"}, "e2": map[string]any{"v": "known-e2"}},
		loadPersisted(t, s, key, "known:userID"))
}

func TestMergeCopiesTheAnonymousRowsAndTheKnownIdWins(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	anonymousAndKnown(t, s, key)

	got := merge(t, s, key, map[string]any{"fromUserId": "anon", "toUserId": "known"})
	require.Equal(t, merged{Copied: 2, Kept: 3}, got, "c1 and e1 copied; c2, c3 and e2 kept")
	requireKnownAfterMerge(t, s, key)
	for _, c := range []string{"c1", "c2", "c3"} {
		_, status := getRecord(t, s, key, "anon", c)
		require.Equal(t, http.StatusOK, status, "the anonymous rows are kept without deleteSource")
	}
	require.Len(t, loadPersisted(t, s, key, "anon:userID"), 2)

	before := s.Snapshot(t)
	again := merge(t, s, key, map[string]any{"fromUserId": "anon", "toUserId": "known"})
	require.Equal(t, merged{Copied: 0, Kept: 5}, again)
	require.Equal(t, before, s.Snapshot(t), "repeating the merge changes nothing")
}

func TestMergeWithDeleteSourceMovesRowsExposuresAndConversions(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	putSettings(t, s, key, settingsJSON(campaignJSON("ab", 100, [2]float64{50, 50}, "")))
	// The anonymous visitor is activated twice and converts; the known id has nothing yet.
	first := decide(t, s, key, "activate", map[string]any{"campaignKey": "ab", "userId": "zz-anon"})
	decide(t, s, key, "activate", map[string]any{"campaignKey": "ab", "userId": "zz-anon"})
	track(t, s, key, map[string]any{"campaignKey": "ab", "userId": "zz-anon", "goalIdentifier": "signup"})
	anonymousAndKnown(t, s, key)

	// "zz-anon" sorts after "known", "anon" before it: both orders of locking are taken.
	for _, from := range []string{"zz-anon", "anon"} {
		merge(t, s, key, map[string]any{"fromUserId": from, "toUserId": "known", "deleteSource": true})
		require.Zero(t, s.Count(t, `SELECT count(*) FROM assignments WHERE user_id = $1`, from),
			"the source's assignments are gone")
	}
	requireKnownAfterMerge(t, s, key)
	require.Nil(t, loadPersisted(t, s, key, "anon:userID"), "the source's persisted values are gone")
	got, status := getRecord(t, s, key, "known", "ab")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, name(first), got.VariationName)
	require.Equal(t, "signup", got.GoalIdentifier)
	require.EqualValues(t, 2, exposures(t, s, "known", "ab"), "a move carries the exposures")
	require.Len(t, conversions(t, s, "known", "ab"), 1, "and the conversions")
	require.Empty(t, conversions(t, s, "zz-anon", "ab"))

	before := s.Snapshot(t)
	again := merge(t, s, key, map[string]any{"fromUserId": "anon", "toUserId": "known", "deleteSource": true})
	require.Equal(t, merged{}, again)
	require.Equal(t, before, s.Snapshot(t), "repeating the merge changes nothing")
}

func TestConcurrentMergesCopyEachRowOnce(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	const campaigns = 50
	var recs []record
	for c := range campaigns {
		recs = append(recs, record{UserID: "anon", CampaignKey: fmt.Sprintf("c%02d", c), VariationName: "Control",
			GoalIdentifier: fmt.Sprintf("g%d", c)})
	}
	require.Equal(t, http.StatusOK, s.Do(t, key, http.MethodPost, "/v1/storage/batch-set", records{Records: recs}).Status)

	for _, deleteSource := range []bool{false, true} {
		t.Run(fmt.Sprint("deleteSource=", deleteSource), func(t *testing.T) {
			to := fmt.Sprint("known-", deleteSource)
			var wg sync.WaitGroup
			answers, errs := make([]apitest.Response, 4), make([]error, 4)
			for i := range answers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					answers[i], errs[i] = s.Request(key, http.MethodPost, "/v1/identities/merge",
						map[string]any{"fromUserId": "anon", "toUserId": to, "deleteSource": deleteSource})
				}()
			}
			wg.Wait()
			results := make([]merged, len(answers))
			var copied int64
			for i, resp := range answers {
				require.NoError(t, errs[i])
				require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
				resp.Decode(t, &results[i])
				copied += results[i].Copied
			}
			require.EqualValues(t, campaigns, copied, "each row copied by exactly one of the merges: %v", results)
			for _, r := range recs {
				got, status := getRecord(t, s, key, to, r.CampaignKey)
				require.Equal(t, http.StatusOK, status)
				require.Equal(t, record{UserID: to, CampaignKey: r.CampaignKey, VariationName: "Control", GoalIdentifier: r.GoalIdentifier}, got)
			}
		})
	}
}

func TestBadMergesChangeNothing(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	anonymousAndKnown(t, s, key)
	before := s.Snapshot(t)
	for name, body := range map[string]string{
		"same ids":          `{"fromUserId":"anon","toUserId":"anon"}`,
		"missing toUserId":  `{"fromUserId":"anon"}`,
		"empty fromUserId":  `{"fromUserId":"","toUserId":"known"}`,
		"unknown field":     `{"fromUserId":"anon","toUserId":"known","force":true}`,
		"deleteSource text": `{"fromUserId":"anon","toUserId":"known","deleteSource":"yes"}`,
		"NUL in an id":      `{"fromUserId":"a\u0000","toUserId":"known"}`,
		"not JSON":          `fromUserId=anon`,
	} {
		resp := s.Do(t, key, http.MethodPost, "/v1/identities/merge", body)
		require.Equal(t, http.StatusBadRequest, resp.Status, "%s: %s", name, resp.Body)
		require.Equal(t, "invalid_argument", resp.ErrorCode(t), name)
	}
	require.Equal(t, before, s.Snapshot(t))
}

// The other SDKs' entries merge as assignments do: copied to the known id where it has none,
// the known id's own kept; with deleteSource the anonymous id's are gone.
func TestMergeCopiesTheOtherSDKsEntries(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	ok := func(resp apitest.Response) {
		t.Helper()
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	}
	ok(s.Do(t, key, http.MethodPost, "/v1/vwo-fme/storage", map[string]any{"featureKey": "checkout", "userId": "anon", "featureId": 1}))
	ok(s.Do(t, key, http.MethodPost, "/v1/vwo-fme/storage", map[string]any{"featureKey": "search", "userId": "anon", "featureId": 2}))
	ok(s.Do(t, key, http.MethodPost, "/v1/vwo-fme/storage", map[string]any{"featureKey": "search", "userId": "known", "featureId": 3}))
	ok(s.Do(t, key, http.MethodPut, "/v1/growthbook/sticky-buckets", stickyDoc{"id", "anon", map[string]string{"a__0": "1", "b__0": "0"}}))
	ok(s.Do(t, key, http.MethodPut, "/v1/growthbook/sticky-buckets", stickyDoc{"id", "known", map[string]string{"b__0": "1"}}))
	ok(s.Do(t, key, http.MethodPost, "/v1/optimizely/profiles/save", profile{"anon", bucket("e1", "v1", "e2", "v2")}))
	ok(s.Do(t, key, http.MethodPost, "/v1/optimizely/profiles/save", profile{"known", bucket("e2", "v9")}))

	got := merge(t, s, key, map[string]any{"fromUserId": "anon", "toUserId": "known", "deleteSource": true})
	require.Equal(t, merged{Copied: 3, Kept: 3}, got, "checkout, a__0 and e1 copied; search, b__0 and e2 kept")

	resp := s.Do(t, key, http.MethodGet, fmePath("checkout", "known"), nil)
	ok(resp)
	require.JSONEq(t, `{"featureKey":"checkout","userId":"known","featureId":1}`, string(resp.Body), "the record names the known id")
	resp = s.Do(t, key, http.MethodGet, fmePath("search", "known"), nil)
	ok(resp)
	require.JSONEq(t, `{"featureKey":"search","userId":"known","featureId":3}`, string(resp.Body))
	resp = s.Do(t, key, http.MethodGet, stickyBucketsPath("id", "known"), nil)
	ok(resp)
	require.JSONEq(t, `{"attributeName":"id","attributeValue":"known","assignments":{"a__0":"1","b__0":"1"}}`, string(resp.Body))
	require.Equal(t, bucket("e1", "v1", "e2", "v9"), lookupProfile(t, s, key, "known").ExperimentBucketMap)

	require.Equal(t, http.StatusNotFound, s.Do(t, key, http.MethodGet, fmePath("checkout", "anon"), nil).Status)
	require.Equal(t, http.StatusNotFound, s.Do(t, key, http.MethodGet, stickyBucketsPath("id", "anon"), nil).Status)
	require.Empty(t, lookupProfile(t, s, key, "anon").ExperimentBucketMap)
}
