package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// writers is the write load of the kill and shutdown attacks: concurrent clients, each setting
// new users' variations one after another, recording which writes were acknowledged (200).
type writers struct {
	base   atomic.Pointer[string] // the server's URL; an attack may move it (a restarted server)
	key    string
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	acked    []string    // users whose write answered 200
	ackTimes []time.Time // when, in the same order
	statuses map[int]int // every answer by status; 0: no answer (refused, reset, timeout)
}

// campaign is the campaign key of every write the load makes.
const campaign = "attack"

func startWriters(n int, base, key string) *writers {
	ctx, cancel := context.WithCancel(context.Background())
	w := &writers{key: key, cancel: cancel, statuses: map[int]int{}}
	w.base.Store(&base)
	for c := range n {
		w.wg.Go(func() { w.write(ctx, c) })
	}
	return w
}

func (w *writers) write(ctx context.Context, c int) {
	client := &http.Client{Timeout: 10 * time.Second}
	for n := 0; ctx.Err() == nil; n++ {
		user := fmt.Sprintf("w%d-%d", c, n)
		body := fmt.Sprintf(`{"userId":%q,"campaignKey":%q,"variationName":"V-%s"}`, user, campaign, user)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, *w.base.Load()+"/v1/storage", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+w.key)
		req.Header.Set("Content-Type", "application/json")
		status := 0
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			status = resp.StatusCode
		}
		if ctx.Err() != nil && status == 0 {
			return // stopped by the attack, not refused by the server
		}
		w.mu.Lock()
		w.statuses[status]++
		if status == http.StatusOK {
			w.acked = append(w.acked, user)
			w.ackTimes = append(w.ackTimes, time.Now())
		}
		w.mu.Unlock()
		if status != http.StatusOK {
			time.Sleep(20 * time.Millisecond) // a client backing off, not a busy loop
		}
	}
}

// moveTo points the load at another server.
func (w *writers) moveTo(base string) { w.base.Store(&base) }

// ackedCount is how many writes were acknowledged so far.
func (w *writers) ackedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// firstAckAfter is the first acknowledgement after t (zero if none).
func (w *writers) firstAckAfter(t time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first time.Time
	for _, at := range w.ackTimes {
		if at.After(t) && (first.IsZero() || at.Before(first)) {
			first = at
		}
	}
	return first
}

// waitAckAfter waits until a write acknowledged after t, or timeout.
func (w *writers) waitAckAfter(t time.Time, timeout time.Duration) (time.Time, bool) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if at := w.firstAckAfter(t); !at.IsZero() {
			return at, true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Time{}, false
}

func (w *writers) stop() {
	w.cancel()
	w.wg.Wait()
}

// statusSummary is the answers by status, "200×n 503×m no-answer×k".
func (w *writers) statusSummary() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	codes := make([]int, 0, len(w.statuses))
	for code := range w.statuses {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	var parts []string
	for _, code := range codes {
		name := fmt.Sprint(code)
		if code == 0 {
			name = "no-answer"
		}
		parts = append(parts, fmt.Sprintf("%s×%d", name, w.statuses[code]))
	}
	return strings.Join(parts, " ")
}

// fiveHundreds counts answers 500 and above other than 503 (which promises nothing changed).
func (w *writers) fiveHundreds() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for code, count := range w.statuses {
		if code >= 500 && code != http.StatusServiceUnavailable {
			n += count
		}
	}
	return n
}

// verify reads the database and counts acknowledged writes that are missing or wrong.
func (w *writers) verify(ctx context.Context, databaseURL string) (acked, lost int, err error) {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT user_id, variation_name FROM assignments WHERE campaign_key = $1", campaign)
	if err != nil {
		return 0, 0, err
	}
	stored := map[string]string{}
	var user, variation string
	if _, err := pgx.ForEachRow(rows, []any{&user, &variation}, func() error { stored[user] = variation; return nil }); err != nil {
		return 0, 0, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, u := range w.acked {
		if stored[u] != "V-"+u {
			lost++
		}
	}
	return len(w.acked), lost, nil
}
