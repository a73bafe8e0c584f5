package httpapi

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The query string read straight into a map must say exactly what url.ParseQuery's reading
// says whenever it accepts, and leave every query it does not to that reading.
func FuzzWellFormedQueryAgreesWithParseQuery(f *testing.F) {
	for _, seed := range []string{
		"", "userId=u&campaignKey=c", "userId=a%20b+c&campaignKey=%E2%9C%93", "userId=u&userId=v",
		"userId=u;campaignKey=c", "userId=%zz", "=x", "&&userId=u&", "userId", "other=1", "userId=u&campaignKey",
		"campaignKey=c&userId=", "user%49d=u",
	} {
		f.Add(seed)
	}
	allowed := []string{"userId", "campaignKey"}
	f.Fuzz(func(t *testing.T, raw string) {
		strict, err := strictQuery(raw, allowed)
		fast, ok := wellFormedQuery(raw, allowed)
		if !ok {
			return
		}
		require.NoError(t, err, "the fast reading accepted %q", raw)
		require.Equal(t, strict, fast, "%q", raw)
	})
}
