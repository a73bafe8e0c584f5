package strictjson

import (
	"hash/maphash"
	"testing"

	"github.com/stretchr/testify/require"
)

// Two different keys with one hash are told apart by what they say: a collision is no
// repeat, and the second key, given again, is one.
func TestKeysWhoseHashesCollideAreComparedByWhatTheySay(t *testing.T) {
	data := []byte(`{"a":1,"b":2,"b":3}`)
	c := checker{data: data}
	a, b, bAgain := key{[]byte("a"), []byte("a"), 1}, key{[]byte("b"), []byte("b"), 7}, key{[]byte("b"), []byte("b"), 13}
	// "b" is made to hash to where "a" is recorded.
	large := &largeObject{first: map[uint64]int{maphash.Bytes(keySeed, []byte("b")): a.at}}
	_, dup := c.seenLarge(large, b, false)
	require.False(t, dup, "b is not a")
	first, dup := c.seenLarge(large, bAgain, false)
	require.True(t, dup, "b given twice")
	require.Equal(t, "b", string(first))
}
