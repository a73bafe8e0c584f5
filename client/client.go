// Package client is a small Go client for the uss HTTP API: user storage (VWO's
// userStorageData), Statsig persisted values, VWO FME records, GrowthBook sticky buckets
// and Optimizely user profiles.
//
// Every call takes a context and is bounded by the client's timeout as well. Failures are
// *Error values that errors.Is matches against ErrNotFound, ErrUnavailable,
// ErrInvalidArgument and ErrUnauthenticated, so a caller can tell "nothing is stored" from
// "uss could not be asked", which an SDK integration must never confuse: treating an outage
// as "not found" would re-bucket users and overwrite their assignments.
//
// A Client is safe for concurrent use and keeps connections alive between calls; create one
// per process and share it.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds one call when no WithTimeout option is given. SDKs call their storage
// inline with every decision, so a slow store must not hold a decision for long.
const DefaultTimeout = 2 * time.Second

// Client calls one uss server with one API key.
type Client struct {
	base    string // scheme://host[/prefix], without a trailing slash
	auth    string
	http    *http.Client
	timeout time.Duration
}

// Option changes how a Client is built.
type Option func(*Client)

// WithTimeout bounds every call (connecting, sending and reading the answer); a call whose
// context has an earlier deadline ends then. Zero or less means no bound but the context's.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.timeout = d }
}

// WithHTTPClient sends requests through hc instead of the client's own, for custom
// transports (proxies, TLS settings, instrumentation). hc's own Timeout applies too.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// New returns a client of the uss server at baseURL (such as "http://127.0.0.1:8080"; a path
// prefix is kept, for a server behind a gateway) that authenticates with apiKey.
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("uss client: base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("uss client: base URL %q must be http(s)://host[:port][/prefix]", baseURL)
	}
	if apiKey == "" {
		return nil, errors.New("uss client: API key is empty")
	}
	c := &Client{
		base:    strings.TrimRight(u.String(), "/"),
		auth:    "Bearer " + apiKey,
		http:    &http.Client{Transport: newTransport()},
		timeout: DefaultTimeout,
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// newTransport is http.DefaultTransport's setup with more idle connections per host: SDKs
// call from many goroutines at once, and the default of 2 idle connections would make most
// calls open a new one.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// do sends one request and decodes a 2xx JSON answer into out (when not nil). op names the
// call in errors; the query string stays out of them, since it holds user ids.
func (c *Client) do(ctx context.Context, op, method, path string, query url.Values, body any, out any) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case json.RawMessage:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			return &Error{Op: op, Err: fmt.Errorf("encode request: %w", err)}
		}
		rd = bytes.NewReader(enc)
	}
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &Error{Op: op, Err: transportError(err), noAnswer: true}
	}
	defer func() {
		// Read what is left so the connection goes back to the pool.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return answerError(op, resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		// The server answered 2xx but the body did not arrive whole: the call's outcome is
		// unknown, as with a broken connection.
		return &Error{Op: op, StatusCode: resp.StatusCode, Err: fmt.Errorf("decode answer: %w", transportError(err)), noAnswer: true}
	}
	return nil
}

// transportError drops *url.Error's wrapping, whose text repeats the URL with its query (user
// ids), and keeps the cause (errors.Is still sees context errors through it).
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
