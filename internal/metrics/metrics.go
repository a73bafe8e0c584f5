// Package metrics holds uss's Prometheus metrics. Each server has its own registry, so several
// servers can live in one process (tests run two against one database).
package metrics

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the counters and histograms uss updates.
type Metrics struct {
	Registry *prometheus.Registry
	// Requests: latency (and, through _count, the number) of requests by route, method and status.
	Requests *prometheus.HistogramVec
	// StorageLookups: GET /v1/storage answers by result ("hit" or "miss").
	StorageLookups *prometheus.CounterVec
	// Decisions by endpoint (activate, variation, track), source and reason code. Every label
	// comes from a closed set (uss.Source, decision.ReasonCodes).
	Decisions *prometheus.CounterVec
	// GroupCommitRows: rows per group-committed statement, by write (set, activate).
	GroupCommitRows *prometheus.HistogramVec
	// RetentionDeleted: rows the retention task deleted, by table (assignments, conversions,
	// history).
	RetentionDeleted *prometheus.CounterVec
	// RetentionRuns: retention runs by result (ran, skipped: another server held the lock,
	// failed).
	RetentionRuns *prometheus.CounterVec
	// SettingsWarnings: warnings of the settings files accepted by PUT /v1/settings.
	SettingsWarnings prometheus.Counter
	// VendorLookups: reads of the other SDKs' storage by vendor (vwo_fme, growthbook,
	// optimizely) and result (hit, miss); a batch get counts each document asked for.
	VendorLookups *prometheus.CounterVec
	// VendorSaves: saves of the other SDKs' storage by vendor.
	VendorSaves *prometheus.CounterVec
}

// New registers uss's metrics, the Go runtime's, and the pool's statistics.
func New(pool *pgxpool.Pool) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "uss_http_request_duration_seconds",
			Help:    "Latency of HTTP requests by route, method and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method", "status"}),
		StorageLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uss_storage_lookups_total",
			Help: "Assignment lookups through GET /v1/storage by result (hit, miss).",
		}, []string{"result"}),
		Decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uss_decisions_total",
			Help: "Decisions by endpoint, source (stored, whitelisted, bucketed, none) and reason_code (see docs/decisions.md).",
		}, []string{"endpoint", "source", "reason_code"}),
		GroupCommitRows: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "uss_group_commit_rows",
			Help:    "Rows written per group-committed statement, by write (set, activate).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}, []string{"write"}),
		RetentionDeleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uss_retention_deleted_rows_total",
			Help: "Rows deleted by the retention task, by table.",
		}, []string{"table"}),
		RetentionRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uss_retention_runs_total",
			Help: "Retention runs by result (ran; skipped: another server held the lock; failed).",
		}, []string{"result"}),
		SettingsWarnings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "uss_settings_warnings_total",
			Help: "Warnings of the settings files accepted by PUT /v1/settings (each also in the answer and the log).",
		}),
		VendorLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uss_vendor_lookups_total",
			Help: "Reads of VWO FME records, GrowthBook documents and Optimizely profiles by vendor and result (hit, miss).",
		}, []string{"vendor", "result"}),
		VendorSaves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uss_vendor_saves_total",
			Help: "Saves of VWO FME records, GrowthBook documents and Optimizely profiles by vendor.",
		}, []string{"vendor"}),
	}
	m.Registry.MustRegister(
		m.Requests, m.StorageLookups, m.Decisions, m.GroupCommitRows, m.RetentionDeleted, m.RetentionRuns,
		m.SettingsWarnings, m.VendorLookups, m.VendorSaves,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		poolCollector{pool: pool},
	)
	return m
}

// WatchBodyBudget publishes the body budget: its size and the bytes held at scrape time.
func (m *Metrics) WatchBodyBudget(size int64, held func() int64) {
	m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "uss_body_budget_bytes",
			Help: "Bytes of request bodies the process may hold at once (USS_BODY_BUDGET).",
		}, func() float64 { return float64(size) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "uss_body_budget_held_bytes",
			Help: "Bytes of request bodies held now, out of uss_body_budget_bytes.",
		}, func() float64 { return float64(held()) }),
	)
}

// poolCollector reads pgxpool's statistics at scrape time.
type poolCollector struct{ pool *pgxpool.Pool }

var (
	poolTotal    = prometheus.NewDesc("uss_db_pool_connections", "Connections in the pool by state.", []string{"state"}, nil)
	poolMax      = prometheus.NewDesc("uss_db_pool_max_connections", "Maximum size of the pool.", nil, nil)
	poolAcquires = prometheus.NewDesc("uss_db_pool_acquires_total", "Connections acquired from the pool.", nil, nil)
	poolWaits    = prometheus.NewDesc("uss_db_pool_empty_acquires_total", "Acquires that had to wait for a connection.", nil, nil)
	poolWaitTime = prometheus.NewDesc("uss_db_pool_acquire_seconds_total", "Time spent acquiring connections.", nil, nil)
)

func (p poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolTotal, poolMax, poolAcquires, poolWaits, poolWaitTime} {
		ch <- d
	}
}

func (p poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.pool.Stat()
	ch <- prometheus.MustNewConstMetric(poolTotal, prometheus.GaugeValue, float64(s.AcquiredConns()), "acquired")
	ch <- prometheus.MustNewConstMetric(poolTotal, prometheus.GaugeValue, float64(s.IdleConns()), "idle")
	ch <- prometheus.MustNewConstMetric(poolTotal, prometheus.GaugeValue, float64(s.ConstructingConns()), "constructing")
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolWaitTime, prometheus.CounterValue, s.AcquireDuration().Seconds())
}
