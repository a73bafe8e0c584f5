// Package growthbookuss keeps the GrowthBook Go SDK's sticky buckets in uss, so that every
// server running the SDK gives a user the variation stored the first time, even after the
// experiment's weights or coverage change.
//
// Pass a *Storage to the SDK (github.com/growthbook/growthbook-golang v0.7.0):
//
//	gb, err := growthbook.NewClient(ctx, growthbook.WithStickyBucketService(growthbookuss.New(c)), ...)
//
// The SDK saves a user's whole document after merging its new assignment into what it has
// just read. uss keeps the entries of documents: a save adds or changes the assignments it
// carries and keeps the others, so two servers that each assign the same user to a
// different experiment at the same moment both keep theirs, which a store that replaces
// the document would not.
//
// The SDK caches every document it reads or saves in its client (10,000 by default,
// WithStickyBucketCacheSize) and reads uss again only for documents not in the cache: a
// long-lived client does not see assignments another server stored after it cached the
// document, until it evicts it. v0.7.0 reads one document per attribute with
// GetAssignments; GetAllAssignments (one call for several attributes) is there for callers
// that use it.
//
// # When uss cannot be read
//
// A failed read is returned to the SDK, which then evaluates the user as if nothing were
// stored (fail open: the decision is still made) and saves nothing unless its second read,
// the one it merges into, succeeds. The adapter remembers that the document could not be
// read, and during the failed-read memory (a minute by default) drops every save of it that
// could replace what could not be read: a save goes through only when a later, successful
// read shows that it changes no assignment stored (adding experiments is fine). Only "not
// found" from uss counts as "nothing stored". Dropped writes and errors go to the error
// handler.
package growthbookuss

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	growthbook "github.com/growthbook/growthbook-golang"

	"github.com/uss/uss/client"
	"github.com/uss/uss/integrations/internal/failopen"
)

// ErrWriteSkipped is reported to the error handler (and returned) for a save dropped
// because a read of the same document failed within the failed-read memory.
var ErrWriteSkipped = failopen.ErrWriteSkipped

// Storage is the GrowthBook Go SDK's StickyBucketService backed by uss's
// /v1/growthbook/sticky-buckets. It is safe for concurrent use.
type Storage struct {
	c       *client.Client
	guard   *failopen.Guard
	onError func(error)
}

var _ growthbook.StickyBucketService = (*Storage)(nil)

// Option changes a Storage.
type Option = failopen.Option

// WithErrorHandler receives every error: failed reads (the SDK went on as if nothing were
// stored), failed writes, and writes dropped with ErrWriteSkipped. The SDK gets them too
// but does not report them. It is called inline, so it must be quick. The default logs a
// warning with slog.Default.
func WithErrorHandler(f func(error)) Option { return failopen.WithErrorHandler(f) }

// WithFailedReadMemory sets how long a failed read keeps writes of its document away from
// uss (default one minute), and how many such documents are remembered (default 10000).
// When more fail than that within the memory, every write is dropped until a memory has
// passed, rather than forget one.
func WithFailedReadMemory(d time.Duration, maxKeys int) Option {
	return failopen.WithFailedReadMemory(d, maxKeys)
}

// New returns a sticky bucket service that reads and writes through c. Each call is bounded
// by c's timeout (client.WithTimeout), the only bound the SDK's evaluations get, since the
// SDK passes no context.
func New(c *client.Client, opts ...Option) *Storage {
	guard, onError := failopen.Apply("growthbookuss: uss sticky buckets", opts)
	return &Storage{c: c, guard: guard, onError: onError}
}

// guardKey joins name and value with NUL, which uss refuses in both, so no two documents
// share a key.
func guardKey(attributeName, attributeValue string) string {
	return attributeName + "\x00" + attributeValue
}

// GetAssignments returns the document of one attribute, nil when it has no assignment, or
// the error when uss cannot be read (the adapter then drops the document's writes for a
// while: see the package documentation).
func (s *Storage) GetAssignments(attributeName, attributeValue string) (*growthbook.StickyBucketAssignmentDoc, error) {
	key := guardKey(attributeName, attributeValue)
	doc, err := s.c.GetStickyBuckets(context.Background(), attributeName, attributeValue)
	switch {
	case errors.Is(err, client.ErrNotFound):
		s.guard.ReadSucceeded(key, nil)
		return nil, nil
	case err != nil:
		s.guard.ReadFailed(key)
		s.onError(err)
		return nil, err
	}
	s.guard.ReadSucceeded(key, maps.Clone(doc.Assignments))
	return &growthbook.StickyBucketAssignmentDoc{AttributeName: doc.AttributeName, AttributeValue: doc.AttributeValue,
		Assignments: doc.Assignments}, nil
}

// GetAllAssignments returns the documents of several attributes (name to value) in one
// call, by "<attributeName>||<attributeValue>"; attributes without assignments are absent.
func (s *Storage) GetAllAssignments(attributes map[string]string) (growthbook.StickyBucketAssignments, error) {
	docs, err := s.c.GetAllStickyBuckets(context.Background(), attributes)
	if err != nil {
		for name, value := range attributes {
			s.guard.ReadFailed(guardKey(name, value))
		}
		s.onError(err)
		return nil, err
	}
	out := make(growthbook.StickyBucketAssignments, len(docs))
	for name, value := range attributes {
		doc, ok := docs[name+"||"+value]
		if !ok {
			s.guard.ReadSucceeded(guardKey(name, value), nil)
			continue
		}
		s.guard.ReadSucceeded(guardKey(name, value), maps.Clone(doc.Assignments))
		out[name+"||"+value] = &growthbook.StickyBucketAssignmentDoc{AttributeName: doc.AttributeName,
			AttributeValue: doc.AttributeValue, Assignments: doc.Assignments}
	}
	return out, nil
}

// SaveAssignments stores every assignment of doc; uss keeps the document's other
// assignments.
func (s *Storage) SaveAssignments(doc *growthbook.StickyBucketAssignmentDoc) error {
	if !s.guard.WriteAllowed(guardKey(doc.AttributeName, doc.AttributeValue), doc.Assignments) {
		err := fmt.Errorf("uss save sticky buckets: %w", ErrWriteSkipped)
		s.onError(err)
		return err
	}
	_, err := s.c.SaveStickyBuckets(context.Background(), client.StickyBucketDocument{AttributeName: doc.AttributeName,
		AttributeValue: doc.AttributeValue, Assignments: doc.Assignments})
	if err != nil {
		s.onError(err)
	}
	return err
}
