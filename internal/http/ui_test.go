package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/apikey"
	"github.com/uss/uss/internal/apitest"
)

func loginRequest(t *testing.T, baseURL, key string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, baseURL+"/ui/login", strings.NewReader(url.Values{"key": {key}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func pageRequest(t *testing.T, baseURL, path string, session *http.Cookie) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, baseURL+path, nil)
	require.NoError(t, err)
	if session != nil {
		req.AddCookie(session)
	}
	return req
}

func sessionCookie(t *testing.T, resp apitest.Response) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: resp.Header}).Cookies() {
		if c.Name == "uss_session" {
			return c
		}
	}
	require.Fail(t, "no session cookie", "headers: %v", resp.Header)
	return nil
}

func TestSignInOpensASessionThatSignOutAndRevocationEnd(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")

	resp := s.Send(t, loginRequest(t, s.URL, key))
	require.Equal(t, http.StatusSeeOther, resp.Status, "%s", resp.Body)
	require.Equal(t, "/ui/campaigns", resp.Header.Get("Location"))
	session := sessionCookie(t, resp)
	require.True(t, session.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, session.SameSite)
	require.False(t, session.Secure, "plain HTTP: a Secure cookie would never come back")
	require.NotContains(t, session.Value, key)
	require.NotContains(t, resp.Header.Get("Location"), key)

	page := s.Send(t, pageRequest(t, s.URL, "/ui/campaigns", session))
	require.Equal(t, http.StatusOK, page.Status)
	require.Contains(t, string(page.Body), `signed in as <strong id="account">acme</strong>`)

	// Sign-out ends the session on the server, not only in the browser.
	out, err := http.NewRequest(http.MethodPost, s.URL+"/ui/logout", nil)
	require.NoError(t, err)
	out.AddCookie(session)
	resp = s.Send(t, out)
	require.Equal(t, http.StatusSeeOther, resp.Status)
	require.Equal(t, -1, sessionCookie(t, resp).MaxAge)
	page = s.Send(t, pageRequest(t, s.URL, "/ui/campaigns", session))
	require.Equal(t, http.StatusSeeOther, page.Status)
	require.Equal(t, "/ui/", page.Header.Get("Location"))

	// Revoking the key ends the sessions it opened.
	session = sessionCookie(t, s.Send(t, loginRequest(t, s.URL, key)))
	require.Equal(t, http.StatusOK, s.Send(t, pageRequest(t, s.URL, "/ui/campaigns", session)).Status)
	id, _ := apikey.ID(key)
	conn, err := pgx.Connect(context.Background(), s.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), `UPDATE api_keys SET revoked_at = now() WHERE key_id = $1`, id)
	require.NoError(t, err)
	require.Equal(t, http.StatusSeeOther, s.Send(t, pageRequest(t, s.URL, "/ui/campaigns", session)).Status)
}

func TestSignInRefusesBadKeysForeignFormsAndKeysInTheURL(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")

	resp := s.Send(t, loginRequest(t, s.URL, "uss_not-a-key"))
	require.Equal(t, http.StatusUnauthorized, resp.Status)
	require.Contains(t, string(resp.Body), "That API key is not valid")
	require.Empty(t, resp.Header.Values("Set-Cookie"))

	// A key in the query string is not read: keys do not belong in URLs (or logs).
	req, err := http.NewRequest(http.MethodPost, s.URL+"/ui/login?"+url.Values{"key": {key}}.Encode(), nil)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	require.Equal(t, http.StatusUnauthorized, s.Send(t, req).Status)

	// A form another site posts is refused, even with a good key.
	req = loginRequest(t, s.URL, key)
	req.Header.Set("Origin", "https://elsewhere.example")
	resp = s.Send(t, req)
	require.Equal(t, http.StatusForbidden, resp.Status)
	require.Empty(t, resp.Header.Values("Set-Cookie"))

	// Pages without a session send the browser to the sign-in form.
	for _, path := range []string{"/ui/campaigns", "/ui/campaign?campaignKey=c"} {
		resp := s.Send(t, pageRequest(t, s.URL, path, &http.Cookie{Name: "uss_session", Value: "forged"}))
		require.Equal(t, http.StatusSeeOther, resp.Status, path)
		require.Equal(t, "/ui/", resp.Header.Get("Location"), path)
	}
}

func TestTheSessionCookieIsSecureOverTLS(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t)
	key := s.NewKey(t, "acme")
	tls := httptest.NewTLSServer(s.Handler())
	t.Cleanup(tls.Close)
	client := tls.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(loginRequest(t, tls.URL, key))
	require.NoError(t, err)
	defer resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "uss_session" {
			session = c
		}
	}
	require.NotNil(t, session)
	require.True(t, session.Secure)
}
