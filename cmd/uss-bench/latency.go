package main

import (
	"slices"
	"time"
)

// Latencies summarizes every recorded latency of a run: nothing is sampled away, so p99 is
// the 99th percentile of all requests, not of a subset.
type Latencies struct {
	Count int
	Mean  time.Duration
	P50   time.Duration
	P99   time.Duration
	Max   time.Duration
}

// summarize sorts ds in place and returns its summary.
func summarize(ds []time.Duration) Latencies {
	if len(ds) == 0 {
		return Latencies{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Latencies{
		Count: len(ds),
		Mean:  sum / time.Duration(len(ds)),
		P50:   percentile(ds, 50),
		P99:   percentile(ds, 99),
		Max:   ds[len(ds)-1],
	}
}

// percentile is the nearest-rank percentile of sorted: the smallest value that at least p% of
// the values do not exceed.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (len(sorted)*p + 99) / 100 // ceil(n*p/100), 1-based
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}
