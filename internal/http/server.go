// Package httpapi is uss's HTTP API (echo): routing, middleware, request decoding and the
// mapping of domain errors to the JSON error shape. Handlers are thin: decode, call the
// domain, render.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/uss/uss/api"
	"github.com/uss/uss/internal/apikey"
	"github.com/uss/uss/internal/bodybudget"
	"github.com/uss/uss/internal/decision"
	"github.com/uss/uss/internal/goals"
	"github.com/uss/uss/internal/growthbook"
	"github.com/uss/uss/internal/history"
	"github.com/uss/uss/internal/identity"
	"github.com/uss/uss/internal/metrics"
	"github.com/uss/uss/internal/optimizely"
	"github.com/uss/uss/internal/reportpages"
	"github.com/uss/uss/internal/reports"
	"github.com/uss/uss/internal/settings"
	"github.com/uss/uss/internal/transfer"
	"github.com/uss/uss/internal/uisession"
	"github.com/uss/uss/internal/uss"
	"github.com/uss/uss/internal/vwofme"
)

// Deps is what the API serves.
type Deps struct {
	Storage *uss.Service
	// The other SDKs' sticky storage.
	VWOFME     *vwofme.Service
	GrowthBook *growthbook.Service
	Optimizely *optimizely.Service
	Settings   *settings.Registry
	Decisions  *decision.Service
	Goals      *goals.Service
	Reports    *reports.Service
	// The life of assignments: identity merge, history, bulk export and import.
	Identity *identity.Service
	History  *history.Service
	Transfer *transfer.Service
	Keys     *apikey.Resolver
	// Sessions sign people in to the report pages.
	Sessions *uisession.Service
	// Ready reports whether the server can serve (database reachable and migrated).
	Ready   func(context.Context) error
	Metrics *metrics.Metrics
	Logger  *slog.Logger

	BodyLimit         int64
	SettingsBodyLimit int64
	// BodyBudget bounds the bytes of request bodies held at once, across requests (imports
	// stream, and take none of it).
	BodyBudget *bodybudget.Budget
	// SettingsBudget bounds the bytes of settings files being handled at once, within
	// BodyBudget: parsing and storing one holds several times its size.
	SettingsBudget  *bodybudget.Budget
	ImportBodyLimit int64
	RequestTimeout  time.Duration
	// BulkTimeout bounds an export or an import instead of RequestTimeout.
	BulkTimeout time.Duration

	// Started is nil once the server has reached its database; until then the API answers 503
	// with it (nil Started: always started).
	Started func() error
}

// New builds the echo instance with every route.
func New(d Deps) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(d.Logger)

	// Outermost first: every later layer can log with the request id, and the access log and
	// metrics see the status the error handler chose (they render errors as they pass).
	ids := newRequestIDs()
	e.Use(ids.middleware, accessLog(d.Logger), recoverPanics(d.Logger), observe(d.Metrics))

	e.GET("/livez", livez)
	e.GET("/readyz", readyz(d.Ready))
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{})))
	e.GET("/openapi.yaml", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/yaml", api.OpenAPI) })

	// Middleware per route rather than on a group: a group's middleware makes echo route every
	// unknown /v1 path and method to it, which would answer 404 where 405 is right.
	v1 := &routes{e: e, bodyLimit: d.BodyLimit, mw: []echo.MiddlewareFunc{started(d.Started), requestContext(d.RequestTimeout), authenticate(d.Keys)}, budget: d.BodyBudget}
	bulk := &routes{e: e, bodyLimit: d.ImportBodyLimit, mw: []echo.MiddlewareFunc{started(d.Started), requestContext(d.BulkTimeout), authenticate(d.Keys)}}

	storage := storageHandlers{svc: d.Storage, lookups: func(hit bool) {
		result := "miss"
		if hit {
			result = "hit"
		}
		d.Metrics.StorageLookups.WithLabelValues(result).Inc()
	}}
	v1.add(http.MethodGet, "/storage", storage.get)
	v1.add(http.MethodPost, "/storage", storage.set)
	v1.add(http.MethodDelete, "/storage", storage.delete)
	v1.add(http.MethodPost, "/storage/batch-get", storage.batchGet)
	v1.add(http.MethodPost, "/storage/batch-set", storage.batchSet)
	v1.add(http.MethodGet, "/storage/history", historyHandlers{svc: d.History}.list)

	persisted := persistedHandlers{svc: d.Storage}
	v1.add(http.MethodGet, "/persisted-values", persisted.load)
	v1.add(http.MethodPut, "/persisted-values", persisted.save)
	v1.add(http.MethodDelete, "/persisted-values", persisted.delete)

	counts := func(vendor string) vendorCounts {
		return vendorCounts{
			lookup: func(hit bool) {
				result := "miss"
				if hit {
					result = "hit"
				}
				d.Metrics.VendorLookups.WithLabelValues(vendor, result).Inc()
			},
			saved: func() { d.Metrics.VendorSaves.WithLabelValues(vendor).Inc() },
		}
	}
	fme := vwoFMEHandlers{svc: d.VWOFME, counts: counts("vwo_fme")}
	v1.add(http.MethodGet, "/vwo-fme/storage", fme.get)
	v1.addLimited(http.MethodPost, "/vwo-fme/storage", fme.save, min(d.BodyLimit, vwofme.MaxRecordBytes))
	growthBook := growthBookHandlers{svc: d.GrowthBook, counts: counts("growthbook")}
	v1.add(http.MethodGet, "/growthbook/sticky-buckets", growthBook.get)
	v1.add(http.MethodPut, "/growthbook/sticky-buckets", growthBook.save)
	v1.add(http.MethodPost, "/growthbook/sticky-buckets/batch-get", growthBook.batchGet)
	optimizelyAPI := optimizelyHandlers{svc: d.Optimizely, counts: counts("optimizely")}
	v1.add(http.MethodPost, "/optimizely/profiles/lookup", optimizelyAPI.lookup)
	v1.add(http.MethodPost, "/optimizely/profiles/save", optimizelyAPI.save)

	settingsAPI := settingsHandlers{registry: d.Settings, warned: func(n int) { d.Metrics.SettingsWarnings.Add(float64(n)) }}
	v1.addLimited(http.MethodPut, "/settings", settingsAPI.put, d.SettingsBodyLimit, d.SettingsBudget)
	v1.add(http.MethodGet, "/settings", settingsAPI.get)

	decided := func(endpoint string, dec decision.Decision) {
		d.Metrics.Decisions.WithLabelValues(endpoint, string(dec.Source), string(dec.ReasonCode)).Inc()
	}
	decisions := decisionHandlers{svc: d.Decisions, decided: decided}
	v1.add(http.MethodPost, "/activate", decisions.activate)
	v1.add(http.MethodPost, "/variation", decisions.variation)
	v1.add(http.MethodPost, "/track", trackHandlers{svc: d.Goals, decided: decided}.track)
	v1.add(http.MethodGet, "/reports/campaign", reportHandlers{svc: d.Reports}.campaign)
	v1.add(http.MethodPost, "/identities/merge", identityHandlers{svc: d.Identity}.merge)
	transfers := transferHandlers{svc: d.Transfer, timeout: d.BulkTimeout}
	bulk.add(http.MethodGet, "/export/assignments", transfers.export)
	bulk.add(http.MethodPost, "/import/assignments", transfers.importAssignments)

	uiRoutes(e, uiHandlers{sessions: d.Sessions, reports: d.Reports, pages: reportpages.New(),
		assets: reportpages.Assets(), logger: d.Logger}, d.BodyLimit, requestContext(d.RequestTimeout), holdBody(d.BodyBudget))
	return e
}

// routes adds /v1 routes with their middleware: body limit, timeout, authentication, and the
// body budget (when there is one: an import streams).
type routes struct {
	e         *echo.Echo
	bodyLimit int64
	mw        []echo.MiddlewareFunc
	budget    *bodybudget.Budget
}

func (r *routes) add(method, path string, h echo.HandlerFunc) {
	r.addLimited(method, path, h, r.bodyLimit)
}

// addLimited adds a route with its own body limit; narrower budgets, taken before the route's
// own, bound the route's bodies further.
func (r *routes) addLimited(method, path string, h echo.HandlerFunc, limit int64, narrower ...*bodybudget.Budget) {
	mw := append([]echo.MiddlewareFunc{bodyLimit(limit)}, r.mw...)
	if r.budget != nil {
		mw = append(mw, holdBody(append(narrower, r.budget)...))
	}
	r.e.Add(method, "/v1"+path, h, mw...)
}
