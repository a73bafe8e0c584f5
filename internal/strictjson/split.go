package strictjson

import "encoding/json"

// Splitting JSON that Check accepted, without copying: a parser that reads a large document
// field by field (a settings file) walks it with these instead of decoding every level into
// fresh maps and copies. On input Check did not accept the results are unspecified, but
// these never panic.

// Member is one member of an object: its key, escapes resolved, and its value as written (a
// slice of the input).
type Member struct {
	Key   []byte
	Value json.RawMessage
}

// Members splits an object into its members, in order; false if obj is not an object.
func Members(obj []byte) ([]Member, bool) {
	c := checker{data: obj}
	c.space()
	if !c.accept('{') {
		return nil, false
	}
	out := make([]Member, 0, count(obj, c.pos))
	c.space()
	if c.accept('}') {
		return out, true
	}
	for {
		c.space()
		if c.pos >= len(c.data) || c.data[c.pos] != '"' {
			return nil, false
		}
		key, err := c.string(true)
		if err != nil {
			return nil, false
		}
		c.space()
		if !c.accept(':') {
			return nil, false
		}
		c.space()
		value, ok := c.skip()
		if !ok {
			return nil, false
		}
		out = append(out, Member{Key: key, Value: value})
		c.space()
		if c.accept('}') {
			return out, true
		}
		if !c.accept(',') {
			return nil, false
		}
	}
}

// Elements splits an array into its elements, in order; false if arr is not an array.
func Elements(arr []byte) ([]json.RawMessage, bool) {
	c := checker{data: arr}
	c.space()
	if !c.accept('[') {
		return nil, false
	}
	out := make([]json.RawMessage, 0, count(arr, c.pos))
	c.space()
	if c.accept(']') {
		return out, true
	}
	for {
		c.space()
		value, ok := c.skip()
		if !ok {
			return nil, false
		}
		out = append(out, value)
		c.space()
		if c.accept(']') {
			return out, true
		}
		if !c.accept(',') {
			return nil, false
		}
	}
}

// String returns the value of a JSON string, escapes resolved; false if s is not a string.
// Without escapes the result shares no memory with s only because it is converted to string.
func String(s []byte) (string, bool) {
	c := checker{data: s}
	c.space()
	if c.pos >= len(c.data) || c.data[c.pos] != '"' {
		return "", false
	}
	v, err := c.string(true)
	if err != nil {
		return "", false
	}
	return string(v), true
}

// count is how many members or elements the object or array just opened before at has (a
// first pass, so that the slice of them is allocated once at its size).
func count(data []byte, at int) int {
	c := checker{data: data, pos: at}
	n, depth, empty := 0, 0, true
	for c.pos < len(c.data) {
		switch c.data[c.pos] {
		case '"':
			empty = false
			if !c.skipString() {
				return n
			}
			continue
		case '{', '[':
			empty = false
			depth++
		case '}', ']':
			if depth == 0 {
				if !empty {
					n++
				}
				return n
			}
			depth--
		case ',':
			if depth == 0 {
				n++
			}
		case ' ', '\t', '\n', '\r':
		default:
			empty = false
		}
		c.pos++
	}
	return n
}

// skip passes over one value at pos, trusting it to be valid JSON, and returns it.
func (c *checker) skip() ([]byte, bool) {
	start := c.pos
	depth := 0
	for c.pos < len(c.data) {
		b := c.data[c.pos]
		switch {
		case b == '"':
			if !c.skipString() {
				return nil, false
			}
		case b == '{' || b == '[':
			depth++
			c.pos++
		case b == '}' || b == ']':
			if depth == 0 { // the end of the enclosing object or array: a scalar ended
				return c.data[start:c.pos], c.pos > start
			}
			depth--
			c.pos++
		case depth == 0 && (b == ',' || b == ':' || b == ' ' || b == '\t' || b == '\n' || b == '\r'):
			return c.data[start:c.pos], c.pos > start
		default:
			c.pos++
		}
		if depth == 0 && (b == '"' || b == '}' || b == ']') {
			return c.data[start:c.pos], true // a string, object or array just ended
		}
	}
	if depth != 0 {
		return nil, false
	}
	return c.data[start:c.pos], c.pos > start
}

// skipString passes over a string at pos, escapes and all.
func (c *checker) skipString() bool {
	for c.pos++; c.pos < len(c.data); c.pos++ {
		switch c.data[c.pos] {
		case '\\':
			c.pos++
		case '"':
			c.pos++
			return true
		}
	}
	return false
}
