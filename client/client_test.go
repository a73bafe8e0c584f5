package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/client"
	"github.com/uss/uss/internal/apitest"
	"github.com/uss/uss/internal/pgtest"
)

// newClient starts a uss server on a fresh database and returns a client of it.
func newClient(t *testing.T, opts ...client.Option) (*client.Client, *apitest.Server) {
	t.Helper()
	s := apitest.Start(t)
	c, err := client.New(s.URL, s.NewKey(t, "acme"), opts...)
	require.NoError(t, err)
	return c, s
}

func TestNewRefusesBadBaseURLsAndEmptyKeys(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"", "127.0.0.1:8080", "ftp://host", "http://", "http://host/?a=b", "http://host/#x", "http://%zz"} {
		_, err := client.New(base, "key")
		require.Error(t, err, base)
	}
	_, err := client.New("http://127.0.0.1:8080", "")
	require.Error(t, err)
	_, err = client.New("https://uss.example.com/prefix/", "key")
	require.NoError(t, err)
}

func TestAssignmentsRoundTripThroughARealServer(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	ctx := context.Background()

	stored, err := c.SetAssignment(ctx, client.Assignment{UserID: "user/1 ?&", CampaignKey: "checkout", VariationName: "Control"})
	require.NoError(t, err)
	require.Equal(t, client.Assignment{UserID: "user/1 ?&", CampaignKey: "checkout", VariationName: "Control"}, stored)

	stored, err = c.SetAssignment(ctx, client.Assignment{UserID: "user/1 ?&", CampaignKey: "checkout", VariationName: "Control", GoalIdentifier: "signup"})
	require.NoError(t, err)
	require.Equal(t, "signup", stored.GoalIdentifier)
	// Another writer that read before "signup" converted appends its own goal: both stay.
	stored, err = c.SetAssignment(ctx, client.Assignment{UserID: "user/1 ?&", CampaignKey: "checkout", VariationName: "Control", GoalIdentifier: "purchase"})
	require.NoError(t, err)
	require.Equal(t, "signup_vwo_purchase", stored.GoalIdentifier)

	got, err := c.GetAssignment(ctx, "user/1 ?&", "checkout")
	require.NoError(t, err)
	require.Equal(t, stored, got)
}

// Concurrent first writes of one user through the client: with the IfAbsent calls every caller
// gets the variation stored by the first.
func TestSetIfAbsentAnswersTheStoredVariation(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	ctx := context.Background()
	answers := make(chan client.Assignment, 10)
	errs := make(chan error, 10)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := c.SetAssignmentIfAbsent(ctx, client.Assignment{UserID: "new", CampaignKey: "c",
				VariationName: []string{"A", "B"}[i%2]})
			answers <- a
			errs <- err
		}()
	}
	wg.Wait()
	close(answers)
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	stored, err := c.GetAssignment(ctx, "new", "c")
	require.NoError(t, err)
	for a := range answers {
		require.Equal(t, stored, a)
	}

	batch, err := c.SetAssignmentsIfAbsent(ctx, []client.Assignment{
		{UserID: "new", CampaignKey: "c", VariationName: "C"},
		{UserID: "other", CampaignKey: "c", VariationName: "C"},
	})
	require.NoError(t, err)
	require.Equal(t, []client.Assignment{stored, {UserID: "other", CampaignKey: "c", VariationName: "C"}}, batch)
}

func TestBatchCallsStoreAllAndReadSomeOrAll(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	ctx := context.Background()
	in := []client.Assignment{
		{UserID: "u", CampaignKey: "c1", VariationName: "Control"},
		{UserID: "u", CampaignKey: "c2", VariationName: "Variation-1", GoalIdentifier: "g_vwo_h"},
		{UserID: "other", CampaignKey: "c1", VariationName: "Control"},
	}
	stored, err := c.SetAssignments(ctx, in)
	require.NoError(t, err)
	require.Equal(t, in, stored)

	all, err := c.GetAssignments(ctx, "u", nil)
	require.NoError(t, err)
	require.Equal(t, in[:2], all, "nil campaign keys: all of the user's campaigns")

	some, err := c.GetAssignments(ctx, "u", []string{"c2", "missing"})
	require.NoError(t, err)
	require.Equal(t, in[1:2], some, "missing campaigns are absent")

	none, err := c.GetAssignments(ctx, "u", []string{})
	require.NoError(t, err)
	require.Empty(t, none, "an empty list asks for nothing")

	_, err = c.SetAssignments(ctx, []client.Assignment{
		{UserID: "u", CampaignKey: "c3", VariationName: "Control"},
		{UserID: "u", CampaignKey: "c3", VariationName: "Variation-1"},
	})
	require.ErrorIs(t, err, client.ErrInvalidArgument)
	all, err = c.GetAssignments(ctx, "u", nil)
	require.NoError(t, err)
	require.Equal(t, in[:2], all, "a refused batch stores nothing")
}

func TestDeleteAndEraseSayWhatWent(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	ctx := context.Background()
	_, err := c.SetAssignments(ctx, []client.Assignment{
		{UserID: "u", CampaignKey: "c1", VariationName: "Control"},
		{UserID: "u", CampaignKey: "c2", VariationName: "Control"},
		{UserID: "u", CampaignKey: "c3", VariationName: "Control"},
	})
	require.NoError(t, err)
	require.NoError(t, c.SavePersistedValue(ctx, "u:userID", "exp", map[string]string{"group_name": "Test"}))

	deleted, err := c.DeleteAssignment(ctx, "u", "c1")
	require.NoError(t, err)
	require.Equal(t, client.Deleted{Assignments: 1}, deleted)
	_, err = c.GetAssignment(ctx, "u", "c1")
	require.ErrorIs(t, err, client.ErrNotFound)

	deleted, err = c.DeleteAssignment(ctx, "u", "c1")
	require.NoError(t, err)
	require.Equal(t, client.Deleted{}, deleted, "deleting what is gone is no error")

	deleted, err = c.EraseUser(ctx, "u")
	require.NoError(t, err)
	require.Equal(t, client.Deleted{Assignments: 2, PersistedValues: 1}, deleted)
	all, err := c.GetAssignments(ctx, "u", nil)
	require.NoError(t, err)
	require.Empty(t, all)
	_, err = c.LoadPersistedValues(ctx, "u:userID")
	require.ErrorIs(t, err, client.ErrNotFound)
}

func TestPersistedValuesSaveLoadAndDelete(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	ctx := context.Background()
	const key = "user:with:colons:userID"

	_, err := c.LoadPersistedValues(ctx, key)
	require.ErrorIs(t, err, client.ErrNotFound)

	raw := json.RawMessage(`{"value":true,"json_value":{"color":"blue"},"group_name":"Control","time":1700000000000}`)
	require.NoError(t, c.SavePersistedValue(ctx, key, "exp_one", raw))
	require.NoError(t, c.SavePersistedValue(ctx, key, "exp_two", struct {
		GroupName string `json:"group_name"`
	}{"Test"}))

	values, err := c.LoadPersistedValues(ctx, key)
	require.NoError(t, err)
	require.Len(t, values, 2)
	require.JSONEq(t, string(raw), string(values["exp_one"]))
	require.JSONEq(t, `{"group_name":"Test"}`, string(values["exp_two"]))

	err = c.SavePersistedValue(ctx, key, "exp_three", []int{1, 2})
	require.ErrorIs(t, err, client.ErrInvalidArgument, "a value must be a JSON object")

	deleted, err := c.DeletePersistedValue(ctx, key, "exp_one")
	require.NoError(t, err)
	require.Equal(t, client.Deleted{PersistedValues: 1}, deleted)
	values, err = c.LoadPersistedValues(ctx, key)
	require.NoError(t, err)
	require.Equal(t, []string{"exp_two"}, keys(values))
}

func keys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Every failure matches exactly one of the client's errors, so a caller never takes an
// outage for "not stored".
func TestErrorsTellNotFoundFromUnavailableFromInvalid(t *testing.T) {
	t.Parallel()
	sentinels := map[string]error{
		"not found": client.ErrNotFound, "unavailable": client.ErrUnavailable,
		"invalid argument": client.ErrInvalidArgument, "unauthenticated": client.ErrUnauthenticated,
	}
	c, s := newClient(t)
	ctx := context.Background()
	wrongKey, err := client.New(s.URL, "uss_not-a-real-key")
	require.NoError(t, err)
	dbDown := clientWithDatabaseDown(t)
	closedPort, err := client.New("http://"+closedAddr(t), "key")
	require.NoError(t, err)
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "<html>502 Bad Gateway</html>", http.StatusBadGateway)
	}))
	t.Cleanup(gateway.Close)
	behindGateway, err := client.New(gateway.URL, "key")
	require.NoError(t, err)

	cases := []struct {
		name   string
		call   func() error
		want   string
		status int
	}{
		{"missing assignment", func() error { _, err := c.GetAssignment(ctx, "nobody", "c"); return err }, "not found", 404},
		{"missing persisted values", func() error { _, err := c.LoadPersistedValues(ctx, "nobody:userID"); return err }, "not found", 404},
		{"user id too long", func() error { _, err := c.GetAssignment(ctx, strings.Repeat("u", 256), "c"); return err }, "invalid argument", 400},
		{"goal with a NUL", func() error {
			_, err := c.SetAssignment(ctx, client.Assignment{UserID: "u", CampaignKey: "c", VariationName: "V", GoalIdentifier: "a\x00"})
			return err
		}, "invalid argument", 400},
		{"empty batch", func() error { _, err := c.SetAssignments(ctx, nil); return err }, "invalid argument", 400},
		{"wrong key", func() error { _, err := wrongKey.GetAssignment(ctx, "u", "c"); return err }, "unauthenticated", 401},
		{"database down", func() error { _, err := dbDown.GetAssignment(ctx, "u", "c"); return err }, "unavailable", 503},
		{"database down on write", func() error {
			_, err := dbDown.SetAssignment(ctx, client.Assignment{UserID: "u", CampaignKey: "c", VariationName: "V"})
			return err
		}, "unavailable", 503},
		{"nothing listening", func() error { _, err := closedPort.GetAssignment(ctx, "u", "c"); return err }, "unavailable", 0},
		{"a gateway's error page", func() error { _, err := behindGateway.GetAssignment(ctx, "u", "c"); return err }, "unavailable", 502},
	}
	for _, tc := range cases {
		err := tc.call()
		var e *client.Error
		require.ErrorAs(t, err, &e, tc.name)
		require.Equal(t, tc.status, e.StatusCode, tc.name)
		for name, sentinel := range sentinels {
			require.Equal(t, name == tc.want, errors.Is(err, sentinel), "%s: errors.Is(err, %s) for %v", tc.name, name, err)
		}
		require.NotContains(t, err.Error(), "nobody", "%s: user ids stay out of error text", tc.name)
		if tc.status >= 400 && tc.status != 502 {
			require.NotEmpty(t, e.RequestID, "%s: the server's request id is kept for support", tc.name)
		}
	}
}

// clientWithDatabaseDown is a client of a uss server whose PostgreSQL connection was cut.
func clientWithDatabaseDown(t *testing.T) *client.Client {
	t.Helper()
	dbURL, err := url.Parse(pgtest.URL(t))
	require.NoError(t, err)
	proxy := apitest.NewProxy(t, dbURL.Host)
	dbURL.Host = proxy.Addr()
	s := apitest.StartOn(t, dbURL.String(), func(c *apitest.ConfigT) { c.APIKeyCacheTTL = time.Hour })
	c, err := client.New(s.URL, s.NewKey(t, "acme"))
	require.NoError(t, err)
	_, err = c.SetAssignment(context.Background(), client.Assignment{UserID: "u", CampaignKey: "c", VariationName: "Control"})
	require.NoError(t, err, "the key is resolved and cached while the database is up")
	proxy.Break()
	return c
}

// closedAddr is a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// silentServer accepts connections and never answers: a hung uss. accepted receives each
// connection as it arrives.
func silentServer(t *testing.T) (addr string, accepted <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ch := make(chan struct{}, 16)
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, conn)
			ch <- struct{}{}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), ch
}

func TestTimeoutBoundsACallToAHungServer(t *testing.T) {
	t.Parallel()
	addr, _ := silentServer(t)
	c, err := client.New("http://"+addr, "key", client.WithTimeout(50*time.Millisecond))
	require.NoError(t, err)
	_, err = c.GetAssignment(context.Background(), "u", "c")
	require.ErrorIs(t, err, client.ErrUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotErrorIs(t, err, client.ErrNotFound)
}

func TestCanceledCallsReportTheCancellationNotAnOutage(t *testing.T) {
	t.Parallel()
	t.Run("canceled before the call", func(t *testing.T) {
		t.Parallel()
		c, _ := newClient(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.SetAssignment(ctx, client.Assignment{UserID: "u", CampaignKey: "c", VariationName: "V"})
		require.ErrorIs(t, err, context.Canceled)
		require.NotErrorIs(t, err, client.ErrUnavailable)
		_, err = c.GetAssignment(context.Background(), "u", "c")
		require.ErrorIs(t, err, client.ErrNotFound, "nothing was sent")
	})
	t.Run("canceled while waiting for the answer", func(t *testing.T) {
		t.Parallel()
		addr, accepted := silentServer(t)
		c, err := client.New("http://"+addr, "key", client.WithTimeout(0))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-accepted
			cancel()
		}()
		_, err = c.GetAssignment(ctx, "u", "c")
		require.ErrorIs(t, err, context.Canceled)
		require.NotErrorIs(t, err, client.ErrUnavailable)
		require.NotErrorIs(t, err, client.ErrNotFound)
	})
}

// Sequential calls, error answers included, share one connection: the client drains every
// body so the connection goes back to the pool.
func TestCallsReuseOneKeptAliveConnection(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	var dialed, reused atomic.Int64
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				reused.Add(1)
			} else {
				dialed.Add(1)
			}
		},
	})
	for i := range 20 {
		switch i % 3 {
		case 0:
			_, err := c.GetAssignment(ctx, "nobody", "c")
			require.ErrorIs(t, err, client.ErrNotFound)
		case 1:
			_, err := c.SetAssignment(ctx, client.Assignment{UserID: "u", CampaignKey: "c", VariationName: "V"})
			require.NoError(t, err)
		case 2:
			_, err := c.GetAssignment(ctx, "u", strings.Repeat("c", 300))
			require.ErrorIs(t, err, client.ErrInvalidArgument)
		}
	}
	require.Equal(t, int64(1), dialed.Load())
	require.Equal(t, int64(19), reused.Load())
}

func TestABasePathPrefixIsKept(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	// A gateway that serves uss under /uss/.
	gateway := httptest.NewServer(http.StripPrefix("/uss", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Handler().ServeHTTP(w, r)
	})))
	t.Cleanup(gateway.Close)
	c, err := client.New(gateway.URL+"/uss/", key)
	require.NoError(t, err)
	_, err = c.SetAssignment(context.Background(), client.Assignment{UserID: "u", CampaignKey: "c", VariationName: "V"})
	require.NoError(t, err)
	got, err := c.GetAssignment(context.Background(), "u", "c")
	require.NoError(t, err)
	require.Equal(t, "V", got.VariationName)
}
