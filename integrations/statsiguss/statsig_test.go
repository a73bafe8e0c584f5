package statsiguss_test

import (
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	statsig "github.com/statsig-io/go-sdk"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/client"
	"github.com/uss/uss/integrations/statsiguss"
	"github.com/uss/uss/internal/apitest"
)

// These tests run the real Statsig Go SDK (offline: LocalMode with bootstrapped specs)
// against real uss servers on a real PostgreSQL, and check what the SDK returned against
// what uss stored.

func userKey(u string) string { return u + ":userID" }

func TestSavedValuesAreInUssAndAnotherServerKeepsThemAfterTheAllocationChanges(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	controlUsers, testUsers := usersIn(t, "Control", 4), usersIn(t, "Test", 4)

	storeA, logA := newStorage(t, s.URL, apiKey)
	a := newSDK(t, specs(true, 500, 1000), storeA)
	for _, u := range controlUsers {
		require.Empty(t, a.GetUserPersistedValues(statsig.User{UserID: u}, "userID"), "nothing saved yet for %s", u)
		got := evaluate(a, statsig.User{UserID: u}, experiment, "userID")
		require.Equal(t, "Control", got.GroupName)
		requireSaved(t, s, apiKey, userKey(u), got)
	}
	for _, u := range testUsers {
		got := evaluate(a, statsig.User{UserID: u}, experiment, "userID")
		require.Equal(t, "Test", got.GroupName)
		requireSaved(t, s, apiKey, userKey(u), got)
	}
	// Other unit types are saved under their own key.
	company := statsig.User{UserID: "u1", CustomIDs: map[string]string{"companyID": "acme corp"}}
	companyGot := evaluate(a, company, "company_test", "companyID")
	require.NotEmpty(t, companyGot.GroupName)
	requireSaved(t, s, apiKey, "acme corp:companyID", companyGot)

	// Another server: its own SDK, started after the allocation moved everyone to Test, and
	// its own uss process on the same database.
	s2 := apitest.StartOn(t, s.DatabaseURL)
	storeB, logB := newStorage(t, s2.URL, apiKey)
	b := newSDK(t, specs(true, 0, 1000), storeB)
	for _, u := range controlUsers {
		user := statsig.User{UserID: u}
		pv := b.GetUserPersistedValues(user, "userID")
		require.Equal(t, "Control", pv[experiment].GroupName, "%s's saved group loads", u)
		got := b.GetExperimentWithOptions(user, experiment, &statsig.GetExperimentOptions{PersistedValues: pv})
		require.Equal(t, "Control", got.GroupName, "%s keeps the saved group", u)
		require.Equal(t, "rule_control", got.RuleID)
		require.Equal(t, map[string]any{"color": "blue"}, got.Value)
		require.Equal(t, statsig.ReasonPersisted, got.EvaluationDetails.Reason)
		requireSaved(t, s, apiKey, userKey(u), got)
	}
	got := evaluate(b, statsig.User{UserID: "newcomer"}, experiment, "userID")
	require.Equal(t, "Test", got.GroupName, "a new user gets today's allocation")
	requireSaved(t, s, apiKey, userKey("newcomer"), got)
	got = evaluate(b, company, "company_test", "companyID")
	require.Equal(t, companyGot.GroupName, got.GroupName)
	require.Zero(t, logA.Len())
	require.Zero(t, logB.Len())
}

// The SDK's own rules, which users must know: an evaluation without persisted values, or of
// an experiment that is no longer active, deletes the saved value.
func TestTheSDKDeletesSavedValuesWhenEvaluatedWithoutThemOrWhenTheExperimentEnds(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	storage, log := newStorage(t, s.URL, apiKey)
	running := newSDK(t, specs(true, 500, 1000), storage)
	user := statsig.User{UserID: "user-1"}

	requireSaved(t, s, apiKey, userKey("user-1"), evaluate(running, user, experiment, "userID"))
	running.GetExperiment(user, experiment)
	_, ok := persisted(t, s, apiKey, userKey("user-1"), experiment)
	require.False(t, ok, "GetExperiment without persisted values deleted it")

	requireSaved(t, s, apiKey, userKey("user-1"), evaluate(running, user, experiment, "userID"))
	ended := newSDK(t, specs(false, 500, 1000), storage)
	got := evaluate(ended, user, experiment, "userID")
	require.NotEqual(t, statsig.ReasonPersisted, got.EvaluationDetails.Reason)
	_, ok = persisted(t, s, apiKey, userKey("user-1"), experiment)
	require.False(t, ok, "an inactive experiment deleted it")
	require.Zero(t, log.Len())
}

func TestUnreachableUssFailsOpenAndNeverOverwritesTheSavedGroup(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	ussURL, err := url.Parse(s.URL)
	require.NoError(t, err)
	// The adapters reach uss through a TCP proxy the test can cut; assertions read uss directly.
	proxy := apitest.NewProxy(t, ussURL.Host)
	viaProxy := "http://" + proxy.Addr()
	controlUsers := usersIn(t, "Control", 3)
	clock := newFakeClock()
	storage, log := newStorage(t, viaProxy, apiKey, statsiguss.WithClock(clock.now))
	// One SDK whose allocation moved everyone to Test after the users were saved in Control.
	sdk := newSDK(t, specs(true, 0, 1000), storage)
	saved := map[string]sticky{}
	for _, u := range controlUsers {
		require.NoError(t, newClient(t, s.URL, apiKey).SavePersistedValue(t.Context(), userKey(u), experiment, statsig.StickyValues{
			Value: true, JsonValue: map[string]any{"color": "blue"}, RuleID: "rule_control", GroupName: "Control", Time: 1,
		}))
		saved[u], _ = persisted(t, s, apiKey, userKey(u), experiment)
	}
	requireAllKept := func() {
		t.Helper()
		for _, u := range controlUsers {
			v, ok := persisted(t, s, apiKey, userKey(u), experiment)
			require.True(t, ok, "%s's saved value is still there", u)
			require.Equal(t, saved[u], v)
		}
	}

	proxy.Break()
	// uss unreachable: the SDK still evaluates, as if nothing were saved, and writes nothing.
	u0 := statsig.User{UserID: controlUsers[0]}
	pv := sdk.GetUserPersistedValues(u0, "userID")
	require.NotNil(t, pv)
	require.Empty(t, pv)
	require.Equal(t, "Test", sdk.GetExperimentWithOptions(u0, experiment, &statsig.GetExperimentOptions{PersistedValues: pv}).GroupName)
	require.Equal(t, "Test", evaluate(sdk, statsig.User{UserID: "newcomer"}, experiment, "userID").GroupName)
	require.Equal(t, 2, log.Count(client.ErrUnavailable))
	require.Equal(t, 2, log.Count(statsiguss.ErrWriteSkipped), "both Saves dropped")

	// uss answers again between the failed load and the SDK's writes: they are still dropped.
	var restore sync.Once
	log.Then(func(err error) {
		if errors.Is(err, client.ErrUnavailable) {
			restore.Do(proxy.Restore)
		}
	})
	require.Equal(t, "Test", evaluate(sdk, statsig.User{UserID: controlUsers[1]}, experiment, "userID").GroupName)
	require.Equal(t, 3, log.Count(client.ErrUnavailable))
	require.Equal(t, 3, log.Count(statsiguss.ErrWriteSkipped))
	// A Delete (the SDK's answer to an evaluation without persisted values) is dropped too.
	require.Equal(t, "Test", sdk.GetExperiment(u0, experiment).GroupName)
	require.Equal(t, 4, log.Count(statsiguss.ErrWriteSkipped))
	requireAllKept()
	_, ok := persisted(t, s, apiKey, userKey("newcomer"), experiment)
	require.False(t, ok)

	// Once uss answers, the saved groups are back.
	for _, u := range controlUsers {
		got := evaluate(sdk, statsig.User{UserID: u}, experiment, "userID")
		require.Equal(t, "Control", got.GroupName)
		require.Equal(t, statsig.ReasonPersisted, got.EvaluationDetails.Reason)
	}
	// After the failed-read memory, the SDK's writes reach uss again.
	clock.advance(time.Minute)
	got := evaluate(sdk, statsig.User{UserID: "newcomer"}, experiment, "userID")
	requireSaved(t, s, apiKey, userKey("newcomer"), got)
	requireAllKept()
	require.Equal(t, 3, log.Count(client.ErrUnavailable))
	require.Equal(t, 4, log.Count(statsiguss.ErrWriteSkipped))
	require.Equal(t, 7, log.Len(), "no other error")
}

func TestAValueThatDoesNotDecodeIsNotOverwritten(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	apiKey := s.NewKey(t, "acme")
	c := newClient(t, s.URL, apiKey)
	// A value another writer saved in a shape this SDK cannot read.
	require.NoError(t, c.SavePersistedValue(t.Context(), userKey("user-1"), experiment, map[string]any{"group_name": 42}))
	storage, log := newStorage(t, s.URL, apiKey)
	sdk := newSDK(t, specs(true, 500, 1000), storage)
	got := evaluate(sdk, statsig.User{UserID: "user-1"}, experiment, "userID")
	require.NotEmpty(t, got.GroupName, "the SDK still decides")
	values, err := c.LoadPersistedValues(t.Context(), userKey("user-1"))
	require.NoError(t, err)
	require.JSONEq(t, `{"group_name":42}`, string(values[experiment]))
	require.Equal(t, 2, log.Len(), "the decode failure and the dropped Save")
	require.Equal(t, 1, log.Count(statsiguss.ErrWriteSkipped))
}

func newClient(t testing.TB, baseURL, apiKey string) *client.Client {
	t.Helper()
	c, err := client.New(baseURL, apiKey)
	require.NoError(t, err)
	return c
}
