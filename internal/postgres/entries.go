package postgres

import (
	"context"
	"maps"
	"slices"
)

// Documents of entries (GrowthBook's sticky buckets, Optimizely's profiles) are saved as one
// row per entry, in one statement: an INSERT of the entries in key order, so that concurrent
// saves of one user lock rows in the same order and cannot deadlock, upserting only what
// changed, then the document as it stands. The statement's snapshot is taken before the
// insert, so the entries it did not write are read as committed before it.

// entryArrays is a document's entries as the two arrays a statement unnests.
func entryArrays(entries map[string]string) (keys, values []string) {
	keys = slices.Sorted(maps.Keys(entries))
	values = make([]string, len(keys))
	for i, k := range keys {
		values[i] = entries[k]
	}
	return keys, values
}

// queryEntries runs a statement that returns (key, value) rows and reads them into a map.
func (s *Store) queryEntries(ctx context.Context, sql string, args ...any) (map[string]string, error) {
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}
