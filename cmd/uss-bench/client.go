package main

import (
	"fmt"
	"time"

	"github.com/valyala/fasthttp"
)

// call is one HTTP request as a scenario lays it out: method, path with query, and JSON body
// (none for a GET). A worker reuses its call's buffers from one request to the next.
type call struct {
	method    string
	uri, body []byte
}

// conn is one keep-alive HTTP/1.1 connection driven by one load worker, through fasthttp's
// client, which costs the client a few tens of µs of CPU less per request than net/http's
// (two goroutines per connection and a pool lookup per request): CPU that, on this 2-core
// machine, would be taken from the server under test, while pgbench's client is lean C.
type conn struct {
	hc   *fasthttp.HostClient
	key  string
	req  *fasthttp.Request
	resp *fasthttp.Response
}

func newConn(e endpoint) *conn {
	return &conn{
		hc: &fasthttp.HostClient{Addr: e.addr, MaxConns: 1, MaxIdemponentCallAttempts: 1,
			// A stuck server must not hang the benchmark past its bound.
			ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, MaxConnWaitTimeout: 30 * time.Second},
		key:  "Bearer " + e.key,
		req:  fasthttp.AcquireRequest(),
		resp: fasthttp.AcquireResponse(),
	}
}

// do sends one request and reads its whole response; the body stays valid until the next.
func (k *conn) do(c *call) (status int, body []byte, err error) {
	k.req.Reset()
	k.req.Header.SetMethod(c.method)
	k.req.SetRequestURIBytes(c.uri)
	k.req.Header.SetHost(k.hc.Addr)
	k.req.Header.Set("Authorization", k.key)
	k.req.SetBodyRaw(c.body)
	if len(c.body) > 0 {
		k.req.Header.SetContentType("application/json")
	}
	if err := k.hc.Do(k.req, k.resp); err != nil {
		return 0, nil, fmt.Errorf("do: %w", err)
	}
	return k.resp.StatusCode(), k.resp.Body(), nil
}

func (k *conn) close() {
	k.hc.CloseIdleConnections()
	fasthttp.ReleaseRequest(k.req)
	fasthttp.ReleaseResponse(k.resp)
}
