package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uss/uss/internal/apikey"
	"github.com/uss/uss/internal/bodybudget"
	"github.com/uss/uss/internal/metrics"
	"github.com/uss/uss/internal/uss"
)

const (
	ctxRequestID = "uss.request_id"
	ctxAccount   = "uss.account"
	ctxErrorCode = "uss.error_code" // set by the error handler, for the access log
)

// requestIDs makes request ids: a random per-process prefix and a counter, unique across
// replicas without a random read per request.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &requestIDs{prefix: hex.EncodeToString(b[:])}
}

// middleware keeps a well-formed incoming X-Request-Id (so a caller can correlate) and makes
// one otherwise.
func (g *requestIDs) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !wellFormedRequestID(id) {
			id = g.prefix + "-" + strconv.FormatUint(g.n.Add(1), 36)
		}
		c.Set(ctxRequestID, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// requestContext gives the request's context the deadline timeout and the request id, which
// the domain reads from it (history events name the request of a change), in one copy of the
// request: every route that reaches the domain has it. A deadline that passes is left as the
// error it is: the error handler maps it to 503 in our shape.
func requestContext(timeout time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, cancel := context.WithTimeout(uss.WithRequestID(c.Request().Context(), requestID(c)), timeout)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

func wellFormedRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

func requestID(c echo.Context) string {
	id, _ := c.Get(ctxRequestID).(string)
	return id
}

// monitoring routes stay out of the access log: probes would drown it.
func isMonitoring(path string) bool {
	return path == "/livez" || path == "/readyz" || path == "/metrics"
}

// respond writes an error response now, so that outer middleware sees the final status.
func respond(c echo.Context, err error) {
	if err != nil && !c.Response().Committed {
		c.Error(err)
	}
}

// accessLog logs one line per request with its request id. It logs the route, not the URL:
// query strings carry user ids.
func accessLog(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			respond(c, err)
			if isMonitoring(c.Path()) {
				return nil
			}
			attrs := []slog.Attr{
				slog.String("request_id", requestID(c)),
				slog.String("method", methodLabel(c.Request().Method)),
				slog.String("route", routeLabel(c)),
				slog.Int("status", c.Response().Status),
				slog.Int64("bytes", c.Response().Size),
				slog.Duration("duration", time.Since(start)),
			}
			if code, ok := c.Get(ctxErrorCode).(string); ok {
				attrs = append(attrs, slog.String("code", code))
			}
			logger.LogAttrs(c.Request().Context(), slog.LevelInfo, "request", attrs...)
			return nil
		}
	}
}

// recoverPanics turns a panic into a 500 with the stack in the log; the process lives on.
func recoverPanics(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if e, ok := r.(error); ok && errors.Is(e, http.ErrAbortHandler) {
						panic(r)
					}
					stack := make([]byte, 8<<10)
					stack = stack[:runtime.Stack(stack, false)]
					logger.Error("panic", "request_id", requestID(c), "panic", fmt.Sprint(r), "stack", string(stack))
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			return next(c)
		}
	}
}

func routeLabel(c echo.Context) string {
	if p := c.Path(); p != "" && !strings.HasSuffix(p, "/*") {
		return p
	}
	return "unmatched"
}

// methodLabel is the request's method if it is one of HTTP's own, else "other": a label taken
// from the request as sent would let any client add series (and memory) without limit.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// observe records every request's latency by route, method and status. Every label comes
// from a bounded set: registered routes or "unmatched", HTTP's methods or "other", and the
// statuses uss answers with.
func observe(m *metrics.Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			respond(c, err)
			m.Requests.WithLabelValues(routeLabel(c), methodLabel(c.Request().Method), strconv.Itoa(c.Response().Status)).
				Observe(time.Since(start).Seconds())
			return nil
		}
	}
}

// bodyLimit refuses bodies over limit: at once when Content-Length says so, else when the
// handler reads past it (http.MaxBytesError, rendered as 413).
func bodyLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > limit {
				return &http.MaxBytesError{Limit: limit}
			}
			req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
			return next(c)
		}
	}
}

// authenticate resolves the bearer key to its account. A database failure while resolving is
// a 503, not a 401: the key may well be good.
func authenticate(keys *apikey.Resolver) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			auth := c.Request().Header.Get(echo.HeaderAuthorization)
			scheme, key, ok := strings.Cut(auth, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") || key == "" {
				return apikey.ErrUnauthenticated
			}
			account, err := keys.Resolve(c.Request().Context(), strings.TrimSpace(key))
			if err != nil {
				return err
			}
			c.Set(ctxAccount, account)
			return next(c)
		}
	}
}

func account(c echo.Context) uss.AccountID {
	a, _ := c.Get(ctxAccount).(uss.AccountID)
	return a
}

// holdBody takes the request body's bytes from the process's body budgets for as long as the
// handler runs, so that the bodies held at once stay within them. A body of known length takes
// its length before it is read; one sent without a length (chunked) takes its bytes as they
// are read. A body that finds no room within a budget's wait gets a 503 with Retry-After,
// before anything is read or changed. It runs after authentication: a client without a key
// holds nothing. Budgets are taken in the order given, the narrowest first, so that a request
// waiting its turn for a narrow one holds nothing of the wider ones.
func holdBody(budgets ...*bodybudget.Budget) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength == 0 {
				return next(c) // no body (a server request of unknown length says -1): nothing to hold
			}
			held := &heldBody{ctx: req.Context(), budgets: budgets, body: req.Body}
			defer held.release()
			if req.ContentLength > 0 {
				if err := held.take(req.ContentLength); err != nil {
					return err
				}
				held.known = true
			}
			req.Body = held
			return next(c)
		}
	}
}

// heldBody is a request body whose bytes are taken from the budgets.
type heldBody struct {
	ctx     context.Context
	budgets []*bodybudget.Budget
	body    io.ReadCloser
	known   bool  // the length was known and taken before the first read
	bytes   int64 // taken so far, from each budget
}

func (h *heldBody) take(n int64) error {
	for i, b := range h.budgets {
		err := b.Acquire(h.ctx, n)
		if err == nil {
			continue
		}
		for _, taken := range h.budgets[:i] {
			taken.Release(n)
		}
		if errors.Is(err, bodybudget.ErrExhausted) || errors.Is(err, context.DeadlineExceeded) {
			return errBodyBudget
		}
		return err
	}
	h.bytes += n
	return nil
}

func (h *heldBody) release() {
	for _, b := range h.budgets {
		b.Release(h.bytes)
	}
}

func (h *heldBody) Read(p []byte) (int, error) {
	n, err := h.body.Read(p)
	if !h.known && n > 0 {
		if terr := h.take(int64(n)); terr != nil {
			return 0, terr
		}
	}
	return n, err
}

func (h *heldBody) Close() error { return h.body.Close() }

// errBodyBudget is the answer to a body that found no room in the budget.
var errBodyBudget = &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, RetryAfter: 1,
	Message: "the server holds as many request bodies as its memory budget allows; nothing was changed, retry shortly"}
