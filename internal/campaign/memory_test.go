package campaign_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/campaign"
)

// settingsOf builds a file of n campaigns: plain ones (two variations, a goal, no segments:
// about 260 bytes each) or realistic ones (the campaign of realisticSettings, about 820).
func settingsOf(n int, realistic bool) []byte {
	var b strings.Builder
	b.WriteString(`{"sdkKey":"k","accountId":888888,"version":1,"campaigns":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		if realistic {
			fmt.Fprintf(&b, `{"id":%d,"key":"checkout-redesign-%d","name":"Checkout redesign %d","status":"RUNNING",`+
				`"type":"VISUAL_AB","percentTraffic":90,"isForcedVariationEnabled":true,"isBucketingSeedEnabled":true,`+
				`"segments":{"and":[{"or":[{"custom_variable":{"browser":"wildcard(chrome*)"}},{"custom_variable":{"browser":"lower(safari)"}}]},`+
				`{"not":{"or":[{"custom_variable":{"country":"regex(^(CU|KP)$)"}}]}},{"custom_variable":{"plan":"pro"}}]},`+
				`"goals":[{"identifier":"purchase","id":1,"type":"REVENUE_TRACKING","revenueProp":"amount"}],`+
				`"variations":[{"id":1,"name":"Control","weight":33.3333,"changes":{},"segments":{"or":[{"user":"qa-1, qa-2"}]}},`+
				`{"id":2,"name":"Variation-1","weight":33.3333,"changes":{},"segments":{"or":[{"custom_variable":{"qa":"v1"}}]}},`+
				`{"id":3,"name":"Variation-2","weight":33.3333,"changes":{},"segments":{}}]}`, i+1, i, i)
			continue
		}
		fmt.Fprintf(&b, `{"id":%d,"key":"c%d","status":"RUNNING","type":"VISUAL_AB","percentTraffic":100,"segments":{},`+
			`"goals":[{"id":1,"identifier":"g","type":"CUSTOM_GOAL"}],`+
			`"variations":[{"id":1,"name":"A","weight":50,"changes":{}},{"id":2,"name":"B","weight":50,"changes":{}}]}`, i+1, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// TestSettingsMemoryPerCampaign measures what a parsed file costs every process that holds
// it (retained) and what parsing it allocates on the way (the peak a process's memory grows
// to, and keeps until the runtime returns it), per campaign, and holds both under bounds.
// Before uss kept files lean (no copy of the raw file, no variation changes, shared repeated
// strings, compact conditions, objects split without copies) a plain campaign of 261 bytes
// retained 797 bytes and allocated 7,878; a realistic one of 818 bytes retained 2,553 and
// allocated 31,122. go test -v -run TestSettingsMemoryPerCampaign ./internal/campaign prints
// today's figures.
//
// The allocation bound holds without the race detector only (see raceDetector); make test
// runs with it and checks what is retained. Not parallel: the heap is measured for the whole
// process.
func TestSettingsMemoryPerCampaign(t *testing.T) {
	for _, tc := range []struct {
		name                string
		realistic           bool
		campaigns           int
		maxRetained, maxNew uint64 // bytes per campaign
	}{
		{"plain campaigns", false, 20000, 600, 4000},
		// 5,000: the file's segments may hold 100,000 conditions in all, 13 each here.
		{"realistic campaigns", true, 5000, 1500, 12000},
	} {
		data := settingsOf(tc.campaigns, tc.realistic)
		var before, parsed, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s, err := campaign.Parse(data)
		require.NoError(t, err)
		runtime.ReadMemStats(&parsed)
		runtime.GC()
		runtime.ReadMemStats(&after)
		require.Len(t, s.Campaigns, tc.campaigns)
		n := uint64(tc.campaigns)
		retained := (after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)) / n
		allocated := (parsed.TotalAlloc - before.TotalAlloc) / n
		t.Logf("%s: file %d B/campaign, retained %d B/campaign, allocated while parsing %d B/campaign",
			tc.name, len(data)/tc.campaigns, retained, allocated)
		require.LessOrEqual(t, retained, tc.maxRetained, tc.name)
		if !raceDetector {
			require.LessOrEqual(t, allocated, tc.maxNew, tc.name)
		}
		runtime.KeepAlive(s)
	}
}
