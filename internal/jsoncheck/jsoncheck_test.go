package jsoncheck_test

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/jsoncheck"
)

// Problems and warnings are kept up to a bound, and the rest is counted, so that a hostile
// document cannot make an answer of a million lines.
func TestProblemsAndWarningsAreBoundedAndCounted(t *testing.T) {
	t.Parallel()
	c := &jsoncheck.Checker{}
	require.NoError(t, c.Err())
	require.Empty(t, c.Warnings())
	for i := range 1005 {
		c.Addf(jsoncheck.Index("items", i), "problem %d", i)
		c.Warn(jsoncheck.Index("items", i), fmt.Sprintf("warning %d", i))
	}
	var verr *jsoncheck.Error
	require.ErrorAs(t, c.Err(), &verr)
	require.Len(t, verr.Problems, 1001)
	require.Equal(t, "items[0]: problem 0", verr.Problems[0])
	require.Equal(t, "... and 5 more problems", verr.Problems[1000])
	warnings := c.Warnings()
	require.Len(t, warnings, 1001)
	require.Equal(t, "items[999]: warning 999", warnings[999])
	require.Equal(t, "... and 5 more warnings", warnings[1000])
}

func TestReadersNameTheProblemByPath(t *testing.T) {
	t.Parallel()
	c := &jsoncheck.Checker{}
	_, ok := c.Object("a", []byte(`[1]`))
	require.False(t, ok)
	_, ok = c.Integer("b", []byte(`"1.5"`))
	require.False(t, ok)
	n, ok := c.Integer("c", []byte(`"42"`))
	require.True(t, ok)
	require.Equal(t, 42, n)
	_, ok = c.Bool("d", []byte(`"yes"`))
	require.False(t, ok)
	text, ok := c.IntegerText("e", []byte(`12345678901`))
	require.True(t, ok)
	require.Equal(t, "12345678901", text)
	var verr *jsoncheck.Error
	require.ErrorAs(t, c.Err(), &verr)
	require.Equal(t, []string{"a: must be an object", "b: must be a whole number, got 1.5", "d: must be true or false"}, verr.Problems)
}

// A document is read only once it is strict JSON: a repeated key or text that is not UTF-8
// would be read one way here and another by whoever else reads the document.
func TestDocumentRefusesWhatIsNotStrictJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, doc, problem string
	}{
		{"not JSON", `{"a": }`, "doc: not valid JSON: invalid character '}' looking for beginning of value"},
		{"a key twice", `{"a": 1, "b": {"c": 1, "c": 2}}`, `doc: not strict JSON: key "c" appears twice in one object (at byte 23)`},
		{"invalid UTF-8", "{\"a\": \"\xff\"}", "doc: not strict JSON: invalid UTF-8 byte 0xff (at byte 7)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &jsoncheck.Checker{}
			require.False(t, c.Document("doc", []byte(tc.doc)))
			var verr *jsoncheck.Error
			require.ErrorAs(t, c.Err(), &verr)
			require.Equal(t, []string{tc.problem}, verr.Problems)
		})
	}
}

// Objects keep their members in order, as slices of the document; keys are case-sensitive.
func TestObjectsAreReadInPlaceAndInOrder(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"b": [1, "x"], "a": "\u00e9", "A": null}`)
	c := &jsoncheck.Checker{}
	require.True(t, c.Document("doc", doc))
	o, ok := c.Object("doc", doc)
	require.True(t, ok)
	require.Len(t, o, 3)
	require.Equal(t, "b", string(o[0].Key))
	require.Equal(t, `[1, "x"]`, string(o.Get("b")))
	s, ok := c.String("doc.a", o.Get("a"))
	require.True(t, ok)
	require.Equal(t, "é", s)
	require.False(t, jsoncheck.Present(o.Get("A")))
	require.Nil(t, o.Get("c"))
	items, ok := c.Array("doc.b", o.Get("b"))
	require.True(t, ok)
	require.Equal(t, []string{"1", `"x"`}, []string{string(items[0]), string(items[1])})
	require.NoError(t, c.Err())
}

// Intern hands back one copy of each short string; long ones, rarely repeated, are not kept.
func TestInternSharesShortStrings(t *testing.T) {
	t.Parallel()
	c := &jsoncheck.Checker{}
	first := c.Intern(string([]byte("RUNNING")))
	again := c.Intern(string([]byte("RUNNING")))
	require.Equal(t, "RUNNING", again)
	require.Same(t, unsafe.StringData(first), unsafe.StringData(again))
	long := string(make([]byte, 100))
	other := string(make([]byte, 100))
	c.Intern(long)
	require.NotSame(t, unsafe.StringData(long), unsafe.StringData(c.Intern(other)))
}
