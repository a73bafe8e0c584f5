package campaign

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/uss/uss/internal/strictjson"
)

// ValidationError is every problem found in a settings file, so that whoever
// uploads a file can fix it in one round. Each problem starts with the JSON
// path it is about, e.g. "campaigns[2].variations[1].weight: ...".
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid settings: " + e.Problems[0]
	}
	return fmt.Sprintf("invalid settings: %d problems: %s", len(e.Problems), strings.Join(e.Problems, "; "))
}

// maxProblems bounds the report: a hostile file with a million bad variations
// should not turn into a million-line error.
const maxProblems = 1000

// maxIdentifierBytes is what uss stores for campaign keys, variation names
// and goal identifiers (SPEC 5: ids over 255 bytes are rejected).
const maxIdentifierBytes = 255

// goalDelimiter joins converted goals in VWO's storage record, so a goal
// identifier containing it could never be told apart from two goals.
const goalDelimiter = "_vwo_"

// checker collects problems while a settings file is read.
type checker struct {
	limits   Limits
	problems []string
	dropped  int
	warnings []string

	// Budgets of the whole file (see the limits in segment.go, operand.go).
	segmentNodes     int
	regexes          map[string]*regexp.Regexp
	regexInsts       int
	regexBudgetSpent bool

	// interned keeps one copy of each short string the file repeats (statuses, variation
	// names, goals, variable names and operands), so that thousands of campaigns share them.
	interned map[string]string
}

// maxInterned bounds the strings worth sharing: long ones are rarely repeated.
const maxInterned = 64

func (c *checker) intern(s string) string {
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

func (c *checker) add(path, msg string) {
	if len(c.problems) >= maxProblems {
		c.dropped++
		return
	}
	c.problems = append(c.problems, path+": "+msg)
}

// warn records something that loads but may surprise the file's author.
func (c *checker) warn(path, msg string) {
	if len(c.warnings) < maxProblems {
		c.warnings = append(c.warnings, path+": "+msg)
	}
}

func (c *checker) addf(path, format string, args ...any) {
	c.add(path, fmt.Sprintf(format, args...))
}

func (c *checker) err() error {
	if len(c.problems) == 0 {
		return nil
	}
	problems := c.problems
	if c.dropped > 0 {
		problems = append(problems, fmt.Sprintf("... and %d more problems", c.dropped))
	}
	return &ValidationError{Problems: problems}
}

// object is a JSON object with its values left undecoded, as slices of the file (nothing is
// copied). Reading objects this way keeps keys case-sensitive (as VWO's JavaScript is) and
// lets every field be checked, and reported, on its own. The file passed strictjson.Check
// first, so no key appears twice.
type object []strictjson.Member

// get returns the member's value, or nil when there is none.
func (o object) get(key string) json.RawMessage {
	for _, m := range o {
		if string(m.Key) == key {
			return m.Value
		}
	}
	return nil
}

// present reports whether a field exists and is not null; VWO's SDKs treat
// null like an absent field.
func present(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

func jsonKind(raw json.RawMessage) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	switch raw[0] {
	case '{', '[', '"', 't', 'f', 'n':
		return raw[0]
	default:
		return '0' // a number
	}
}

func (c *checker) object(path string, raw json.RawMessage) (object, bool) {
	members, ok := strictjson.Members(raw)
	if jsonKind(raw) != '{' || !ok {
		c.add(path, "must be an object")
		return nil, false
	}
	return members, true
}

func (c *checker) array(path string, raw json.RawMessage) ([][]byte, bool) {
	items, ok := strictjson.Elements(raw)
	if jsonKind(raw) != '[' || !ok {
		c.add(path, "must be an array")
		return nil, false
	}
	return items, true
}

func (c *checker) str(path string, raw json.RawMessage) (string, bool) {
	s, ok := strictjson.String(raw)
	if jsonKind(raw) != '"' || !ok {
		c.add(path, "must be a string")
		return "", false
	}
	return s, true
}

// optionalStr reads a string field that may be absent or null.
func (c *checker) optionalStr(o object, key, path string) string {
	if !present(o.get(key)) {
		return ""
	}
	s, _ := c.str(path, o.get(key))
	return s
}

// optionalBool reads a flag that may be absent or null (false).
func (c *checker) optionalBool(o object, key, path string) bool {
	raw := o.get(key)
	if !present(raw) {
		return false
	}
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true
	case "false":
		return false
	}
	c.add(path, "must be true or false")
	return false
}

// number reads a JSON number, or a string holding one: node's settings
// schema allows both for weights and ids.
func (c *checker) number(path string, raw json.RawMessage) (float64, bool) {
	var text string
	switch jsonKind(raw) {
	case '0':
		text = string(bytes.TrimSpace(raw))
	case '"':
		s, ok := c.str(path, raw)
		if !ok {
			return 0, false
		}
		text = strings.TrimSpace(s)
	default:
		c.add(path, "must be a number")
		return 0, false
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		c.addf(path, "must be a number, got %s", truncate(text))
		return 0, false
	}
	return f, true
}

// integer reads a whole number (or a string holding one) that fits an int32,
// which every VWO id and percentage does.
func (c *checker) integer(path string, raw json.RawMessage) (int, bool) {
	f, ok := c.number(path, raw)
	if !ok {
		return 0, false
	}
	if f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
		c.addf(path, "must be a whole number, got %v", f)
		return 0, false
	}
	return int(f), true
}

// identifier checks a name that uss stores and that clients send back:
// campaign keys, variation names and goal identifiers.
func (c *checker) identifier(path string, s string) bool {
	switch {
	case s == "":
		c.add(path, "must not be empty")
	case len(s) > maxIdentifierBytes:
		c.addf(path, "must be at most %d bytes, is %d", maxIdentifierBytes, len(s))
	case !utf8.ValidString(s):
		c.add(path, "must be valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		c.add(path, "must not contain NUL")
	default:
		return true
	}
	return false
}

// truncate keeps problem messages short when they quote the input.
func truncate(s string) string {
	const max = 40
	if len(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:max]) + "..."
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
