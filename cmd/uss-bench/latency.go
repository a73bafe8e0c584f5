package main

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies summarizes every latency of a run: all are recorded in an HDR histogram (to three
// significant digits, 1 µs to a minute), nothing is sampled away, so p99 is the 99th
// percentile of all requests.
type Latencies struct {
	Count int64
	Mean  time.Duration
	P50   time.Duration
	P99   time.Duration
	Max   time.Duration
}

// newHistogram records latencies in microseconds, the unit of pgbench's transaction log.
func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
}

// record adds d; a latency past the histogram's range counts as its largest value.
func record(h *hdrhistogram.Histogram, d time.Duration) {
	us := min(max(d.Microseconds(), 1), h.HighestTrackableValue())
	_ = h.RecordValue(us) // in range by construction
}

func summarize(h *hdrhistogram.Histogram) Latencies {
	if h.TotalCount() == 0 {
		return Latencies{}
	}
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	return Latencies{
		Count: h.TotalCount(),
		Mean:  time.Duration(h.Mean() * float64(time.Microsecond)),
		P50:   us(h.ValueAtQuantile(50)),
		P99:   us(h.ValueAtQuantile(99)),
		Max:   us(h.Max()),
	}
}
