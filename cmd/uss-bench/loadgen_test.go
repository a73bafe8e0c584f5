package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testServer answers /ok with a small body, /chunked with a chunked body, /fail with 500 and
// /close with "Connection: close".
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
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), served
}

func rawGet(addr, path string) requestFunc {
	return func(buf []byte, _ *rand.Rand, _, _ int) []byte {
		return append(buf, "GET "+path+" HTTP/1.1\r\nHost: "+addr+"\r\n\r\n"...)
	}
}

func TestConnReadsWholeResponsesAndRedialsAfterClose(t *testing.T) {
	t.Parallel()
	addr, served := testServer(t)
	c := newConn(addr)
	defer c.close()
	for _, path := range []string{"/ok", "/chunked", "/close", "/ok", "/fail"} {
		status, body, err := c.doRead(rawGet(addr, path)(nil, nil, 0, 0))
		require.NoError(t, err, path)
		switch path {
		case "/chunked":
			require.Equal(t, "part 0;part 1;part 2;", body)
		case "/fail":
			require.Equal(t, http.StatusInternalServerError, status)
			continue
		}
		require.Equal(t, http.StatusOK, status, path)
	}
	require.EqualValues(t, 5, served.Load())
}

func TestClosedLoopCountsSuccessesAndErrorsApart(t *testing.T) {
	t.Parallel()
	addr, served := testServer(t)
	ok := closedLoop(context.Background(), addr, 4, 100*time.Millisecond, rawGet(addr, "/ok"))
	require.Positive(t, ok.OK)
	require.Zero(t, ok.ErrorCount())
	require.EqualValues(t, ok.OK, ok.Latencies.Count, "every success has its latency")
	require.EqualValues(t, ok.OK, served.Load())

	fail := closedLoop(context.Background(), addr, 2, 50*time.Millisecond, rawGet(addr, "/fail"))
	require.Zero(t, fail.OK)
	require.Positive(t, fail.Errors["status 500"])
	require.Equal(t, fmt.Sprintf("%d × status 500", fail.ErrorCount()), fail.ErrorSummary())

	down := closedLoop(context.Background(), "127.0.0.1:1", 1, 10*time.Millisecond, rawGet(addr, "/ok"))
	require.Zero(t, down.OK)
	require.Positive(t, down.ErrorCount(), "a refused connection is an error, not a silent zero")
}

func TestOpenLoopOffersItsScheduleWhateverTheServerDoes(t *testing.T) {
	t.Parallel()
	addr, _ := testServer(t)
	// 400/s for 250ms over 4 workers: 100 requests are due, each sent or counted as unsent.
	r := openLoop(context.Background(), addr, 4, 400, 250*time.Millisecond, rawGet(addr, "/ok"))
	require.Equal(t, 100, r.OK+r.ErrorCount())
	require.EqualValues(t, r.OK, r.Latencies.Count, "every success has its latency")
}
