package transfer

import (
	"bufio"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/uss"
)

func reader(s string) *lineReader {
	l := &lineReader{scan: bufio.NewScanner(strings.NewReader(s))}
	l.scan.Buffer(make([]byte, 1024), MaxLineBytes)
	return l
}

func TestLinesAreNumberedAsInTheFileBlankOnesSkipped(t *testing.T) {
	t.Parallel()
	l := reader("\n" + `{"userId":"u","campaignKey":"c","variationName":"V","goals":["a","b"],"source":"bucketed","exposures":4,"createdAt":"2024-01-02T03:04:05.123456Z"}` +
		"\n   \n" + `{"userId":"v","campaignKey":"c","variationName":"W"}` + "\n")
	require.True(t, l.Next())
	require.EqualValues(t, 2, l.Line())
	r := l.Row()
	require.Equal(t, []string{"a", "b"}, r.Goals)
	require.Equal(t, uss.SourceBucketed, r.Source)
	require.EqualValues(t, 4, r.Exposures)
	require.Equal(t, "2024-01-02T03:04:05.123456Z", r.CreatedAt.UTC().Format("2006-01-02T15:04:05.999999Z"))
	require.True(t, r.UpdatedAt.IsZero(), "left out: the database's now()")
	require.True(t, l.Next())
	require.EqualValues(t, 4, l.Line())
	require.Equal(t, uss.SourceSet, l.Row().Source, "the default source")
	require.False(t, l.Next())
	require.NoError(t, l.Err())
}

func TestALineLongerThanTheLimitIsABadLine(t *testing.T) {
	t.Parallel()
	l := reader(`{"userId":"u","campaignKey":"c","variationName":"V"}` + "\n" + strings.Repeat("x", MaxLineBytes+1) + "\n")
	require.True(t, l.Next())
	require.False(t, l.Next())
	var le *LineError
	require.ErrorAs(t, l.Err(), &le)
	require.EqualValues(t, 2, le.Line)
	require.ErrorIs(t, l.Err(), uss.ErrInvalidArgument)
}

// A line is read as strictly as an API body: encoding/json alone would turn bytes that are not
// UTF-8 into U+FFFD, so that distinct ids collide, and keep the last of a key given twice.
func TestALineThatIsNotStrictJSONIsABadLine(t *testing.T) {
	t.Parallel()
	for name, line := range map[string]string{
		"bytes that are not UTF-8":    "{\"userId\":\"\xff\xfeu\",\"campaignKey\":\"c\",\"variationName\":\"V\"}",
		"a lone surrogate":            `{"userId":"\ud800u","campaignKey":"c","variationName":"V"}`,
		"a key twice":                 `{"userId":"a","userId":"u","campaignKey":"c","variationName":"V"}`,
		"a key twice in another case": `{"USERID":"a","userId":"u","campaignKey":"c","variationName":"V"}`,
		"a goal's key twice":          `{"userId":"u","campaignKey":"c","variationName":"V","goals":["g"],"goals":["h"]}`,
	} {
		l := reader(`{"userId":"u","campaignKey":"c","variationName":"V"}` + "\n" + line + "\n")
		require.True(t, l.Next(), name)
		require.False(t, l.Next(), "%s is refused", name)
		var le *LineError
		require.ErrorAs(t, l.Err(), &le, name)
		require.EqualValues(t, 2, le.Line, name)
		require.ErrorIs(t, l.Err(), uss.ErrInvalidArgument, name)
	}
}

// FuzzLines: no input panics the reader, and every row it lets through is one a set would
// accept.
func FuzzLines(f *testing.F) {
	f.Add(`{"userId":"u","campaignKey":"c","variationName":"V","goals":["g"],"exposures":1}`)
	f.Add(`{"userId":"u","campaignKey":"c","variationName":"V","source":"whitelisted","updatedAt":"2024-01-01T00:00:00Z"}` + "\n{}")
	f.Add(`{"userId":"u","campaignKey":"c","variationName":"V","goals":["a_vwo_b"]}`)
	f.Add("[1,2]\n\"x\"\nnull")
	f.Fuzz(func(t *testing.T, input string) {
		l := reader(input)
		for l.Next() {
			r := l.Row()
			for _, id := range []string{r.UserID, r.CampaignKey, r.VariationName} {
				if err := uss.ValidateIdentifier("id", id); err != nil {
					t.Fatalf("line %d let through a bad identifier: %v", l.Line(), err)
				}
				if strings.ContainsRune(id, utf8.RuneError) && !strings.Contains(input, "\uFFFD") && !strings.Contains(input, "\ufffd") &&
					!strings.Contains(input, string(utf8.RuneError)) {
					t.Fatalf("line %d: an id holds U+FFFD the input never gave", l.Line())
				}
			}
			for _, g := range r.Goals {
				if err := uss.ValidateGoal("goal", g); err != nil {
					t.Fatalf("line %d let through a bad goal: %v", l.Line(), err)
				}
			}
			if r.Exposures < 0 {
				t.Fatalf("line %d: negative exposures", l.Line())
			}
		}
	})
}
