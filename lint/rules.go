//go:build ruleguard

// Package rules holds uss's own lint rules, run by golangci-lint's gocritic through ruleguard
// (see .golangci.yml). The build tag keeps the file out of every build; go mod tidy still
// sees its import, which keeps the DSL in go.mod, where ruleguard looks it up.
package rules

import "github.com/quasilyte/go-ruleguard/dsl"

// sqlstateLiteral matches a string literal of a code in one of the SQLSTATE classes that
// PostgreSQL defines ("23505", "40P01", ...).
const sqlstateLiteral = `"(0[0-3]|0[89ABFLPZ]|2[0-8BDF]|3[489BDF]|4[024]|5[34578]|72|F0|HV|P0|XX)[0-9A-Z]{3}"`

// sqlstate keeps PostgreSQL error codes named: "23505" says nothing to a reader and a typo in
// it compiles; pgerrcode.UniqueViolation says what it is and cannot be mistyped. It covers the
// ways a code is used: compared, switched on, passed, and set in a pgconn.PgError.
func sqlstate(m dsl.Matcher) {
	m.Import("github.com/jackc/pgx/v5/pgconn")

	m.Match(`$a == $b`, `$a != $b`, `$b == $a`, `$b != $a`).
		Where(m["b"].Node.Is(`BasicLit`) && m["b"].Text.Matches(`^`+sqlstateLiteral+`$`)).
		Report(`SQLSTATE $b: compare with the named constant of github.com/jackc/pgerrcode`)

	m.Match(`switch $x { $*_ }`, `switch $init; $x { $*_ }`).
		Where(m["$$"].Text.Matches(`case [^:]*` + sqlstateLiteral)).
		Report(`a case lists a SQLSTATE literal: use the named constants of github.com/jackc/pgerrcode`)

	m.Match(`$f($*_, $s, $*_)`).
		Where(m["s"].Node.Is(`BasicLit`) && m["s"].Text.Matches(`^`+sqlstateLiteral+`$`)).
		Report(`SQLSTATE $s: pass the named constant of github.com/jackc/pgerrcode`)

	m.Match(`pgconn.PgError{$*_, Code: $s, $*_}`).
		Where(m["s"].Node.Is(`BasicLit`)).
		Report(`SQLSTATE $s: use the named constant of github.com/jackc/pgerrcode`)
}
