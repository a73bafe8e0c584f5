package campaign

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/uss/uss/internal/jsoncheck"
	"github.com/uss/uss/internal/segment"
)

// ValidationError is every problem found in a settings file, so that whoever uploads a file
// can fix it in one round. Each problem starts with the JSON path it is about, e.g.
// "campaigns[2].variations[1].weight: ...".
type ValidationError = jsoncheck.Error

// maxIdentifierBytes is what uss stores for campaign keys, variation names and goal
// identifiers: ids over 255 bytes are refused everywhere.
const maxIdentifierBytes = 255

// goalDelimiter joins converted goals in VWO's storage record, so a goal identifier
// containing it could never be told apart from two goals.
const goalDelimiter = "_vwo_"

// parser reads one settings file: it collects the problems and warnings, and compiles the
// segment rules, which are bounded together.
type parser struct {
	*jsoncheck.Checker
	segments *segment.Compiler
	limits   Limits
}

// identifier checks a name that uss stores and that clients send back: campaign keys,
// variation names and goal identifiers.
func (p *parser) identifier(path string, s string) bool {
	switch {
	case s == "":
		p.Add(path, "must not be empty")
	case len(s) > maxIdentifierBytes:
		p.Addf(path, "must be at most %d bytes, is %d", maxIdentifierBytes, len(s))
	case !utf8.ValidString(s):
		p.Add(path, "must be valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		p.Add(path, "must not contain NUL")
	default:
		return true
	}
	return false
}

// fields reads the fields of the object at path, each problem named by the field's path.
type fields struct {
	p    *parser
	o    jsoncheck.Object
	path string
}

// object reads the object at path; ok is false (and the problem reported) when it is not one.
func (p *parser) object(path string, raw json.RawMessage) (fields, bool) {
	o, ok := p.Object(path, raw)
	return fields{p: p, o: o, path: path}, ok
}

// at is the path of a field.
func (f fields) at(key string) string {
	if f.path == "" {
		return key
	}
	return f.path + "." + key
}

// present reports whether the field is there and not null.
func (f fields) present(key string) bool { return jsoncheck.Present(f.o.Get(key)) }

// required returns the field's value, or reports it missing.
func (f fields) required(key string) (json.RawMessage, bool) {
	if f.present(key) {
		return f.o.Get(key), true
	}
	f.p.Add(f.at(key), "required")
	return nil, false
}

// requiredInt reads a required whole number.
func (f fields) requiredInt(key string) (int, bool) {
	raw, ok := f.required(key)
	if !ok {
		return 0, false
	}
	return f.p.Integer(f.at(key), raw)
}

// requiredIdentifier reads a required key or name (see identifier); "" when it is not one.
func (f fields) requiredIdentifier(key string) (string, bool) {
	raw, ok := f.required(key)
	if !ok {
		return "", false
	}
	if s, ok := f.p.String(f.at(key), raw); ok && f.p.identifier(f.at(key), s) {
		return s, true
	}
	return "", false
}

// oneOf reads a string that must be one of known (what names it in the problem), required
// or not; "" when it is absent or not known.
func (f fields) oneOf(key, what string, known []string, required bool) string {
	var raw json.RawMessage
	if required {
		var ok bool
		if raw, ok = f.required(key); !ok {
			return ""
		}
	} else if raw = f.o.Get(key); !jsoncheck.Present(raw) {
		return ""
	}
	s, ok := f.p.String(f.at(key), raw)
	if !ok {
		return ""
	}
	i := slices.Index(known, s)
	if i < 0 {
		f.p.Addf(f.at(key), "unknown %s %s (known: %s)", what, jsoncheck.Quote(s), strings.Join(known, ", "))
		return ""
	}
	return known[i] // shared by every campaign, not a copy of the file's text
}

// optionalString reads a string field that may be absent or null.
func (f fields) optionalString(key string) string {
	if !f.present(key) {
		return ""
	}
	s, _ := f.p.String(f.at(key), f.o.Get(key))
	return s
}

// optionalBool reads a flag that may be absent or null (false).
func (f fields) optionalBool(key string) bool {
	if !f.present(key) {
		return false
	}
	b, _ := f.p.Bool(f.at(key), f.o.Get(key))
	return b
}

// optionalInt reads a whole number that may be absent or null; ok is false then.
func (f fields) optionalInt(key string) (int, bool) {
	if !f.present(key) {
		return 0, false
	}
	return f.p.Integer(f.at(key), f.o.Get(key))
}

// array reads an array field that may be absent or null (nil).
func (f fields) array(key string) []json.RawMessage {
	if !f.present(key) {
		return nil
	}
	items, _ := f.p.Array(f.at(key), f.o.Get(key))
	return items
}

// segment compiles a segments field; nil when there is no rule.
func (f fields) segment(key string) *segment.Segment {
	return f.p.segments.Compile(f.at(key), f.o.Get(key))
}
