package adaptertest

import (
	"bytes"
	"os"
	"testing"
)

// RequireShownWhole fails the test unless the Markdown file readme shows the Go file program
// whole, in a go code block: what readers copy is then what the tests run.
func RequireShownWhole(t *testing.T, readme, program string) {
	t.Helper()
	code, err := os.ReadFile(program)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	// A plain message: require.Contains would print the whole document.
	if !bytes.Contains(doc, []byte("```go\n"+string(code)+"```\n")) {
		t.Fatalf("%s must show %s whole, in a go code block: copy it there again", readme, program)
	}
}
