package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testServer answers /ok with a small body, /chunked with a chunked body, /fail with 500,
// /close with "Connection: close", and /echo with the request's method, Authorization,
// Content-Type and body.
func testServer(t *testing.T) (addr string, served *atomic.Int64) {
	t.Helper()
	served = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		switch r.URL.Path {
		case "/ok":
			fmt.Fprint(w, `{"ok":true}`)
		case "/chunked":
			for i := range 3 {
				fmt.Fprintf(w, "part %d;", i)
				w.(http.Flusher).Flush()
			}
		case "/fail":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/close":
			w.Header().Set("Connection", "close")
			fmt.Fprint(w, "bye")
		case "/echo":
			body, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s|%s|%s|%s", r.Method, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), served
}

func get(path string) requestFunc {
	return func(c *call, _ *rand.Rand, _, _ int) {
		c.get()
		c.uri = append(c.uri, path...)
	}
}

func TestConnReadsWholeResponsesAndRedialsAfterClose(t *testing.T) {
	t.Parallel()
	addr, served := testServer(t)
	c := newConn(endpoint{addr: addr, key: "k"})
	defer c.close()
	for _, path := range []string{"/ok", "/chunked", "/close", "/ok", "/fail"} {
		var req call
		get(path)(&req, nil, 0, 0)
		status, body, err := c.do(&req)
		require.NoError(t, err, path)
		switch path {
		case "/chunked":
			require.Equal(t, "part 0;part 1;part 2;", string(body))
		case "/fail":
			require.Equal(t, http.StatusInternalServerError, status)
			continue
		}
		require.Equal(t, http.StatusOK, status, path)
	}
	require.EqualValues(t, 5, served.Load())

	// Every request carries the API key; a body goes as JSON.
	post := &call{}
	post.post("/echo")
	post.body = append(post.body, `{"a":1}`...)
	status, body, err := c.do(post)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, `POST|Bearer k|application/json|{"a":1}`, string(body))
	var req call
	get("/echo")(&req, nil, 0, 0)
	_, body, err = c.do(&req)
	require.NoError(t, err)
	require.Equal(t, "GET|Bearer k||", string(body))
}

func TestClosedLoopCountsSuccessesAndErrorsApart(t *testing.T) {
	t.Parallel()
	addr, served := testServer(t)
	ok := load(context.Background(), endpoint{addr: addr}, 4, 0, 100*time.Millisecond, get("/ok"))
	require.Positive(t, ok.OK)
	require.Zero(t, ok.ErrorCount())
	require.EqualValues(t, ok.OK, ok.Latencies.Count, "every success has its latency")
	require.EqualValues(t, ok.OK, served.Load())

	fail := load(context.Background(), endpoint{addr: addr}, 2, 0, 50*time.Millisecond, get("/fail"))
	require.Zero(t, fail.OK)
	require.Positive(t, fail.Errors["status 500"])
	require.Equal(t, fmt.Sprintf("%d × status 500", fail.ErrorCount()), fail.ErrorSummary())

	down := load(context.Background(), endpoint{addr: "127.0.0.1:1"}, 1, 0, 10*time.Millisecond, get("/ok"))
	require.Zero(t, down.OK)
	require.Positive(t, down.ErrorCount(), "a refused connection is an error, not a silent zero")
}

func TestOpenLoopOffersItsScheduleWhateverTheServerDoes(t *testing.T) {
	t.Parallel()
	addr, _ := testServer(t)
	// 400/s for 250ms over 4 workers: 100 requests are due, each sent or counted as unsent.
	r := load(context.Background(), endpoint{addr: addr}, 4, 400, 250*time.Millisecond, get("/ok"))
	require.Equal(t, 100, r.OK+r.ErrorCount())
	require.EqualValues(t, r.OK, r.Latencies.Count, "every success has its latency")
}
