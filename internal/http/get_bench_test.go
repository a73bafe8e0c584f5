package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/uss/uss/internal/apikey"
	"github.com/uss/uss/internal/bodybudget"
	"github.com/uss/uss/internal/metrics"
	"github.com/uss/uss/internal/uss"
)

// oneRowStore answers every read with the same row; the benchmark measures the server's own
// work around the database, which is measured apart (make bench).
type oneRowStore struct {
	uss.Store
	row uss.Assignment
}

func (s oneRowStore) GetAssignment(context.Context, uss.AccountID, uss.AssignmentKey) (uss.Assignment, error) {
	return s.row, nil
}

// oneKeyStore holds the one key the benchmark authenticates with.
type oneKeyStore struct {
	apikey.Store
	key apikey.StoredKey
}

func (s *oneKeyStore) EnsureAccount(context.Context, string) (uss.AccountID, error) { return 42, nil }
func (s *oneKeyStore) CreateKey(_ context.Context, account uss.AccountID, id string, hash []byte) error {
	s.key = apikey.StoredKey{ID: id, Account: account, Hash: hash}
	return nil
}
func (s *oneKeyStore) LookupKey(context.Context, string) (apikey.StoredKey, error) { return s.key, nil }

// BenchmarkGetStorage is GET /v1/storage through the whole handler as the server runs it
// (request id, access log at the server's default level, panic recovery, metrics, body limit,
// timeout, authentication with a cached key, body budget, query decoding, JSON), over a store
// that answers at once.
func BenchmarkGetStorage(b *testing.B) {
	keys := &oneKeyStore{}
	key, err := apikey.Create(context.Background(), keys, "acme")
	if err != nil {
		b.Fatal(err)
	}
	row := uss.Assignment{UserID: "user-00012345", CampaignKey: "checkout-test", VariationName: "Variation-1",
		Goals: []string{"signup"}, Source: uss.SourceSet}
	e := New(Deps{
		Storage:        uss.NewService(oneRowStore{row: row}),
		Keys:           apikey.NewResolver(keys, time.Hour),
		Metrics:        metrics.New(nil),
		Logger:         slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})),
		BodyLimit:      1 << 20,
		BodyBudget:     bodybudget.New(64<<20, time.Second),
		RequestTimeout: 5 * time.Second,
		BulkTimeout:    time.Minute,
	})
	req := httptest.NewRequest(http.MethodGet, "/v1/storage?userId=user-00012345&campaignKey=checkout-test", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	want := `{"userId":"user-00012345","campaignKey":"checkout-test","variationName":"Variation-1","goalIdentifier":"signup"}` + "\n"
	w := &discardWriter{header: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.header)
		e.ServeHTTP(w, req)
	}
	if string(w.last) != want {
		b.Fatalf("answered %q, want %q", w.last, want)
	}
}
