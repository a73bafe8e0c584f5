package server_test

import (
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Connections that send their headers a byte at a time (slowloris) are cut by the server's
// header timeout, and other clients are served meanwhile.
func TestSlowHeaderConnectionsAreCutWhileOthersAreServed(t *testing.T) {
	t.Parallel()
	s := serve(t)
	defer func() { s.stop(); require.NoError(t, <-s.served) }()

	const slow = 50
	cut := make(chan time.Duration, slow)
	for range slow {
		conn, err := net.Dial("tcp", s.ln.Addr().String())
		require.NoError(t, err)
		go func() {
			defer conn.Close()
			began := time.Now()
			for _, b := range []byte("GET /livez HTTP/1.1\r\nHost: uss\r\nX-Slow: " + strings.Repeat("a", 30)) {
				if _, err := conn.Write([]byte{b}); err != nil {
					break
				}
				_ = conn.SetReadDeadline(time.Now().Add(time.Second))
				if _, err := conn.Read(make([]byte, 1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					break
				}
			}
			cut <- time.Since(began)
		}()
	}
	for range 20 {
		status, _ := get(t, s.base, "/v1/storage?userId=u&campaignKey=c", s.key)
		require.Equal(t, http.StatusNotFound, status, "an ordinary request is served during the attack")
		time.Sleep(50 * time.Millisecond)
	}
	var longest time.Duration
	for range slow {
		d := <-cut
		require.Less(t, d, 25*time.Second, "a slow connection was cut by the server, not left to finish")
		longest = max(longest, d)
	}
	t.Logf("%d slow-header connections, the last cut after %v", slow, longest.Round(10*time.Millisecond))
}
