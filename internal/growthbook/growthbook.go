// Package growthbook is the storage of GrowthBook's sticky buckets: per user attribute (the
// attribute's name and value, such as "id" and "user-1"), the variation each experiment
// version assigned. The SDKs read and save a whole document per attribute; uss keeps its
// entries, so a save adds or changes the entries it carries and keeps the others, and two
// processes that each add an experiment for one user both keep theirs. It knows nothing of
// HTTP or of PostgreSQL.
package growthbook

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/uss/uss/internal/uss"
)

// Attribute names a document: the attribute the SDK hashed on, and the user's value of it.
type Attribute struct {
	Name  string
	Value string
}

// Key is the document's key in the SDKs' wire form, "<attributeName>||<attributeValue>".
func (a Attribute) Key() string { return a.Name + "||" + a.Value }

// Document is a sticky-bucket assignment document: the variation key assigned to each
// "<experimentKey>__<bucketVersion>".
type Document struct {
	Attribute
	Assignments map[string]string
}

// Store is what the service needs from persistence. Implementations map their own errors
// onto uss.ErrNotFound and uss.ErrUnavailable.
type Store interface {
	// StickyBucketDocuments returns the documents of the attributes that have any entry, in
	// one round trip.
	StickyBucketDocuments(ctx context.Context, account uss.AccountID, attributes []Attribute) ([]Document, error)
	// SaveStickyBuckets upserts every entry of doc in one statement, keeps the document's
	// other entries, and returns the document as it then stands.
	SaveStickyBuckets(ctx context.Context, account uss.AccountID, doc Document) (Document, error)
}

// Service validates requests and runs them on the Store; bad input changes nothing.
type Service struct {
	store Store
}

// NewService returns a Service over store.
func NewService(store Store) *Service { return &Service{store: store} }

// Get returns the document of one attribute, or uss.ErrNotFound when it has no entry.
func (s *Service) Get(ctx context.Context, account uss.AccountID, attr Attribute) (Document, error) {
	if err := validateAttribute("", attr); err != nil {
		return Document{}, err
	}
	docs, err := s.store.StickyBucketDocuments(ctx, account, []Attribute{attr})
	if err != nil {
		return Document{}, err
	}
	if len(docs) == 0 {
		return Document{}, uss.ErrNotFound
	}
	return docs[0], nil
}

// GetAll returns the documents of several attributes (name to value, as the SDKs'
// GetAllAssignments takes them) by document key; attributes without entries are absent.
func (s *Service) GetAll(ctx context.Context, account uss.AccountID, attributes map[string]string) (map[string]Document, error) {
	if len(attributes) > uss.MaxBatch {
		return nil, uss.Invalid("attributes", "must hold at most %d attributes, got %d", uss.MaxBatch, len(attributes))
	}
	attrs := make([]Attribute, 0, len(attributes))
	for _, name := range slices.Sorted(maps.Keys(attributes)) {
		a := Attribute{Name: name, Value: attributes[name]}
		if err := validateAttribute(fmt.Sprintf("attributes[%q].", name), a); err != nil {
			return nil, err
		}
		attrs = append(attrs, a)
	}
	out := make(map[string]Document, len(attrs))
	if len(attrs) == 0 {
		return out, nil
	}
	docs, err := s.store.StickyBucketDocuments(ctx, account, attrs)
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		out[d.Key()] = d
	}
	return out, nil
}

// Save upserts the document's entries and returns the document as it then stands.
func (s *Service) Save(ctx context.Context, account uss.AccountID, doc Document) (Document, error) {
	if err := validateAttribute("", doc.Attribute); err != nil {
		return Document{}, err
	}
	if err := uss.ValidateEntries("assignments", doc.Assignments); err != nil {
		return Document{}, err
	}
	return s.store.SaveStickyBuckets(ctx, account, doc)
}

func validateAttribute(prefix string, a Attribute) error {
	if err := uss.ValidateIdentifier(prefix+"attributeName", a.Name); err != nil {
		return err
	}
	return uss.ValidateIdentifier(prefix+"attributeValue", a.Value)
}
