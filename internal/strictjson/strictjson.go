// Package strictjson refuses the JSON that encoding/json quietly accepts and changes: bytes that
// are not UTF-8 and \u escapes that are not characters (lone surrogates), both of which it
// turns into U+FFFD so that distinct inputs collide, and objects that give a key twice, of
// which it keeps the last. Check runs over a body once before (or after) it is decoded.
package strictjson

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"reflect"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// maxDepth is encoding/json's own nesting limit.
const maxDepth = 10000

// Error says what is wrong and where.
type Error struct {
	Offset int // in bytes from the start of the input
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (at byte %d)", e.Reason, e.Offset) }

// Check reports the first way data is not strict JSON: not exactly one JSON value (with white
// space around it), bytes that are not UTF-8, a \u escape that is not a whole character, or
// an object with a key twice. Keys are compared as written, except in the objects that shape
// says a Go struct decodes: encoding/json matches their keys to fields case-insensitively, so
// there "userId" and "USERID" are the same key. A nil shape compares every key as written.
func Check(data []byte, shape *Shape) error {
	c := checker{data: data}
	c.space()
	if err := c.value(shape, 0); err != nil {
		return err
	}
	c.space()
	if c.pos < len(c.data) {
		return c.fail("more after the JSON value")
	}
	return nil
}

type checker struct {
	data []byte
	pos  int
}

func (c *checker) fail(reason string) error { return &Error{Offset: c.pos, Reason: reason} }

func (c *checker) failf(format string, args ...any) error {
	return c.fail(fmt.Sprintf(format, args...))
}

func (c *checker) space() {
	for c.pos < len(c.data) {
		switch c.data[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

func (c *checker) value(shape *Shape, depth int) error {
	if c.pos >= len(c.data) {
		return c.fail("unexpected end of JSON")
	}
	switch b := c.data[c.pos]; {
	case b == '{':
		return c.object(shape, depth+1)
	case b == '[':
		return c.array(shape, depth+1)
	case b == '"':
		_, err := c.string(false)
		return err
	case b == '-' || '0' <= b && b <= '9':
		return c.number()
	case b == 't':
		return c.literal("true")
	case b == 'f':
		return c.literal("false")
	case b == 'n':
		return c.literal("null")
	}
	return c.failf("invalid character %s", quoteByte(c.data[c.pos]))
}

func (c *checker) literal(word string) error {
	if len(c.data)-c.pos < len(word) || string(c.data[c.pos:c.pos+len(word)]) != word {
		return c.fail("invalid literal")
	}
	c.pos += len(word)
	return nil
}

// number follows JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (c *checker) number() error {
	c.accept('-')
	switch {
	case c.accept('0'):
	case c.digits() == 0:
		return c.fail("invalid number")
	}
	if c.accept('.') && c.digits() == 0 {
		return c.fail("invalid number: no digit after the decimal point")
	}
	if c.accept('e') || c.accept('E') {
		if !c.accept('+') {
			c.accept('-')
		}
		if c.digits() == 0 {
			return c.fail("invalid number: no digit in the exponent")
		}
	}
	return nil
}

func (c *checker) accept(b byte) bool {
	if c.pos < len(c.data) && c.data[c.pos] == b {
		c.pos++
		return true
	}
	return false
}

func (c *checker) digits() int {
	start := c.pos
	for c.pos < len(c.data) && '0' <= c.data[c.pos] && c.data[c.pos] <= '9' {
		c.pos++
	}
	return c.pos - start
}

// string checks a string starting at its opening quote and leaves pos after the closing one.
// With decode it returns the string's value: the input itself when it has no escape (nothing
// is allocated), else a decoded copy.
func (c *checker) string(decode bool) ([]byte, error) {
	c.pos++ // the opening quote
	start := c.pos
	var out []byte // the decoded value, once an escape makes it differ from the input
	for c.pos < len(c.data) {
		b := c.data[c.pos]
		switch {
		case b == '"':
			s := c.data[start:c.pos]
			c.pos++
			if out != nil {
				return out, nil
			}
			return s, nil
		case b == '\\':
			if decode && out == nil {
				out = append([]byte(nil), c.data[start:c.pos]...)
			}
			r, err := c.escape()
			if err != nil {
				return nil, err
			}
			if decode {
				out = utf8.AppendRune(out, r)
			}
		case b < 0x20:
			return nil, c.fail("control character in a string (it must be escaped)")
		case b < utf8.RuneSelf:
			c.pos++
			if out != nil {
				out = append(out, b)
			}
		default:
			r, n := utf8.DecodeRune(c.data[c.pos:])
			if r == utf8.RuneError && n == 1 {
				return nil, c.failf("invalid UTF-8 byte %s", quoteByte(b))
			}
			if out != nil {
				out = append(out, c.data[c.pos:c.pos+n]...)
			}
			c.pos += n
		}
	}
	return nil, c.fail("unexpected end of JSON in a string")
}

// escape reads one escape sequence at pos (at its backslash) and returns the character it
// stands for. A surrogate must come as a high and low pair: alone it is no character.
func (c *checker) escape() (rune, error) {
	if c.pos+1 >= len(c.data) {
		return 0, c.fail("unexpected end of JSON in an escape")
	}
	e := c.data[c.pos+1]
	if e != 'u' {
		c.pos += 2
		switch e {
		case '"', '\\', '/':
			return rune(e), nil
		case 'b':
			return '\b', nil
		case 'f':
			return '\f', nil
		case 'n':
			return '\n', nil
		case 'r':
			return '\r', nil
		case 't':
			return '\t', nil
		}
		c.pos -= 2
		return 0, c.failf("invalid escape \\%s", string(rune(e)))
	}
	r, ok := hex4(c.data, c.pos+2)
	if !ok {
		return 0, c.fail("invalid \\u escape: four hexadecimal digits must follow")
	}
	switch {
	case 0xDC00 <= r && r <= 0xDFFF:
		return 0, c.failf("\\u%04X is half of a UTF-16 surrogate pair without its first half: not a character", r)
	case 0xD800 <= r && r <= 0xDBFF:
		lo, ok := rune(0), false
		if c.pos+7 < len(c.data) && c.data[c.pos+6] == '\\' && c.data[c.pos+7] == 'u' {
			lo, ok = hex4(c.data, c.pos+8)
		}
		if !ok || lo < 0xDC00 || lo > 0xDFFF {
			return 0, c.failf("\\u%04X is half of a UTF-16 surrogate pair without its second half: not a character", r)
		}
		c.pos += 12
		return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), nil
	}
	c.pos += 6
	return r, nil
}

func hex4(data []byte, at int) (rune, bool) {
	if at+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, b := range data[at : at+4] {
		switch {
		case '0' <= b && b <= '9':
			r = r<<4 | rune(b-'0')
		case 'a' <= b && b <= 'f':
			r = r<<4 | rune(b-'a'+10)
		case 'A' <= b && b <= 'F':
			r = r<<4 | rune(b-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func (c *checker) array(shape *Shape, depth int) error {
	if depth > maxDepth {
		return c.failf("nested deeper than %d levels", maxDepth)
	}
	c.pos++
	c.space()
	if c.accept(']') {
		return nil
	}
	elem := shape.element()
	for {
		c.space()
		if err := c.value(elem, depth); err != nil {
			return err
		}
		c.space()
		if c.accept(']') {
			return nil
		}
		if !c.accept(',') {
			return c.fail("expected , or ] in an array")
		}
	}
}

// smallObject is how many keys are compared pairwise; larger objects use a map.
const smallObject = 16

// key is an object key as written and as compared (folded in a struct's object), and the
// offset of its opening quote.
type key struct {
	written, cmp []byte
	at           int
}

// keySeed hashes the keys of large objects; random per process, so that no client can
// choose keys that collide.
var keySeed = maphash.MakeSeed()

// largeObject indexes the keys of an object beyond smallObject by a hash of their compared
// form, to the offset of the first key with that hash, rather than by the key itself: a map of
// strings copies every key, and an object of 60,000 keys in a 0.8 MB body made the check
// allocate ten times the body.
type largeObject struct {
	first map[uint64]int
	// collided holds the rare keys whose hash an earlier, different key has.
	collided map[string][]byte
}

func (c *checker) object(shape *Shape, depth int) error {
	if depth > maxDepth {
		return c.failf("nested deeper than %d levels", maxDepth)
	}
	c.pos++
	c.space()
	if c.accept('}') {
		return nil
	}
	fold := shape.isStruct()
	var small [smallObject]key
	keys := small[:0]
	var large *largeObject
	for {
		c.space()
		if c.pos >= len(c.data) || c.data[c.pos] != '"' {
			return c.fail("expected a string key in an object")
		}
		at := c.pos
		written, err := c.string(true)
		if err != nil {
			return err
		}
		k := key{written, written, at}
		if fold {
			k.cmp = foldName(written)
		}
		var first []byte
		var dup bool
		switch {
		case large != nil:
			first, dup = c.seenLarge(large, k, fold)
		case len(keys) < smallObject:
			if first, dup = seen(keys, k.cmp); !dup {
				keys = append(keys, k)
			}
		default:
			if first, dup = seen(keys, k.cmp); !dup {
				large = &largeObject{first: make(map[uint64]int, 4*smallObject)}
				for _, k := range append(keys, k) {
					large.first[maphash.Bytes(keySeed, k.cmp)] = k.at
				}
			}
		}
		if dup {
			c.pos = at
			if !bytes.Equal(first, written) {
				return c.failf("field %s repeats %s (field names match case-insensitively)", strconv.Quote(string(written)), strconv.Quote(string(first)))
			}
			return c.failf("key %s appears twice in one object", strconv.Quote(string(written)))
		}
		c.space()
		if !c.accept(':') {
			return c.fail("expected : after an object key")
		}
		c.space()
		if err := c.value(shape.member(k.cmp), depth); err != nil {
			return err
		}
		c.space()
		if c.accept('}') {
			return nil
		}
		if !c.accept(',') {
			return c.fail("expected , or } in an object")
		}
	}
}

// seen looks a key up among those so far and returns its first spelling.
func seen(keys []key, cmp []byte) ([]byte, bool) {
	for _, k := range keys {
		if bytes.Equal(k.cmp, cmp) {
			return k.written, true
		}
	}
	return nil, false
}

// seenLarge looks a key up in a large object, records it if new, and returns the first
// spelling of the key it repeats.
func (c *checker) seenLarge(large *largeObject, k key, fold bool) ([]byte, bool) {
	h := maphash.Bytes(keySeed, k.cmp)
	at, ok := large.first[h]
	if !ok {
		large.first[h] = k.at
		return nil, false
	}
	// The key at that offset was checked already: read it again to compare.
	again := checker{data: c.data, pos: at}
	first, _ := again.string(true)
	firstCmp := first
	if fold {
		firstCmp = foldName(first)
	}
	if bytes.Equal(firstCmp, k.cmp) {
		return first, true
	}
	if first, ok := large.collided[string(k.cmp)]; ok {
		return first, true
	}
	if large.collided == nil {
		large.collided = make(map[string][]byte)
	}
	large.collided[string(k.cmp)] = k.written
	return nil, false
}

// foldName is encoding/json's fold of a field name: two names match a field alike exactly
// when their folds are equal (ASCII letters upper-cased, other runes to the smallest of their
// case-folding orbit, so the Kelvin sign folds with K).
func foldName(name []byte) []byte {
	out := make([]byte, 0, len(name))
	for i := 0; i < len(name); {
		if b := name[i]; b < utf8.RuneSelf {
			if 'a' <= b && b <= 'z' {
				b -= 'a' - 'A'
			}
			out = append(out, b)
			i++
			continue
		}
		r, n := utf8.DecodeRune(name[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return out
}

func foldRune(r rune) rune {
	for {
		next := unicode.SimpleFold(r)
		if next <= r {
			return next
		}
		r = next
	}
}

func quoteByte(b byte) string {
	if b < utf8.RuneSelf && strconv.IsPrint(rune(b)) {
		return strconv.QuoteRune(rune(b))
	}
	return fmt.Sprintf("0x%02x", b)
}

// Shape is how a Go type decodes JSON, as far as Check needs it: which objects are structs
// (keys folded) and what each member or element decodes into.
type Shape struct {
	fields map[string]*Shape // a struct: by folded field name; nil otherwise
	elem   *Shape            // a map's values, a slice's or array's elements
}

func (s *Shape) isStruct() bool { return s != nil && s.fields != nil }

func (s *Shape) element() *Shape {
	if s == nil {
		return nil
	}
	return s.elem
}

// member is the shape of an object member, given its key as compared.
func (s *Shape) member(cmp []byte) *Shape {
	switch {
	case s == nil:
		return nil
	case s.fields != nil:
		return s.fields[string(cmp)] // nil for an unknown field, which the decoder refuses
	}
	return s.elem
}

var unmarshaler = reflect.TypeFor[interface{ UnmarshalJSON([]byte) error }]()

// ShapeOf is the shape of values of type t (pointers followed). Types that decode themselves
// (json.RawMessage, custom UnmarshalJSON) and interfaces are free-form: nil.
func ShapeOf(t reflect.Type) *Shape {
	return shapeOf(t, map[reflect.Type]*Shape{})
}

func shapeOf(t reflect.Type, building map[reflect.Type]*Shape) *Shape {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := building[t]; ok {
		return s // a recursive type
	}
	if t.Implements(unmarshaler) || reflect.PointerTo(t).Implements(unmarshaler) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		s := &Shape{fields: map[string]*Shape{}}
		building[t] = s
		addFields(s, t, building)
		return s
	case reflect.Map:
		s := &Shape{}
		building[t] = s
		s.elem = shapeOf(t.Elem(), building)
		return s
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil // []byte is a base64 string
		}
		s := &Shape{}
		building[t] = s
		s.elem = shapeOf(t.Elem(), building)
		return s
	}
	return nil
}

// addFields adds t's fields as encoding/json names them (tag name, else the Go name; "-"
// skipped; untagged embedded structs flattened).
func addFields(s *Shape, t reflect.Type, building map[reflect.Type]*Shape) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := cutComma(tag)
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			addFields(s, ft, building)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s.fields[string(foldName([]byte(name)))] = shapeOf(f.Type, building)
	}
}

func cutComma(tag string) (string, string, bool) {
	for i := 0; i < len(tag); i++ {
		if tag[i] == ',' {
			return tag[:i], tag[i+1:], true
		}
	}
	return tag, "", false
}
