package campaign_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/campaign"
	"github.com/uss/uss/internal/segment"
)

func realisticCampaign(tb testing.TB) *campaign.Campaign {
	tb.Helper()
	s, err := campaign.Parse([]byte(realisticSettings))
	require.NoError(tb, err)
	return s.Campaigns[0]
}

var (
	realisticCustomVariables = map[string]any{"browser": "chrome 120", "country": "DE", "plan": "pro", "visits": 12.0}
	realisticTargeting       = map[string]any{"team": "growth"}
)

const benchUser = "5f0e3c2a-9d1b-4c1e-8f3a-2b7d6e4c9a10"

var (
	sinkVariation *campaign.Variation
	sinkBool      bool
)

// Not parallel: testing.AllocsPerRun refuses to run beside parallel tests.
func TestDecisionStepsDoNotAllocate(t *testing.T) {
	c := realisticCampaign(t)
	// The benchmark user goes the whole way: not whitelisted, in traffic and
	// segments, and vwo-go-sdk v1.26.0's core.GetVariation gives the same
	// variation for this campaign, user and variables.
	require.Nil(t, c.Whitelist(benchUser, realisticTargeting))
	require.True(t, c.InTraffic(benchUser))
	require.True(t, c.PassesSegments(realisticCustomVariables))
	require.Equal(t, "Variation-1", c.Allocate(benchUser).Name)

	numeric, err := segment.Parse([]byte(`{"and": [{"custom_variable": {"visits": "gte(10)"}},
		{"custom_variable": {"visits": "12"}}, {"custom_variable": {"score": "wildcard(*5*)"}}]}`))
	require.NoError(t, err)
	numbers := map[string]any{"visits": 12.0, "score": 0.25}

	cases := map[string]func(){
		"Whitelist":          func() { sinkVariation = c.Whitelist(benchUser, realisticTargeting) },
		"InTraffic":          func() { sinkBool = c.InTraffic(benchUser) },
		"PassesSegments":     func() { sinkBool = c.PassesSegments(realisticCustomVariables) },
		"Allocate":           func() { sinkVariation = c.Allocate(benchUser) },
		"numeric conditions": func() { _ = numeric.Matches(numbers) },
	}
	for name, fn := range cases {
		require.Zero(t, testing.AllocsPerRun(200, fn), name)
	}
}

// BenchmarkBucket is the bucketing part of a decision: traffic and variation.
func BenchmarkBucket(b *testing.B) {
	c := realisticCampaign(b)
	b.ReportAllocs()
	for b.Loop() {
		if c.InTraffic(benchUser) {
			sinkVariation = c.Allocate(benchUser)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	data := []byte(realisticSettings)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := campaign.Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
