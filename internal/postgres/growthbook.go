package postgres

import (
	"context"
	"fmt"

	"github.com/uss/uss/internal/growthbook"
	"github.com/uss/uss/internal/uss"
)

const getStickyBucketsSQL = `
SELECT q.name, q.value, g.assignment_key, g.variation_key
FROM unnest($2::text[], $3::text[]) AS q(name, value)
JOIN growthbook_assignments g
  ON g.account_id = $1 AND g.attribute_value = q.value AND g.attribute_name = q.name
ORDER BY q.name, q.value`

// saveStickyBucketsSQL: see entries.go.
const saveStickyBucketsSQL = `
WITH saved AS (
    INSERT INTO growthbook_assignments AS g (account_id, attribute_value, attribute_name, assignment_key, variation_key)
    SELECT $1, $2, $3, e.k, e.v
    FROM unnest($4::text[], $5::text[]) AS e(k, v)
    ORDER BY e.k
    ON CONFLICT (account_id, attribute_value, attribute_name, assignment_key)
    DO UPDATE SET variation_key = excluded.variation_key, updated_at = now()
    WHERE g.variation_key <> excluded.variation_key
    RETURNING assignment_key, variation_key
)
SELECT assignment_key, variation_key FROM saved
UNION ALL
SELECT assignment_key, variation_key FROM growthbook_assignments
WHERE account_id = $1 AND attribute_value = $2 AND attribute_name = $3
  AND assignment_key NOT IN (SELECT assignment_key FROM saved)`

// StickyBucketDocuments reads the documents of the attributes that have entries.
func (s *Store) StickyBucketDocuments(ctx context.Context, account uss.AccountID, attributes []growthbook.Attribute) ([]growthbook.Document, error) {
	names, values := make([]string, len(attributes)), make([]string, len(attributes))
	for i, a := range attributes {
		names[i], values[i] = a.Name, a.Value
	}
	rows, err := s.db.Query(ctx, getStickyBucketsSQL, account, names, values)
	if err != nil {
		return nil, mapError(fmt.Errorf("get sticky buckets: %w", err))
	}
	defer rows.Close()
	var docs []growthbook.Document
	for rows.Next() {
		var a growthbook.Attribute
		var k, v string
		if err := rows.Scan(&a.Name, &a.Value, &k, &v); err != nil {
			return nil, mapError(fmt.Errorf("get sticky buckets: %w", err))
		}
		if len(docs) == 0 || docs[len(docs)-1].Attribute != a {
			docs = append(docs, growthbook.Document{Attribute: a, Assignments: map[string]string{}})
		}
		docs[len(docs)-1].Assignments[k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, mapError(fmt.Errorf("get sticky buckets: %w", err))
	}
	return docs, nil
}

// SaveStickyBuckets upserts a document's entries and returns the document as it stands.
func (s *Store) SaveStickyBuckets(ctx context.Context, account uss.AccountID, doc growthbook.Document) (growthbook.Document, error) {
	keys, variations := entryArrays(doc.Assignments)
	stored, err := s.queryEntries(ctx, saveStickyBucketsSQL, account, doc.Value, doc.Name, keys, variations)
	if err != nil {
		return growthbook.Document{}, s.writeError(fmt.Errorf("save sticky buckets: %w", err))
	}
	return growthbook.Document{Attribute: doc.Attribute, Assignments: stored}, nil
}
