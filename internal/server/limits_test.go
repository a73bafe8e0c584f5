package server_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
)

// A server holds at most USS_MAX_CONNECTIONS connections: one beyond waits, not served, until
// a slot frees, and a probe then gets through. Idle keep-alive connections are closed after
// USS_IDLE_TIMEOUT.
func TestConnectionsAreCappedAndIdleOnesClosed(t *testing.T) {
	t.Parallel()
	s := serve(t, func(c *apitest.ConfigT) {
		c.Limits.MaxConnections = 2
		c.Limits.IdleTimeout = 300 * time.Millisecond
	})
	defer func() {
		s.stop()
		require.NoError(t, <-s.served)
	}()
	addr := s.ln.Addr().String()
	dial := func() (net.Conn, *bufio.Reader) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		return conn, bufio.NewReader(conn)
	}
	probe := func(conn net.Conn, rd *bufio.Reader, wait time.Duration) (int, error) {
		_ = conn.SetDeadline(time.Now().Add(wait))
		if _, err := io.WriteString(conn, "GET /livez HTTP/1.1\r\nHost: uss\r\n\r\n"); err != nil {
			return 0, err
		}
		resp, err := http.ReadResponse(rd, nil)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}

	// Two connections that send nothing hold both slots.
	first, _ := dial()
	dial()
	conn, rd := dial()
	_, err := probe(conn, rd, 300*time.Millisecond)
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "a third connection was served: %v", err)

	require.NoError(t, first.Close())
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(rd, nil)
	require.NoError(t, err, "served once a slot freed")
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// Now idle: the server closes it after the idle timeout.
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = rd.Peek(1)
	require.ErrorIs(t, err, io.EOF, "an idle connection is closed after USS_IDLE_TIMEOUT")
}

// A pool whose every connection is in use is busy, not an outage: /readyz does not say the
// database is unreachable (it used to, after waiting two seconds for a connection).
func TestReadinessIsNotLostWhenThePoolIsMerelyExhausted(t *testing.T) {
	t.Parallel()
	s := serve(t, func(c *apitest.ConfigT) { c.DatabaseURL += "&pool_max_conns=2" })
	defer func() {
		s.stop()
		require.NoError(t, <-s.served)
	}()
	ready := func() (int, string) {
		resp, err := http.Get(s.base + "/readyz")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	status, body := ready()
	require.Equal(t, http.StatusOK, status, body)

	ctx := context.Background()
	pool := s.srv.Pool()
	require.Equal(t, int32(2), pool.Config().MaxConns)
	for range 2 {
		conn, err := pool.Acquire(ctx)
		require.NoError(t, err)
		defer conn.Release()
	}
	status, body = ready()
	require.NotContains(t, body, "unreachable")
	require.Equal(t, http.StatusOK, status, body)
}
