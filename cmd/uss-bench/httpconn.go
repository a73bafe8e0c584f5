package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// conn is one keep-alive HTTP/1.1 connection driven by one load worker. It writes requests
// that the scenario has already laid out as bytes and reads responses with the standard
// parser. net/http's client would run two goroutines per connection and a pool lookup per
// request on this 2-core machine, CPU taken from the server under test; pgbench's client is lean C, so
// the HTTP side gets a lean client too.
type conn struct {
	addr string
	c    net.Conn
	br   *bufio.Reader
}

func newConn(addr string) *conn { return &conn{addr: addr} }

// do sends one request and reads its whole response. A transport error closes the
// connection; the next call dials again.
func (k *conn) do(req []byte) (status int, err error) { return k.exchange(req, io.Discard) }

// doRead is do returning the response body too.
func (k *conn) doRead(req []byte) (int, string, error) {
	var body strings.Builder
	status, err := k.exchange(req, &body)
	return status, body.String(), err
}

func (k *conn) exchange(req []byte, body io.Writer) (status int, err error) {
	if k.c == nil {
		c, err := net.DialTimeout("tcp", k.addr, 5*time.Second)
		if err != nil {
			return 0, fmt.Errorf("dial: %w", err)
		}
		k.c = c
		if k.br == nil {
			k.br = bufio.NewReaderSize(c, 16<<10)
		} else {
			k.br.Reset(c)
		}
	}
	// A stuck server must not hang the benchmark past its bound.
	_ = k.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := k.c.Write(req); err != nil {
		k.close()
		return 0, fmt.Errorf("write: %w", err)
	}
	resp, err := http.ReadResponse(k.br, nil)
	if err != nil {
		k.close()
		return 0, fmt.Errorf("read: %w", err)
	}
	_, err = io.Copy(body, resp.Body)
	resp.Body.Close()
	if err != nil {
		k.close()
		return 0, fmt.Errorf("read body: %w", err)
	}
	if resp.Close {
		k.close()
	}
	return resp.StatusCode, nil
}

func (k *conn) close() {
	if k.c != nil {
		k.c.Close()
		k.c = nil
	}
}
