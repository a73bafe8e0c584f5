package uss

import (
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
