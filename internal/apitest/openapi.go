package apitest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/uss/uss/api"
)

// Every request a test sends to a server of this package, and the server's answer, are held
// to api/openapi.yaml:
//   - the route must be in the document, unless the server answered 404 or 405 (tests of
//     unknown routes and methods);
//   - a request the document refuses must be refused by the server (a 4xx, or 503);
//   - every response must be one the document lists for the operation, status included.
//
// A request the document allows may still be refused: the document cannot say everything
// (identifiers are limited in bytes, query parameters are strict).

// tally counts the exchanges of the test binary.
var tally struct {
	validated atomic.Int64
	// refused are validated exchanges whose request the document refuses.
	refused atomic.Int64
	// unrouted are requests to no route of the document, answered 404 or 405.
	unrouted atomic.Int64
}

var runCalled atomic.Bool

// Run runs the tests of a package that starts servers, then prints how many exchanges were
// validated against the document. Every such package's TestMain calls it:
//
//	func TestMain(m *testing.M) { os.Exit(apitest.Run(m)) }
//
// With USS_OPENAPI_TALLY set to a file, it also appends the count to it, so that make test
// can print the total of every package.
func Run(m *testing.M) int {
	runCalled.Store(true)
	code := m.Run()
	n := tally.validated.Load()
	fmt.Printf("openapi: %d request/response exchanges validated against api/openapi.yaml "+
		"(%d of them requests the document refuses, refused by the server; %d more to undocumented routes, answered 404 or 405)\n",
		n, tally.refused.Load(), tally.unrouted.Load())
	if path := os.Getenv("USS_OPENAPI_TALLY"); path != "" {
		if err := appendLine(path, fmt.Sprintf("%d", n)); err != nil {
			fmt.Fprintln(os.Stderr, "openapi: write tally:", err)
			return 1
		}
	}
	return code
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(f, line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func init() {
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", decodeNDJSON)
}

// decodeNDJSON reads an NDJSON body (an export, an import) as the array of its lines' values,
// which is how the document describes it.
func decodeNDJSON(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	items := []any{}
	lines := bufio.NewScanner(body)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; lines.Scan(); n++ {
		line := bytes.TrimSpace(lines.Bytes())
		if len(line) == 0 {
			continue
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(line))
		if err := dec.Decode(&v); err != nil || dec.More() {
			return nil, fmt.Errorf("line %d is not one JSON value", n)
		}
		items = append(items, v)
	}
	return items, lines.Err()
}

// Contract is the parsed document and its router.
type Contract struct {
	Doc    *openapi3.T
	router routers.Router
}

var contract struct {
	once sync.Once
	c    *Contract
	err  error
}

// LoadContract parses and validates api/openapi.yaml (examples included) once per process.
func LoadContract() (*Contract, error) {
	contract.once.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(api.OpenAPI)
		if err != nil {
			contract.err = fmt.Errorf("load api/openapi.yaml: %w", err)
			return
		}
		if err := doc.Validate(loader.Context, openapi3.EnableExamplesValidation()); err != nil {
			contract.err = fmt.Errorf("api/openapi.yaml is not valid: %w", err)
			return
		}
		router, err := legacy.NewRouter(doc)
		if err != nil {
			contract.err = fmt.Errorf("route api/openapi.yaml: %w", err)
			return
		}
		contract.c = &Contract{Doc: doc, router: router}
	})
	return contract.c, contract.err
}

// validated wraps a server's handler so that every exchange is checked against the document;
// a violation fails t.
func validated(t testing.TB, next http.Handler) http.Handler {
	t.Helper()
	if !runCalled.Load() {
		t.Fatal("apitest: this package's tests must run through apitest.Run, which counts the exchanges " +
			"validated against api/openapi.yaml: add `func TestMain(m *testing.M) { os.Exit(apitest.Run(m)) }`")
	}
	c, err := LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body bytes.Buffer
		if r.Body != nil {
			r.Body = teeBody{ReadCloser: r.Body, copy: &body}
		}
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if r.Context().Err() != nil {
			return // the client left: it never saw the answer
		}
		if err := c.check(r, body.Bytes(), rec); err != nil {
			t.Errorf("openapi: %s %s → %d: %v\nresponse body: %.2000s", r.Method, r.URL.RequestURI(), rec.code(), err, rec.body.Bytes())
		}
	})
}

// check holds one exchange to the document.
func (c *Contract) check(r *http.Request, body []byte, rec *recorder) error {
	ctx := context.Background()
	status := rec.code()
	req := r.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	if len(body) > 0 && req.Header.Get("Content-Type") == "" {
		// The server reads every body as JSON whatever its Content-Type (the document's rule).
		req.Header.Set("Content-Type", "application/json")
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			tally.unrouted.Add(1)
			return nil
		}
		return fmt.Errorf("the route is not in api/openapi.yaml (%w), yet the server answered it", err)
	}
	if folded, ok := foldFieldNames(route.Operation, req.Header.Get("Content-Type"), body); ok {
		req.Body = io.NopCloser(bytes.NewReader(folded))
		req.ContentLength = int64(len(folded))
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: credentialsPresent}}
	requestErr := openapi3filter.ValidateRequest(ctx, in)
	refusedByServer := status >= 400 && status < 500 || status == http.StatusServiceUnavailable
	if requestErr != nil && !refusedByServer {
		return fmt.Errorf("api/openapi.yaml refuses this request, yet the server accepted it: %w", requestErr)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: rec.Header(),
		Body: io.NopCloser(bytes.NewReader(rec.body.Bytes())), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("the response is not one api/openapi.yaml gives for this operation: %w", err)
	}
	tally.validated.Add(1)
	if requestErr != nil {
		tally.refused.Add(1)
	}
	return nil
}

// credentialsPresent checks that a request carries the credentials the operation asks for;
// whether they are good is the server's business (a wrong key is a 401 either way).
func credentialsPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	req := in.RequestValidationInput.Request
	switch in.SecurityScheme.Type {
	case "http":
		scheme, key, ok := strings.Cut(req.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, in.SecurityScheme.Scheme) || key == "" {
			return errors.New("no bearer key")
		}
		return nil
	case "apiKey":
		if _, err := req.Cookie(in.SecurityScheme.Name); err != nil {
			return fmt.Errorf("no %s cookie", in.SecurityScheme.Name)
		}
		return nil
	}
	return fmt.Errorf("security scheme %q not handled", in.SecurityScheme.Type)
}

// foldFieldNames renames a JSON body's fields to the document's spelling where they match it
// case-insensitively, as the server's decoder does (UserID is userId). ok is false when the
// body is not JSON for a documented schema, and is then validated as sent.
func foldFieldNames(op *openapi3.Operation, contentType string, body []byte) ([]byte, bool) {
	if op.RequestBody == nil || op.RequestBody.Value == nil || !strings.HasPrefix(contentType, "application/json") {
		return nil, false
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	fold(v, mt.Schema.Value)
	out, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	return out, true
}

func fold(v any, s *openapi3.Schema) {
	switch x := v.(type) {
	case map[string]any:
		for name := range x {
			if _, ok := s.Properties[name]; ok {
				continue
			}
			for prop := range s.Properties {
				if _, taken := x[prop]; !taken && strings.EqualFold(prop, name) {
					x[prop] = x[name]
					delete(x, name)
					break
				}
			}
		}
		for name, prop := range s.Properties {
			if child, ok := x[name]; ok && prop.Value != nil {
				fold(child, prop.Value)
			}
		}
	case []any:
		if s.Items != nil && s.Items.Value != nil {
			for _, item := range x {
				fold(item, s.Items.Value)
			}
		}
	}
}

// teeBody keeps a copy of what the server reads of a request body.
type teeBody struct {
	io.ReadCloser
	copy *bytes.Buffer
}

func (b teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.copy.Write(p[:n])
	return n, err
}

// recorder passes a response through and keeps its status and body.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
