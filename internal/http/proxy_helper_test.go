package httpapi_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apitest"
)

// proxied returns a proxy in front of the database at databaseURL and the URL through it.
func proxied(t *testing.T, databaseURL string) (*apitest.Proxy, string) {
	t.Helper()
	u, err := url.Parse(databaseURL)
	require.NoError(t, err)
	proxy := apitest.NewProxy(t, u.Host)
	via := *u
	via.Host = proxy.Addr()
	return proxy, via.String()
}
