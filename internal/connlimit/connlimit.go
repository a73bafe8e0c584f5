// Package connlimit caps the client connections a server holds open at once, so that
// connections, each a file descriptor and some memory, cannot exhaust the process however
// many clients open them (22,000 idle keep-alive connections once reached the file limit,
// after which even health probes timed out).
//
// At the cap, a new connection waits in the kernel's accept queue until one closes. Idle
// keep-alive connections make room at once: the oldest is closed for the newcomer (a client
// reopens one at the cost of a handshake), and while a newcomer waits, a connection that
// turns idle is closed rather than kept. Connections that have sent no request yet, or are
// being served, are not touched; the server's read timeouts bound them.
package connlimit

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Listener is a net.Listener that holds at most its cap of connections open. Set the
// http.Server's ConnState to its ConnState, so that it knows which connections are idle.
type Listener struct {
	net.Listener
	logger *slog.Logger

	slots chan struct{} // one per open connection
	done  chan struct{} // closed by Close
	close sync.Once

	mu      sync.Mutex
	idle    map[*conn]time.Time // idle keep-alive connections, since when
	waiting atomic.Int32        // newcomers waiting for a slot

	lastFull atomic.Int64 // when "at the cap" was last logged (unix nanoseconds)
}

// fullLogEvery spaces the warnings that the cap is reached.
const fullLogEvery = time.Minute

// New caps ln at limit connections (at least 1).
func New(ln net.Listener, limit int, logger *slog.Logger) *Listener {
	return &Listener{
		Listener: ln,
		logger:   logger,
		slots:    make(chan struct{}, max(limit, 1)),
		done:     make(chan struct{}),
		idle:     map[*conn]time.Time{},
	}
}

// Accept waits for a connection and for room for it. Accept errors are logged as warnings:
// they mean connections are being refused (a file limit reached, for one), and the server
// only retries them.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		if !errors.Is(err, net.ErrClosed) {
			l.logger.Warn("accepting a connection failed", "error", err)
		}
		return nil, err
	}
	if !l.acquire() {
		c.Close()
		return nil, net.ErrClosed
	}
	return &conn{Conn: c, l: l}, nil
}

// acquire takes a slot, closing the oldest idle connection for it at the cap, or waiting for
// one; false when the listener closed meanwhile.
func (l *Listener) acquire() bool {
	select {
	case l.slots <- struct{}{}:
		return true
	default:
	}
	l.waiting.Add(1)
	defer l.waiting.Add(-1)
	if !l.closeOldestIdle() {
		l.warnFull()
	}
	select {
	case l.slots <- struct{}{}:
		return true
	case <-l.done:
		return false
	}
}

func (l *Listener) warnFull() {
	now := time.Now().UnixNano()
	last := l.lastFull.Load()
	if now-last < int64(fullLogEvery) || !l.lastFull.CompareAndSwap(last, now) {
		return
	}
	l.logger.Warn("connection limit reached: new connections wait until one closes", "limit", cap(l.slots))
}

// closeOldestIdle closes the idle connection idle the longest; its slot frees as it closes.
func (l *Listener) closeOldestIdle() bool {
	l.mu.Lock()
	var oldest *conn
	var since time.Time
	for c, t := range l.idle {
		if oldest == nil || t.Before(since) {
			oldest, since = c, t
		}
	}
	delete(l.idle, oldest)
	l.mu.Unlock()
	if oldest == nil {
		return false
	}
	oldest.Close()
	return true
}

// ConnState is for http.Server.ConnState: it tracks idle connections, and closes one that
// turns idle while a newcomer waits.
func (l *Listener) ConnState(nc net.Conn, state http.ConnState) {
	c, ok := nc.(*conn)
	if !ok {
		return
	}
	if state == http.StateIdle && l.waiting.Load() > 0 {
		c.Close()
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if state == http.StateIdle {
		l.idle[c] = time.Now()
	} else {
		delete(l.idle, c)
	}
}

// Close stops accepting; a newcomer waiting for room is let go.
func (l *Listener) Close() error {
	l.close.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// conn gives its slot back once, when it closes.
type conn struct {
	net.Conn
	l       *Listener
	release sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.release.Do(func() {
		c.l.mu.Lock()
		delete(c.l.idle, c)
		c.l.mu.Unlock()
		<-c.l.slots
	})
	return err
}
