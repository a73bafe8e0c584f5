package uss

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxIdentifierBytes bounds every identifier chosen by users: user ids, campaign keys,
// variation names, goal identifiers, persisted-value keys and config names.
const MaxIdentifierBytes = 255

// ValidateIdentifier checks an identifier that uss stores: 1 to 255 bytes of valid UTF-8
// without NUL (PostgreSQL text cannot hold NUL or invalid UTF-8, and letting the database
// reject them would turn bad input into a server error).
func ValidateIdentifier(field, value string) error {
	switch {
	case value == "":
		return Invalid(field, "is required and must not be empty")
	case len(value) > MaxIdentifierBytes:
		return Invalid(field, "must be at most %d bytes, got %d", MaxIdentifierBytes, len(value))
	case !utf8.ValidString(value):
		return Invalid(field, "must be valid UTF-8")
	case strings.IndexByte(value, 0) >= 0:
		return Invalid(field, "must not contain NUL characters")
	}
	return nil
}

// ValidateEntries checks a map of identifiers to identifiers (a GrowthBook document's
// assignments, an Optimizely profile's decisions): present (a body that leaves it out is
// refused; an empty object is fine), at most MaxBatch entries, every key and value a valid
// identifier. Keys are checked in sorted order, so the error names the same entry every time.
func ValidateEntries(field string, entries map[string]string) error {
	if entries == nil {
		return Invalid(field, "is required (an object, possibly empty)")
	}
	if len(entries) > MaxBatch {
		return Invalid(field, "must hold at most %d entries, got %d", MaxBatch, len(entries))
	}
	for _, k := range slices.Sorted(maps.Keys(entries)) {
		if err := ValidateIdentifier(field+" key", k); err != nil {
			return err
		}
		if err := ValidateIdentifier(fmt.Sprintf("%s[%q]", field, k), entries[k]); err != nil {
			return err
		}
	}
	return nil
}
