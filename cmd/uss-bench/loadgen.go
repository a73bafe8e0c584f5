package main

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Result is what one HTTP run measured. Rate and latencies count successful (2xx) requests
// only, as pgbench's tps counts committed transactions; everything else is an error.
type Result struct {
	OK        int
	Errors    map[string]int // "status 503", "read: connection reset", …
	Elapsed   time.Duration
	Latencies Latencies
	CPU       cpuUse
}

// Rate is successful requests per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// ErrorCount is the number of failed requests.
func (r Result) ErrorCount() int {
	n := 0
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// ErrorSummary lists the errors by kind, most frequent first.
func (r Result) ErrorSummary() string {
	kinds := slices.SortedFunc(maps.Keys(r.Errors), func(a, b string) int {
		if r.Errors[a] != r.Errors[b] {
			return r.Errors[b] - r.Errors[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d × %s", r.Errors[k], k)
	}
	return strings.Join(parts, ", ")
}

// workerLog is what one worker records; workers share nothing while they run.
type workerLog struct {
	hist   *hdrhistogram.Histogram
	errors map[string]int
	ok     int
}

func newWorkerLogs(n int) []*workerLog {
	logs := make([]*workerLog, n)
	for i := range logs {
		logs[i] = &workerLog{hist: newHistogram(), errors: map[string]int{}}
	}
	return logs
}

func (l *workerLog) record(status int, err error, latency time.Duration) {
	switch {
	case err != nil:
		l.errors[errorKind(err)]++
	case status < 200 || status > 299:
		l.errors[fmt.Sprintf("status %d", status)]++
	default:
		l.ok++
		record(l.hist, latency)
	}
}

// errorKind drops what differs between occurrences of one error (addresses, ports).
func errorKind(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		if j := strings.Index(s, ": "); j < i {
			return s[:j] + ": " + s[i+2:]
		}
	}
	return s
}

func merge(logs []*workerLog, elapsed time.Duration) Result {
	r := Result{Errors: map[string]int{}, Elapsed: elapsed}
	all := newHistogram()
	for _, l := range logs {
		r.OK += l.ok
		all.Merge(l.hist)
		for k, n := range l.errors {
			r.Errors[k] += n
		}
	}
	r.Latencies = summarize(all)
	return r
}

// load drives workers, each on its own keep-alive connection, for d.
//
// With rate 0 it is a closed loop: each worker sends its next request as soon as the previous
// answer is read, which measures the peak rate at this concurrency, as pgbench does with the
// same number of clients.
//
// With a rate it is an open loop offering rate requests per second whatever the server does:
// request i of worker w is due at start + (w + i*workers)/rate. A request sent late because
// the previous answer on its connection came late counts its latency from when it was due, so
// a slow answer shows in the requests queued behind it instead of silently lowering the load
// (coordinated omission). A request sent late only because the worker's own timer woke it
// late (Go's timers overshoot by up to a millisecond on an idle machine) counts from when it
// was sent: that delay is the load generator's, not the server's. Requests still unsent d/2
// after the end are counted as errors.
func load(ctx context.Context, e endpoint, workers int, rate float64, d time.Duration, next requestFunc) Result {
	logs := newWorkerLogs(workers)
	start := time.Now()
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(workers) / rate)
		start = start.Add(50 * time.Millisecond) // every worker dialled before the first is due
	}
	end, giveUp := start.Add(d), start.Add(d+d/2)
	var wg sync.WaitGroup
	for w, log := range logs {
		wg.Go(func() {
			c := newConn(e)
			defer c.close()
			rng := rand.New(rand.NewPCG(uint64(start.UnixNano()), uint64(w)))
			var req call
			first := start.Add(time.Duration(float64(interval) * float64(w) / float64(workers)))
			for seq := 0; ctx.Err() == nil; seq++ {
				next(&req, rng, w, seq)
				from := time.Now()
				if rate > 0 {
					due := first.Add(time.Duration(seq) * interval)
					switch {
					case !due.Before(end):
						return
					case from.After(giveUp):
						log.errors["not sent: behind schedule at the end"] += int((end.Sub(due) + interval - 1) / interval)
						return
					case due.After(from):
						time.Sleep(due.Sub(from))
						from = time.Now()
					default:
						from = due
					}
				}
				status, _, err := c.do(&req)
				done := time.Now()
				log.record(status, err, done.Sub(from))
				if rate == 0 && !done.Before(end) {
					return
				}
			}
		})
	}
	wg.Wait()
	if rate > 0 {
		return merge(logs, d)
	}
	return merge(logs, time.Since(start))
}
