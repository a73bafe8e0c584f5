package failopen_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/integrations/internal/failopen"
)

// clock is a settable time source, so expiry is tested without waiting.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// variation is the one entry a VWO key holds.
func variation(name string) map[string]string { return map[string]string{"variationName": name} }

func newGuard(memory time.Duration, maxKeys int) (*failopen.Guard, *clock) {
	c := &clock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	return failopen.New(memory, maxKeys, c.now), c
}

func TestAWriteIsRefusedForTheKeyWhoseReadFailedUntilTheMemoryEnds(t *testing.T) {
	t.Parallel()
	g, c := newGuard(time.Minute, 10)
	require.True(t, g.WriteAllowed("u1/c", variation("Control")))

	g.ReadFailed("u1/c")
	require.False(t, g.WriteAllowed("u1/c", variation("Control")))
	require.False(t, g.WriteAllowed("u1/c", variation("Control")), "every write of the key, not just the first (VWO's Track writes twice)")
	require.True(t, g.WriteAllowed("u2/c", variation("Control")), "other keys write as usual")

	c.advance(time.Minute - time.Nanosecond)
	require.False(t, g.WriteAllowed("u1/c", variation("Control")))
	c.advance(time.Nanosecond)
	require.True(t, g.WriteAllowed("u1/c", variation("Control")), "forgotten once the memory is over")
	require.Equal(t, 0, g.Len())
}

func TestAnotherFailedReadExtendsTheMemory(t *testing.T) {
	t.Parallel()
	g, c := newGuard(time.Minute, 10)
	g.ReadFailed("a")
	g.ReadFailed("b")
	c.advance(40 * time.Second)
	g.ReadFailed("a")
	c.advance(30 * time.Second)
	require.False(t, g.WriteAllowed("a", variation("V")), "failed again 30s ago")
	require.True(t, g.WriteAllowed("b", variation("V")), "failed 70s ago")
	require.Equal(t, 1, g.Len())
}

func TestAFullGuardRefusesEveryWriteRatherThanForgetAKey(t *testing.T) {
	t.Parallel()
	g, c := newGuard(time.Minute, 3)
	for i := range 3 {
		g.ReadFailed(fmt.Sprint("k", i))
	}
	require.True(t, g.WriteAllowed("unrelated", variation("V")))
	c.advance(10 * time.Second)
	g.ReadFailed("k3") // no room
	require.Equal(t, 3, g.Len(), "the set stays bounded")
	for _, k := range []string{"k0", "k1", "k2", "k3", "unrelated"} {
		require.False(t, g.WriteAllowed(k, variation("V")), k)
	}
	c.advance(time.Minute)
	require.True(t, g.WriteAllowed("k3", variation("V")), "everything is forgotten a memory after the overflow")
	require.True(t, g.WriteAllowed("unrelated", variation("V")))
	require.Equal(t, 0, g.Len())

	c.advance(time.Second)
	g.ReadFailed("k4")
	require.False(t, g.WriteAllowed("k4", variation("V")), "room again once old keys expired")
	require.True(t, g.WriteAllowed("k0", variation("V")))
}

func TestGuardIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	g, c := newGuard(time.Minute, 50)
	var wg sync.WaitGroup
	var allowedRightAfterFailure atomic.Int64
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				k := fmt.Sprint("k", (i*200+j)%80)
				g.ReadFailed(k)
				if g.WriteAllowed(k, variation("V")) {
					allowedRightAfterFailure.Add(1)
				}
				c.advance(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	require.Zero(t, allowedRightAfterFailure.Load())
	require.LessOrEqual(t, g.Len(), 50)
}

func TestAfterAFailedReadOnlyAWriteOfWhatALaterReadFoundGoesThrough(t *testing.T) {
	t.Parallel()
	g, c := newGuard(time.Minute, 10)
	g.ReadSucceeded("u/c", variation("Control"))
	require.True(t, g.WriteAllowed("u/c", variation("Variation-1")), "a success without an earlier failure changes nothing")

	g.ReadFailed("u/c")
	require.False(t, g.WriteAllowed("u/c", variation("Control")), "nothing is known of the stored value yet")
	g.ReadSucceeded("u/c", variation("Control"))
	require.True(t, g.WriteAllowed("u/c", variation("Control")), "the stored variation again: goals merge, nothing is replaced")
	require.False(t, g.WriteAllowed("u/c", variation("Variation-1")),
		"a decision made while the read failed must not replace what is stored")

	g.ReadFailed("u/c")
	require.False(t, g.WriteAllowed("u/c", variation("Control")), "a new failure forgets what was read before it")

	c.advance(time.Minute)
	require.True(t, g.WriteAllowed("u/c", variation("Variation-1")))
}

func TestAfterAFailedReadADocumentWriteMayAddEntriesButChangeNoneThatALaterReadFound(t *testing.T) {
	t.Parallel()
	g, _ := newGuard(time.Minute, 10)
	g.ReadFailed("id||u")
	require.False(t, g.WriteAllowed("id||u", map[string]string{"new__0": "1"}), "nothing is known of the document yet")

	g.ReadSucceeded("id||u", map[string]string{"a__0": "1", "b__0": "0"})
	require.True(t, g.WriteAllowed("id||u", map[string]string{"a__0": "1", "new__0": "1"}),
		"an experiment the document did not hold is added; what it held is written unchanged")
	require.True(t, g.WriteAllowed("id||u", map[string]string{"new__0": "1"}), "entries not written are kept by uss")
	require.False(t, g.WriteAllowed("id||u", map[string]string{"a__0": "2", "new__0": "1"}),
		"a variation decided during the failure must not replace the one stored")

	g.ReadSucceeded("id||u", nil)
	require.True(t, g.WriteAllowed("id||u", map[string]string{"a__0": "2"}), "a later read found nothing stored: nothing to replace")
}

func TestAfterAFailedReadAWholeReplacementMustKeepEveryEntryALaterReadFound(t *testing.T) {
	t.Parallel()
	g, _ := newGuard(time.Minute, 10)
	g.ReadFailed("u/f")
	require.False(t, g.ReplaceAllowed("u/f", map[string]string{"featureId": "1"}))

	found := map[string]string{"featureId": "1", "rolloutKey": `"r"`}
	g.ReadSucceeded("u/f", found)
	require.True(t, g.ReplaceAllowed("u/f", map[string]string{"featureId": "1", "rolloutKey": `"r"`, "experimentKey": `"e"`}),
		"it adds fields and keeps the others")
	require.False(t, g.ReplaceAllowed("u/f", map[string]string{"featureId": "1"}), "it would drop a field that read found")
	require.False(t, g.ReplaceAllowed("u/f", map[string]string{"featureId": "2", "rolloutKey": `"r"`}), "it would change one")
	require.True(t, g.ReplaceAllowed("other", map[string]string{}), "other keys write as usual")
}
