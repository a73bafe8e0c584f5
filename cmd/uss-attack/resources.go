package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uss/uss/internal/ussproc"
)

// attackSlowHeaders opens many connections that send their request headers a byte a second
// (slowloris) and checks that the server cuts them and keeps serving everyone else.
func attackSlowHeaders(ctx context.Context, e *env) (r result) {
	_, key, srv, err := e.setup(ctx, "slowheaders")
	if err != nil {
		r.check(false, "setup: %v", err)
		return r
	}
	defer srv.Stop()

	var opened, refused, cut atomic.Int64
	cutAfter := make(chan time.Duration, e.opts.slow)
	var wg sync.WaitGroup
	for range e.opts.slow {
		wg.Go(func() {
			conn, err := net.DialTimeout("tcp", srv.Addr, 5*time.Second)
			if err != nil {
				refused.Add(1)
				return
			}
			defer conn.Close()
			opened.Add(1)
			began := time.Now()
			header := "GET /livez HTTP/1.1\r\nHost: uss\r\nX-Slow: " + strings.Repeat("a", 60)
			for i := 0; i < len(header) && time.Since(began) < 30*time.Second; i++ {
				if _, err := conn.Write([]byte{header[i]}); err != nil {
					break
				}
				_ = conn.SetReadDeadline(time.Now().Add(time.Second))
				if _, err := conn.Read(make([]byte, 1)); errors.Is(err, io.EOF) || (err != nil && !isTimeout(err)) {
					break
				}
			}
			if time.Since(began) < 30*time.Second {
				cut.Add(1)
				cutAfter <- time.Since(began)
			}
		})
	}

	// Meanwhile, ordinary clients on fresh connections.
	time.Sleep(time.Second) // the slow connections are open
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var latencies []time.Duration
	served, failed := 0, 0
	for i := 0; i < 100; i++ {
		path := "/livez"
		k := ""
		if i%2 == 1 {
			path, k = "/v1/storage?userId=u&campaignKey=c", key
		}
		began := time.Now()
		status, _ := send(client, srv.URL(path), http.MethodGet, nil, k, nil)
		if status == http.StatusOK || status == http.StatusNotFound {
			served++
			latencies = append(latencies, time.Since(began))
		} else {
			failed++
		}
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	close(cutAfter)
	var cuts []time.Duration
	for d := range cutAfter {
		cuts = append(cuts, d)
	}
	slices.Sort(cuts)
	slices.Sort(latencies)

	r.figure("%d slow connections opened (%d refused); %d cut by the server", opened.Load(), refused.Load(), cut.Load())
	if len(cuts) > 0 {
		r.figure("cut after: first %s, median %s, last %s (ReadHeaderTimeout at work)",
			seconds(cuts[0]), seconds(cuts[len(cuts)/2]), seconds(cuts[len(cuts)-1]))
	}
	r.figure("ordinary requests during the attack: %d served, %d failed", served, failed)
	if len(latencies) > 0 {
		r.figure("their latency: median %s, max %s", latencies[len(latencies)/2].Round(time.Millisecond), latencies[len(latencies)-1].Round(time.Millisecond))
	}
	r.check(failed == 0, "%d ordinary requests failed during the attack", failed)
	r.check(cut.Load() == opened.Load(), "%d slow connections were still open after 30 s", opened.Load()-cut.Load())
	r.check(srv.Alive() == nil, "uss-server exited: %v", srv.Alive())
	return r
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// hostileBody is one kind of body built to cost the server memory.
type hostileBody struct {
	name   string
	method string
	path   string
	body   []byte
}

func hostileBodies() []hostileBody {
	tenMB := 10 << 20
	bigString := []byte(`{"userId":"` + strings.Repeat("x", tenMB) + `","campaignKey":"c","variationName":"V"}`)
	bigSettings := []byte(`{"sdkKey":"k","accountId":1,"version":1,"campaigns":[` +
		strings.Repeat(`{"id":1,"key":"c","name":"c","status":"RUNNING","type":"VISUAL_AB","percentTraffic":100,"segments":{},"goals":[],"variations":[]},`, tenMB/130) + `{}]}`)
	nest := 10000
	deepArray := []byte(`{"userId":` + strings.Repeat("[", nest) + strings.Repeat("]", nest) + `,"campaignKey":"c"}`)
	deepObject := []byte(`{"campaignKey":"c","userId":"u","customVariables":` + strings.Repeat(`{"a":`, nest) + "1" + strings.Repeat("}", nest) + `}`)
	hugeNumber := []byte(strings.Repeat("9", tenMB))
	manyNumbers := new(bytes.Buffer) // just under the default 1 MiB body limit, so it is parsed
	manyNumbers.WriteString(`{`)
	for i := range 60000 {
		fmt.Fprintf(manyNumbers, `"k%d":1e308,`, i)
	}
	manyNumbers.WriteString(`"z":1e999999}`)
	return []hostileBody{
		{"10 MB string to /v1/storage", http.MethodPost, "/v1/storage", bigString},
		{"10 MB to /v1/storage/batch-set", http.MethodPost, "/v1/storage/batch-set", bigString},
		{"10 MB settings file of broken campaigns", http.MethodPut, "/v1/settings", bigSettings},
		{"10k-level array nesting", http.MethodPost, "/v1/storage", deepArray},
		{"10k-level object nesting", http.MethodPost, "/v1/activate", deepObject},
		{"10 MB number", http.MethodPut, "/v1/persisted-values?key=u&configName=n", hugeNumber},
		{"60k huge numbers", http.MethodPut, "/v1/persisted-values?key=u&configName=n", manyNumbers.Bytes()},
	}
}

// attackHostileBodies sends memory-hungry bodies for a while and checks the server's resident
// memory at its peak and after. A 503 that says the body budget is full is an answer, not a
// defect: the budget is how the peak is bounded.
func attackHostileBodies(ctx context.Context, e *env) (r result) {
	_, key, srv, err := e.setup(ctx, "hostile")
	if err != nil {
		r.check(false, "setup: %v", err)
		return r
	}
	defer srv.Stop()
	client := &http.Client{Timeout: 30 * time.Second}
	// Warm up with ordinary traffic so "before" is a serving server, not an idle one.
	for i := range 200 {
		send(client, srv.URL("/v1/storage"), http.MethodPost,
			[]byte(fmt.Sprintf(`{"userId":"warm%d","campaignKey":"c","variationName":"V"}`, i)), key, nil)
	}
	time.Sleep(time.Second)
	before, _, err := ussproc.ReadMemory(srv.Pid())
	if err != nil {
		r.check(false, "read memory: %v", err)
		return r
	}
	sampler := ussproc.StartRSSSampler(srv.Pid(), 100*time.Millisecond)

	bodies := hostileBodies()
	type tally struct{ sent, busy, fiveXX, noAnswer atomic.Int64 }
	tallies := make([]tally, len(bodies))
	statuses := make([]sync.Map, len(bodies))
	deadline := time.Now().Add(e.opts.hostile)
	var wg sync.WaitGroup
	for worker := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(worker), 7))
			for time.Now().Before(deadline) && ctx.Err() == nil {
				i := rng.IntN(len(bodies))
				b := bodies[i]
				status, answer := send(client, srv.URL(b.path), b.method, b.body, key, nil)
				tallies[i].sent.Add(1)
				v, _ := statuses[i].LoadOrStore(status, new(atomic.Int64))
				v.(*atomic.Int64).Add(1)
				switch {
				case status == 0:
					tallies[i].noAnswer.Add(1)
				case status == http.StatusServiceUnavailable && bytes.Contains(answer, []byte(`"code":"unavailable"`)):
					tallies[i].busy.Add(1)
				case status >= 500:
					tallies[i].fiveXX.Add(1)
				}
			}
		})
	}
	wg.Wait()
	// What the server gives back once the attack stops: the Go runtime returns freed memory to
	// the system gradually, so RSS is read twice.
	time.Sleep(5 * time.Second)
	soon, _, err := ussproc.ReadMemory(srv.Pid())
	if err == nil {
		time.Sleep(25 * time.Second)
	}
	after, _, err2 := ussproc.ReadMemory(srv.Pid())
	peak, hwm, _ := sampler.Stop()
	if err = cmp.Or(err, err2); err != nil {
		r.check(false, "read memory: %v", err)
		return r
	}

	var busy, fiveXX, noAnswer int64
	for i, b := range bodies {
		var parts []string
		statuses[i].Range(func(k, v any) bool {
			parts = append(parts, fmt.Sprintf("%d×%d", k.(int), v.(*atomic.Int64).Load()))
			return true
		})
		slices.Sort(parts)
		r.figure("%s (%s): %d sent, answers %s", b.name, mib(int64(len(b.body))), tallies[i].sent.Load(), strings.Join(parts, " "))
		busy += tallies[i].busy.Load()
		fiveXX += tallies[i].fiveXX.Load()
		noAnswer += tallies[i].noAnswer.Load()
	}
	r.figure("RSS before %s; after: %s 5 s after the last body, %s 30 s after; peak sampled %s, kernel high-water mark %s",
		mib(before), mib(soon), mib(after), mib(peak), mib(hwm))
	r.figure("503 unavailable (the body budget full): %d; other 5xx: %d; unanswered: %d; panics logged: %d",
		busy, fiveXX, noAnswer, e.panics("hostile"))
	r.check(max(peak, hwm) <= 100<<20, "RSS at its peak is %s, over 100 MB", mib(max(peak, hwm)))
	r.check(after <= 100<<20, "RSS 30 s after the attack is %s, over 100 MB", mib(after))
	r.check(fiveXX == 0, "%d answers were 5xx other than 503 unavailable", fiveXX)
	r.check(e.panics("hostile") == 0, "uss-server logged a panic")
	r.check(srv.Alive() == nil, "uss-server exited: %v", srv.Alive())
	return r
}
