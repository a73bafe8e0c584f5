package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/uss/uss/internal/uss"
)

// discardWriter is a ResponseWriter that keeps nothing but the byte count, so the benchmarks
// measure encoding rather than a recorder's buffer.
type discardWriter struct {
	header http.Header
	n      int
	last   []byte
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(int)     {}
func (w *discardWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	w.last = append(w.last[:0], p...)
	return len(p), nil
}

// BenchmarkStorageRecordDecode measures the body of POST /v1/storage as the handler reads it:
// strict decoding (decodeBody) and the goal split into the domain assignment.
func BenchmarkStorageRecordDecode(b *testing.B) {
	body := []byte(`{"userId":"user-00012345","campaignKey":"checkout-test","variationName":"Variation-1","goalIdentifier":"signup_vwo_purchase"}`)
	e := echo.New()
	req := httptest.NewRequest(http.MethodPost, "/v1/storage", nil)
	rd := bytes.NewReader(body)
	req.Body = io.NopCloser(rd)
	w := &discardWriter{header: http.Header{}}
	c := e.NewContext(req, w)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		c.Reset(req, w)
		var r storageRecord
		if err := decodeBody(c, &r); err != nil {
			b.Fatal(err)
		}
		a, err := r.assignment("")
		if err != nil {
			b.Fatal(err)
		}
		if a.UserID != "user-00012345" || len(a.Goals) != 2 {
			b.Fatalf("decoded %+v", a)
		}
	}
}

// BenchmarkStorageRecordEncode measures a storage response as the handler writes it: the
// domain assignment to the wire record, rendered by echo's JSON path.
func BenchmarkStorageRecordEncode(b *testing.B) {
	a := uss.Assignment{UserID: "user-00012345", CampaignKey: "checkout-test", VariationName: "Variation-1",
		Goals: []string{"signup", "purchase"}, Source: uss.SourceSet}
	want := `{"userId":"user-00012345","campaignKey":"checkout-test","variationName":"Variation-1","goalIdentifier":"signup_vwo_purchase"}` + "\n"
	e := echo.New()
	req := httptest.NewRequest(http.MethodGet, "/v1/storage?userId=user-00012345&campaignKey=checkout-test", nil)
	w := &discardWriter{header: http.Header{}}
	c := e.NewContext(req, w)
	b.ReportAllocs()
	for b.Loop() {
		w.n = 0
		clear(w.header)
		c.Reset(req, w)
		if err := c.JSON(http.StatusOK, toRecord(a)); err != nil {
			b.Fatal(err)
		}
	}
	if string(w.last) != want {
		b.Fatalf("encoded %q, want %q", w.last, want)
	}
	b.SetBytes(int64(w.n))
}
