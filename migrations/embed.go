// Package migrations holds the goose SQL migrations of uss, embedded in the binary so that
// `uss-server serve` and `uss-server migrate` need nothing beside it.
package migrations

import "embed"

// FS holds every migration file, named <version>_<what>.sql.
//
//go:embed *.sql
var FS embed.FS
