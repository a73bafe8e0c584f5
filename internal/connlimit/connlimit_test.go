package connlimit_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/connlimit"
)

// serve runs a real http.Server on a loopback port behind a Listener of the given cap.
func serve(t *testing.T, limit int, handler http.Handler, logs io.Writer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return serveOn(t, ln, limit, handler, logs)
}

func serveOn(t *testing.T, ln net.Listener, limit int, handler http.Handler, logs io.Writer) string {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	limited := connlimit.New(ln, limit, slog.New(slog.NewTextHandler(logs, nil)))
	srv := &http.Server{Handler: handler, ConnState: limited.ConnState, ReadHeaderTimeout: time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(limited)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return ln.Addr().String()
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })

// client is one keep-alive connection speaking HTTP/1.1 by hand, so the test decides when
// connections open, idle and close.
type client struct {
	t    *testing.T
	conn net.Conn
	rd   *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &client{t: t, conn: conn, rd: bufio.NewReader(conn)}
}

func (c *client) send() {
	c.t.Helper()
	_, err := io.WriteString(c.conn, "GET / HTTP/1.1\r\nHost: uss\r\n\r\n")
	require.NoError(c.t, err)
}

// answer reads a response, or returns an error when none comes within wait.
func (c *client) answer(wait time.Duration) (string, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(c.rd, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

func (c *client) get() string {
	c.t.Helper()
	c.send()
	body, err := c.answer(10 * time.Second)
	require.NoError(c.t, err)
	return body
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Connections that have sent nothing hold their slots: the one beyond the cap is accepted by
// the kernel but not served, and is served as soon as a slot frees.
func TestTheConnectionBeyondTheCapWaitsForAFreeSlot(t *testing.T) {
	t.Parallel()
	addr := serve(t, 3, ok, nil)
	silent := []*client{dial(t, addr), dial(t, addr), dial(t, addr)}
	next := dial(t, addr)
	next.send()
	_, err := next.answer(300 * time.Millisecond)
	require.True(t, isTimeout(err), "served beyond the cap: %v", err)

	require.NoError(t, silent[0].conn.Close())
	body, err := next.answer(10 * time.Second)
	require.NoError(t, err, "served once a slot is free")
	require.Equal(t, "ok", body)
}

// An idle keep-alive connection costs its client only a handshake to reopen, so at the cap the
// oldest idle one is closed for a newcomer.
func TestIdleConnectionsMakeRoomForNewOnes(t *testing.T) {
	t.Parallel()
	addr := serve(t, 2, ok, nil)
	first, second := dial(t, addr), dial(t, addr)
	require.Equal(t, "ok", first.get())
	time.Sleep(10 * time.Millisecond) // so that first is idle the longer
	require.Equal(t, "ok", second.get())

	newcomer := dial(t, addr)
	require.Equal(t, "ok", newcomer.get(), "served at once: an idle connection made room")
	_, err := first.rd.Peek(1)
	require.ErrorIs(t, err, io.EOF, "the connection idle longest was closed")
	require.Equal(t, "ok", second.get(), "the other stays")
}

// While a newcomer waits, a connection that finishes its request is closed rather than kept
// idle, and the newcomer is served.
func TestAConnectionTurningIdleMakesRoomForAWaitingOne(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	})
	addr := serve(t, 2, slow, nil)
	busy := []*client{dial(t, addr), dial(t, addr)}
	for _, c := range busy {
		_, err := io.WriteString(c.conn, "GET /slow HTTP/1.1\r\nHost: uss\r\n\r\n")
		require.NoError(t, err)
		<-started
	}
	newcomer := dial(t, addr)
	newcomer.send()
	_, err := newcomer.answer(300 * time.Millisecond)
	require.True(t, isTimeout(err), "served beyond the cap: %v", err)

	close(release)
	body, err := newcomer.answer(10 * time.Second)
	require.NoError(t, err)
	require.Equal(t, "ok", body)
}

// failingOnce is a listener whose first Accept fails as a process out of file descriptors
// does.
type failingOnce struct {
	net.Listener
	failed bool
	mu     sync.Mutex
}

func (l *failingOnce) Accept() (net.Conn, error) {
	l.mu.Lock()
	first := !l.failed
	l.failed = true
	l.mu.Unlock()
	if first {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

func TestAcceptErrorsAreLoggedAsWarnings(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var logs syncBuffer
	addr := serveOn(t, &failingOnce{Listener: ln}, 4, ok, &logs)
	require.Equal(t, "ok", dial(t, addr).get(), "the server retries after the error")
	line := logs.String()
	require.Contains(t, line, "level=WARN")
	require.Contains(t, line, `msg="accepting a connection failed"`)
	require.Contains(t, line, "too many open files")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.TrimSpace(s.b.String())
}
