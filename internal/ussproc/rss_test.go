package ussproc

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseStatusReadsRSSAndHighWaterMark(t *testing.T) {
	t.Parallel()
	status := "Name:\tuss-server\nVmPeak:\t 1271280 kB\nVmHWM:\t   47000 kB\nVmRSS:\t   45120 kB\nThreads:\t8\n"
	rss, hwm, err := parseStatus([]byte(status))
	require.NoError(t, err)
	require.EqualValues(t, 45120<<10, rss)
	require.EqualValues(t, 47000<<10, hwm)

	_, _, err = parseStatus([]byte("Name:\tzombie\nThreads:\t1\n"))
	require.Error(t, err, "a process without memory lines (a zombie) is not a zero reading")
	_, _, err = parseStatus([]byte("VmHWM:\t1 MB\nVmRSS:\t1 kB\n"))
	require.Error(t, err)
}
