package httpapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uss/uss/internal/transfer"
)

type transferHandlers struct {
	svc *transfer.Service
	// timeout is the budget of one export or import; the server's read and write deadlines,
	// sized for ordinary requests, are moved out to it.
	timeout time.Duration
}

// extendDeadlines lets this request's body and response take as long as a bulk transfer may.
func (h transferHandlers) extendDeadlines(c echo.Context) {
	rc := http.NewResponseController(c.Response())
	deadline := time.Now().Add(h.timeout)
	_ = rc.SetReadDeadline(deadline) // not every ResponseWriter (a test recorder) has deadlines
	_ = rc.SetWriteDeadline(deadline)
}

// export streams the account's assignments as NDJSON. The status is sent with the first
// bytes; a failure after that cannot become an error response, so the connection is cut and
// the client sees a broken transfer, never a short file that looks complete.
func (h transferHandlers) export(c echo.Context) error {
	q, err := query(c, "campaignKey")
	if err != nil {
		return err
	}
	campaignKey, filtered := q["campaignKey"]
	if filtered && campaignKey == "" {
		return invalid("campaignKey must not be empty (leave it out for every campaign)")
	}
	h.extendDeadlines(c)
	w := &ndjsonResponse{c: c}
	if err := h.svc.Export(c.Request().Context(), account(c), campaignKey, w); err != nil {
		if !w.started {
			return err
		}
		panic(http.ErrAbortHandler)
	}
	w.start()
	return nil
}

// ndjsonResponse writes the status and content type with the first bytes, and flushes each
// write (the exporter writes 64 KiB at a time) so the client reads as the server writes.
type ndjsonResponse struct {
	c       echo.Context
	started bool
}

func (w *ndjsonResponse) start() {
	if !w.started {
		w.started = true
		w.c.Response().Header().Set(echo.HeaderContentType, "application/x-ndjson")
		w.c.Response().WriteHeader(http.StatusOK)
	}
}

func (w *ndjsonResponse) Write(p []byte) (int, error) {
	w.start()
	n, err := w.c.Response().Write(p)
	w.c.Response().Flush()
	return n, err
}

func (h transferHandlers) importAssignments(c echo.Context) error {
	if _, err := query(c); err != nil {
		return err
	}
	h.extendDeadlines(c)
	counts, err := h.svc.Import(c.Request().Context(), account(c), c.Request().Body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, counts)
}
