package campaign_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/campaign"
)

func realisticCampaign(tb testing.TB) *campaign.Campaign {
	tb.Helper()
	s, err := campaign.Parse([]byte(realisticSettings))
	require.NoError(tb, err)
	return s.Campaigns[0]
}

var realisticInputs = campaign.Inputs{
	CustomVariables:             map[string]any{"browser": "chrome 120", "country": "DE", "plan": "pro", "visits": 12.0},
	VariationTargetingVariables: map[string]any{"team": "growth"},
}

const benchUser = "5f0e3c2a-9d1b-4c1e-8f3a-2b7d6e4c9a10"

var sinkVariation *campaign.Variation

// Not parallel: testing.AllocsPerRun refuses to run beside parallel tests.
func TestDecisionsDoNotAllocate(t *testing.T) {
	c := realisticCampaign(t)
	v, reason := campaign.Decide(c, benchUser, realisticInputs)
	require.Equal(t, campaign.ReasonBucketed, reason, "the benchmark user must go the whole way")
	// vwo-go-sdk v1.26.0's core.GetVariation gives the same for this
	// campaign, user and variables.
	require.Equal(t, "Variation-1", v.Name)

	numeric, err := campaign.ParseSegment([]byte(`{"and": [{"custom_variable": {"visits": "gte(10)"}},
		{"custom_variable": {"visits": "12"}}, {"custom_variable": {"score": "wildcard(*5*)"}}]}`))
	require.NoError(t, err)
	numbers := map[string]any{"visits": 12.0, "score": 0.25}

	cases := map[string]func(){
		"Decide":             func() { sinkVariation, _ = campaign.Decide(c, benchUser, realisticInputs) },
		"Whitelist":          func() { sinkVariation = c.Whitelist(benchUser, realisticInputs.VariationTargetingVariables) },
		"Allocate":           func() { sinkVariation = c.Allocate(benchUser) },
		"numeric conditions": func() { _ = numeric.Matches(numbers) },
	}
	for name, fn := range cases {
		require.Zero(t, testing.AllocsPerRun(200, fn), name)
	}
}

// BenchmarkDecide is a full decision without I/O on a realistic campaign.
func BenchmarkDecide(b *testing.B) {
	c := realisticCampaign(b)
	b.ReportAllocs()
	for b.Loop() {
		sinkVariation, _ = campaign.Decide(c, benchUser, realisticInputs)
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
