// Package jsoncheck reads an untrusted JSON document field by field and collects every
// problem it finds, each prefixed with the JSON path it is about
// ("campaigns[2].variations[1].weight: must be a number"), so that a whole document can be
// refused with all of its problems at once. Settings files and their segment rules are read
// with it. A document must be strict JSON (package strictjson) before it is read: the readers
// then split it in place rather than decode every level into fresh copies, so that reading a
// large document allocates little.
package jsoncheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/uss/uss/internal/strictjson"
)

// Error is every problem found in a document.
type Error struct {
	Problems []string
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "invalid settings: " + e.Problems[0]
	}
	return fmt.Sprintf("invalid settings: %d problems: %s", len(e.Problems), strings.Join(e.Problems, "; "))
}

// maxProblems bounds the problems and the warnings kept: a hostile file with a million bad
// fields should not turn into a million-line answer.
const maxProblems = 1000

// Checker collects the problems and warnings of one document.
type Checker struct {
	problems, warnings []string
	// droppedProblems and droppedWarnings count what went past maxProblems.
	droppedProblems, droppedWarnings int
	// interned keeps one copy of each short string Intern was given.
	interned map[string]string
}

// maxInterned bounds the strings worth sharing: long ones are rarely repeated.
const maxInterned = 64

// Intern returns one shared copy of a short string: a document of thousands of campaigns
// repeats the same names, operands and types, and what is read from it is kept.
func (c *Checker) Intern(s string) string {
	if len(s) > maxInterned {
		return s
	}
	if shared, ok := c.interned[s]; ok {
		return shared
	}
	if c.interned == nil {
		c.interned = make(map[string]string)
	}
	c.interned[s] = s
	return s
}

// Add records a problem: the document is refused.
func (c *Checker) Add(path, msg string) {
	if len(c.problems) >= maxProblems {
		c.droppedProblems++
		return
	}
	c.problems = append(c.problems, path+": "+msg)
}

// Addf is Add with a format.
func (c *Checker) Addf(path, format string, args ...any) {
	c.Add(path, fmt.Sprintf(format, args...))
}

// Warn records something that loads but may surprise the document's author.
func (c *Checker) Warn(path, msg string) {
	if len(c.warnings) >= maxProblems {
		c.droppedWarnings++
		return
	}
	c.warnings = append(c.warnings, path+": "+msg)
}

// Err returns every problem as an *Error, or nil when there is none.
func (c *Checker) Err() error {
	if len(c.problems) == 0 {
		return nil
	}
	return &Error{Problems: withDropped(c.problems, c.droppedProblems, "problems")}
}

// Warnings returns every warning.
func (c *Checker) Warnings() []string {
	return withDropped(c.warnings, c.droppedWarnings, "warnings")
}

func withDropped(list []string, dropped int, what string) []string {
	if dropped == 0 {
		return list
	}
	return append(list, fmt.Sprintf("... and %d more %s", dropped, what))
}

// Document checks that data is one JSON value and strict JSON (strictjson.Check): no key twice
// in an object, nothing that is not UTF-8. The readers below trust what it accepted: read a
// document only after it.
func (c *Checker) Document(path string, data []byte) bool {
	if !json.Valid(data) {
		var probe any
		c.Addf(path, "not valid JSON: %v", json.Unmarshal(data, &probe))
		return false
	}
	// Whoever else reads the document may resolve a repeated key or text that is not UTF-8
	// its own way, and so read it otherwise than uss.
	if err := strictjson.Check(data, nil); err != nil {
		c.Addf(path, "not strict JSON: %v", err)
		return false
	}
	return true
}

// Object is a JSON object's members in order, their values left undecoded, as slices of the
// document (nothing is copied). Reading objects this way keeps keys case-sensitive (as VWO's
// JavaScript is) and lets every field be checked, and reported, on its own.
type Object []strictjson.Member

// Get returns the value of the member with that key, or nil. The document passed Document,
// so no key appears twice.
func (o Object) Get(key string) json.RawMessage {
	for _, m := range o {
		if string(m.Key) == key {
			return m.Value
		}
	}
	return nil
}

// Present reports whether a field exists and is not null; VWO's SDKs treat null like an
// absent field.
func Present(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// Kind is the JSON type of raw by its first byte: '{', '[', '"', 't', 'f', 'n', '0' for a
// number, or 0 for nothing.
func Kind(raw json.RawMessage) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	switch raw[0] {
	case '{', '[', '"', 't', 'f', 'n':
		return raw[0]
	default:
		return '0'
	}
}

// Object reads an object.
func (c *Checker) Object(path string, raw json.RawMessage) (Object, bool) {
	members, ok := strictjson.Members(raw)
	if !ok {
		c.Add(path, "must be an object")
		return nil, false
	}
	return members, true
}

// Array reads an array; its elements are slices of the document.
func (c *Checker) Array(path string, raw json.RawMessage) ([]json.RawMessage, bool) {
	items, ok := strictjson.Elements(raw)
	if !ok {
		c.Add(path, "must be an array")
		return nil, false
	}
	return items, true
}

// String reads a string.
func (c *Checker) String(path string, raw json.RawMessage) (string, bool) {
	s, ok := strictjson.String(raw)
	if !ok {
		c.Add(path, "must be a string")
		return "", false
	}
	return s, true
}

// Bool reads true or false.
func (c *Checker) Bool(path string, raw json.RawMessage) (bool, bool) {
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	c.Add(path, "must be true or false")
	return false, false
}

// Number reads a JSON number, or a string holding one: VWO's settings schema allows both for
// weights and ids.
func (c *Checker) Number(path string, raw json.RawMessage) (float64, bool) {
	var text string
	switch Kind(raw) {
	case '0':
		text = string(bytes.TrimSpace(raw))
	case '"':
		s, ok := c.String(path, raw)
		if !ok {
			return 0, false
		}
		text = strings.TrimSpace(s)
	default:
		c.Add(path, "must be a number")
		return 0, false
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		c.Addf(path, "must be a number, got %s", Quote(text))
		return 0, false
	}
	return f, true
}

// Integer reads a whole number (or a string holding one) that fits an int32, which every VWO
// id and percentage does.
func (c *Checker) Integer(path string, raw json.RawMessage) (int, bool) {
	f, ok := c.Number(path, raw)
	if !ok {
		return 0, false
	}
	if f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
		c.Addf(path, "must be a whole number, got %v", f)
		return 0, false
	}
	return int(f), true
}

// IntegerText returns a whole JSON number as decimal text, without the int32 range limit of
// Integer (for ids that only need to print the same).
func (c *Checker) IntegerText(path string, raw json.RawMessage) (string, bool) {
	text := string(bytes.TrimSpace(raw))
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return strconv.FormatInt(n, 10), true
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
		c.Addf(path, "must be a whole number, got %s", Quote(text))
		return "", false
	}
	return strconv.FormatInt(int64(f), 10), true
}

// Quote quotes a value for a problem, cut short: problems quote the input, which may be long.
func Quote(s string) string {
	const max = 40
	if len(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:max]) + "..."
}

// Index is the path of an array element.
func Index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
