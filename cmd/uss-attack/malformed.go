package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// route is one API route with a valid request to start mutating from.
type route struct {
	method, path, query string
	body                string // valid body ("" for none)
}

// settingsFile is a small valid settings file: campaign "c" with two variations and a goal.
const settingsFile = `{"sdkKey":"sdk-key","accountId":123456,"version":1,"campaigns":[{"id":7,"key":"c","name":"c",
"status":"RUNNING","type":"VISUAL_AB","percentTraffic":100,"segments":{},
"goals":[{"identifier":"signup","id":1,"type":"CUSTOM_GOAL"}],
"variations":[{"id":1,"name":"Control","weight":50,"changes":{}},{"id":2,"name":"Variation-1","weight":50,"changes":{}}]}]}`

var routes = []route{
	{http.MethodGet, "/v1/storage", "userId=u1&campaignKey=c", ""},
	{http.MethodPost, "/v1/storage", "", `{"userId":"m1","campaignKey":"c","variationName":"Control","goalIdentifier":"signup"}`},
	{http.MethodDelete, "/v1/storage", "userId=u1&campaignKey=c", ""},
	{http.MethodPost, "/v1/storage/batch-get", "", `{"userId":"u1","campaignKeys":["c","d"]}`},
	{http.MethodPost, "/v1/storage/batch-set", "", `{"records":[{"userId":"m2","campaignKey":"c","variationName":"Control"}]}`},
	{http.MethodGet, "/v1/persisted-values", "key=u1", ""},
	{http.MethodPut, "/v1/persisted-values", "key=m3&configName=exp", `{"a":"b"}`},
	{http.MethodDelete, "/v1/persisted-values", "key=u1&configName=exp", ""},
	{http.MethodGet, "/v1/vwo-fme/storage", "featureKey=f1&userId=u1", ""},
	{http.MethodPost, "/v1/vwo-fme/storage", "", `{"featureKey":"f1","userId":"m6","rolloutVariationId":1}`},
	{http.MethodGet, "/v1/growthbook/sticky-buckets", "attributeName=id&attributeValue=u1", ""},
	{http.MethodPut, "/v1/growthbook/sticky-buckets", "", `{"attributeName":"id","attributeValue":"u1","assignments":{"exp__0":"1"}}`},
	{http.MethodPost, "/v1/growthbook/sticky-buckets/batch-get", "", `{"attributes":{"id":"u1"}}`},
	{http.MethodPost, "/v1/optimizely/profiles/lookup", "", `{"user_id":"u1"}`},
	{http.MethodPost, "/v1/optimizely/profiles/save", "", `{"user_id":"m7","experiment_bucket_map":{"e1":{"variation_id":"v1"}}}`},
	{http.MethodPut, "/v1/settings", "", settingsFile},
	{http.MethodGet, "/v1/settings", "", ""},
	{http.MethodPost, "/v1/activate", "", `{"campaignKey":"c","userId":"m4"}`},
	{http.MethodPost, "/v1/variation", "", `{"campaignKey":"c","userId":"m5"}`},
	{http.MethodPost, "/v1/track", "", `{"campaignKey":"c","userId":"u1","goalIdentifier":"signup"}`},
	{http.MethodGet, "/v1/reports/campaign", "campaignKey=c", ""},
	{http.MethodGet, "/v1/storage/history", "userId=u1&campaignKey=c", ""},
	{http.MethodPost, "/v1/identities/merge", "", `{"fromUserId":"m8","toUserId":"m9"}`},
	{http.MethodGet, "/v1/export/assignments", "campaignKey=c", ""},
	{http.MethodPost, "/v1/import/assignments", "", `{"userId":"m10","campaignKey":"c","variationName":"Control"}`},
	{http.MethodGet, "/livez", "", ""},
	{http.MethodGet, "/readyz", "", ""},
	{http.MethodGet, "/metrics", "", ""},
	{http.MethodGet, "/openapi.yaml", "", ""},
	{http.MethodGet, "/ui/", "", ""},
	{http.MethodPost, "/ui/login", "", ""},
	{http.MethodPost, "/ui/logout", "", ""},
	{http.MethodGet, "/ui/campaigns", "", ""},
	{http.MethodGet, "/ui/campaign", "campaignKey=c", ""},
	{http.MethodGet, "/ui/assets/app.css", "", ""},
}

// mutation makes a request that must be refused: none of them is a valid write.
type mutation struct {
	name  string
	apply func(r *rand.Rand, rt route) (method, target string, body []byte, header http.Header)
}

// applies says whether m makes an invalid request of rt, and one that reaches what it aims at
// (a body mutation goes to a route that reads a body). A persisted value is any JSON, so any
// well-formed body is a valid write (other fields, types, nesting, numbers, a bare value); a
// settings file may carry fields uss does not read.
func (m mutation) applies(rt route) bool {
	switch m.name {
	case "bad method", "bad credentials", "unknown route":
		return true // every route
	case "bad query":
		return rt.query != "" && (rt.method == http.MethodGet || rt.method == http.MethodDelete)
	}
	switch { // the rest mutate a body: routes that take one
	case rt.body == "":
		return false
	case rt.path == "/v1/persisted-values" && rt.method == http.MethodPut:
		return !slices.Contains([]string{"unknown field", "duplicate keys", "wrong types", "deep nesting", "huge number", "not an object"}, m.name)
	case rt.path == "/v1/vwo-fme/storage" && rt.method == http.MethodPost:
		// A VWO FME record keeps every field beside featureKey and userId as given.
		return m.name != "unknown field" && m.name != "duplicate keys"
	case rt.path == "/v1/settings" && rt.method == http.MethodPut:
		return m.name != "unknown field"
	}
	return true
}

func target(rt route, query string) string {
	if query == "" {
		return rt.path
	}
	return rt.path + "?" + query
}

// seedBody is the route's body, or a small object for routes without one (bad methods, unknown
// routes).
func seedBody(rt route) string {
	if rt.body == "" {
		return `{"userId":"u1","campaignKey":"c"}`
	}
	return rt.body
}

var mutations = []mutation{
	{"truncated JSON", func(r *rand.Rand, rt route) (string, string, []byte, http.Header) {
		b := seedBody(rt)
		return rt.method, target(rt, rt.query), []byte(b[:r.IntN(len(b))]), nil // a proper prefix of an object is never JSON
	}},
	{"invalid UTF-8 in a string", func(r *rand.Rand, rt route) (string, string, []byte, http.Header) {
		b := seedBody(rt)
		i := strings.Index(b, `":"`) + 3
		return rt.method, target(rt, rt.query), []byte(b[:i] + "\xff\xfe" + b[i:]), nil
	}},
	{"wrong types", func(r *rand.Rand, rt route) (string, string, []byte, http.Header) {
		b := seedBody(rt)
		bad := []string{`123`, `[1,2]`, `{"x":1}`, `true`, `-1e400`}[r.IntN(5)]
		i := strings.Index(b, `":"`) + 2
		j := i + 1 + strings.Index(b[i+1:], `"`) + 1
		return rt.method, target(rt, rt.query), []byte(b[:i] + bad + b[j:]), nil
	}},
	{"unknown field", func(r *rand.Rand, rt route) (string, string, []byte, http.Header) {
		b := seedBody(rt)
		return rt.method, target(rt, rt.query), []byte(`{"zzUnknown":1,` + b[1:]), nil
	}},
	{"duplicate keys", func(r *rand.Rand, rt route) (string, string, []byte, http.Header) {
		b := seedBody(rt)
		k := b[1:strings.Index(b, `:`)] // the first key, quoted
		dup := k
		// The API decodes field names case-insensitively, so a case variant is a duplicate
		// too; a settings file's are matched exactly, and a case variant is only a field
		// uss does not read.
		if r.IntN(2) == 0 && rt.path != "/v1/settings" {
			dup = strings.ToUpper(k)
		}
		return rt.method, target(rt, rt.query), []byte(`{` + dup + `:"dup-` + fmt.Sprint(r.IntN(1000)) + `",` + b[1:]), nil
	}},
	{"not an object", func(r *rand.Rand, rt route) (string, string, []byte, http.Header) {
		b := []string{``, `null`, `[]`, `"s"`, `0`, `{}{}`, `{} x`, "\x00\x01\x02", `{"a":`}[r.IntN(9)]
		return rt.method, target(rt, rt.query), []byte(b), nil
	}},
	{"random bytes", func(r *rand.Rand, rt route) (string, string, []byte, http.Header) {
		b := make([]byte, 1+r.IntN(2048))
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		b[0] = '!' // never a JSON value's first byte
		return rt.method, target(rt, rt.query), b, nil
	}},
	{"deep nesting", func(r *rand.Rand, rt route) (string, string, []byte, http.Header) {
		n := 100 + r.IntN(5000)
		return rt.method, target(rt, rt.query), []byte(`{"userId":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`), nil
	}},
	{"huge number", func(r *rand.Rand, rt route) (string, string, []byte, http.Header) {
		num := []string{"1e999999", "-1e999999", strings.Repeat("9", 5000), "18446744073709551616", "1.7976931348623157e309"}[r.IntN(5)]
		return rt.method, target(rt, rt.query), []byte(`{"userId":` + num + `,"campaignKey":"c"}`), nil
	}},
	{"bad query", func(r *rand.Rand, rt route) (string, string, []byte, http.Header) {
		q := []string{"userId=%zz&campaignKey=c", "userId=&campaignKey=", "userId=" + strings.Repeat("x", 4000) + "&campaignKey=c",
			"userId=a%00b&campaignKey=c", "userId=%ff%fe&campaignKey=c", "key=%ff&configName=%00", "campaignKey=c&campaignKey=d&userId=u"}[r.IntN(7)]
		method := rt.method
		if method != http.MethodGet && method != http.MethodDelete {
			method = http.MethodGet
		}
		return method, rt.path + "?" + q, nil, nil
	}},
	{"bad method", func(r *rand.Rand, rt route) (string, string, []byte, http.Header) {
		m := []string{"PATCH", "OPTIONS", "TRACE", "PROPFIND", fmt.Sprintf("M%08X", r.Uint32())}[r.IntN(5)]
		return m, target(rt, rt.query), []byte(seedBody(rt)), nil
	}},
	{"bad credentials", func(r *rand.Rand, rt route) (string, string, []byte, http.Header) {
		h := http.Header{"Authorization": {[]string{"", "Bearer", "Bearer ", "Basic dXNlcjpwdw==", "Bearer uss_" + strings.Repeat("A", 300),
			"Bearer uss_\xff\xfe", "Bearer uss_00000000_zzzz"}[r.IntN(7)]}}
		return rt.method, target(rt, rt.query), []byte(rt.body), h
	}},
	{"wrong content type", func(r *rand.Rand, rt route) (string, string, []byte, http.Header) {
		ct := []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"}[r.IntN(4)]
		return rt.method, target(rt, rt.query), []byte("userId=u&campaignKey=c"), http.Header{"Content-Type": {ct}}
	}},
	{"unknown route", func(r *rand.Rand, rt route) (string, string, []byte, http.Header) {
		p := []string{"/v1/storage/", "/v1/", "/v2/storage", "/v1/storage/batch-get/x", "/../etc/passwd", "/v1/%2e%2e/storage", "/" + strings.Repeat("a/", 500)}[r.IntN(7)]
		return rt.method, p, []byte(rt.body), nil
	}},
}

// attackMalformed sends malformed requests, each with the valid key most of the time (so that
// they reach the parsers) and checks: no 5xx, no panic, the database unchanged.
func attackMalformed(ctx context.Context, e *env) (r result) {
	dbURL, key, srv, err := e.setup(ctx, "malformed")
	if err != nil {
		r.check(false, "setup: %v", err)
		return r
	}
	defer srv.Stop()
	client := &http.Client{Timeout: 15 * time.Second}
	// Data for the mutations to aim at: settings, a stored user, a persisted value.
	for _, rt := range routes {
		if rt.method == http.MethodPut || rt.path == "/v1/storage" && rt.method == http.MethodPost {
			b := strings.ReplaceAll(rt.body, `"m1"`, `"u1"`)
			q := strings.ReplaceAll(rt.query, "m3", "u1")
			if status, _ := send(client, srv.URL(target(rt, q)), rt.method, []byte(b), key, nil); status != http.StatusOK {
				r.check(false, "seed %s %s answered %d", rt.method, rt.path, status)
				return r
			}
		}
	}
	before, err := snapshot(ctx, dbURL)
	if err != nil {
		r.check(false, "snapshot: %v", err)
		return r
	}

	// One kind of mutation after another, the database digested after each, so that a change
	// is attributed to the kind that made it.
	type count struct{ sent, fiveXX, noAnswer atomic.Int64 }
	byMutation := make([]count, len(mutations))
	changedBy := make([][]string, len(mutations))
	statuses := sync.Map{} // status -> *atomic.Int64
	perKind := (e.opts.malformed + len(mutations) - 1) / len(mutations)
	began := time.Now()
	for mi := range mutations {
		var next atomic.Int64
		var wg sync.WaitGroup
		for worker := range 8 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(worker), uint64(mi)))
				for ctx.Err() == nil && next.Add(1) <= int64(perKind) {
					rt := routes[rng.IntN(len(routes))]
					for !mutations[mi].applies(rt) {
						rt = routes[rng.IntN(len(routes))]
					}
					method, path, body, header := mutations[mi].apply(rng, rt)
					useKey := key
					if rng.IntN(10) == 0 {
						useKey = ""
					}
					status, _ := send(client, srv.URL(path), method, body, useKey, header)
					byMutation[mi].sent.Add(1)
					v, _ := statuses.LoadOrStore(status, new(atomic.Int64))
					v.(*atomic.Int64).Add(1)
					switch {
					case status == 0:
						byMutation[mi].noAnswer.Add(1)
					case status >= 500:
						byMutation[mi].fiveXX.Add(1)
					}
				}
			})
		}
		wg.Wait()
		now, err := snapshot(ctx, dbURL)
		if err != nil {
			r.check(false, "snapshot: %v", err)
			return r
		}
		changedBy[mi] = diffSnapshots(before, now)
		before = now
	}
	took := time.Since(began)

	var sent, fiveXX, noAnswer int64
	var changed []string
	for i := range byMutation {
		c := &byMutation[i]
		sent, fiveXX, noAnswer = sent+c.sent.Load(), fiveXX+c.fiveXX.Load(), noAnswer+c.noAnswer.Load()
		if c.fiveXX.Load() > 0 || c.noAnswer.Load() > 0 || len(changedBy[i]) > 0 {
			r.figure("  %s: %d sent, %d 5xx, %d unanswered, changed: %s", mutations[i].name, c.sent.Load(),
				c.fiveXX.Load(), c.noAnswer.Load(), strings.Join(append([]string{"nothing"}, changedBy[i]...)[min(1, len(changedBy[i])):], ", "))
		}
		if len(changedBy[i]) > 0 {
			changed = append(changed, mutations[i].name+" ("+strings.Join(changedBy[i], ", ")+")")
		}
	}
	var codes []int
	statuses.Range(func(k, _ any) bool { codes = append(codes, k.(int)); return true })
	slices.Sort(codes)
	var parts []string
	for _, code := range codes {
		v, _ := statuses.Load(code)
		parts = append(parts, fmt.Sprintf("%d×%d", code, v.(*atomic.Int64).Load()))
	}
	r.figure("%d malformed requests over %d routes and %d kinds in %s; answers: %s", sent, len(routes), len(mutations), seconds(took), strings.Join(parts, " "))
	r.figure("5xx: %d; unanswered: %d; panics logged: %d; database unchanged: %t", fiveXX, noAnswer, e.panics("malformed"), len(changed) == 0)
	r.check(sent >= int64(e.opts.malformed), "only %d requests sent", sent)
	r.check(fiveXX == 0, "%d answers were 5xx", fiveXX)
	r.check(noAnswer == 0, "%d requests got no answer", noAnswer)
	r.check(e.panics("malformed") == 0, "uss-server logged a panic")
	r.check(len(changed) == 0, "malformed requests changed the database: %s", strings.Join(changed, "; "))
	r.check(srv.Alive() == nil, "uss-server exited: %v", srv.Alive())
	return r
}

// send makes one request and returns its status (0: no answer).
func send(client *http.Client, url, method string, body []byte, key string, header http.Header) (int, []byte) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 400, nil // a request the client library refuses to send is refused all the same
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, b
}

// snapshot digests every table's rows, by table.
func snapshot(ctx context.Context, dbURL string) (map[string]string, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, t := range tables {
		var digest string
		q := fmt.Sprintf(`SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM %s t`, pgx.Identifier{t}.Sanitize())
		if err := conn.QueryRow(ctx, q).Scan(&digest); err != nil {
			return nil, err
		}
		out[t] = digest
	}
	return out, nil
}

func diffSnapshots(before, after map[string]string) []string {
	var changed []string
	for t, d := range after {
		if before[t] != d {
			changed = append(changed, fmt.Sprintf("%s %s→%s rows", t, strings.Split(before[t], ":")[0], strings.Split(d, ":")[0]))
		}
	}
	slices.Sort(changed)
	return changed
}
