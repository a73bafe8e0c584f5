package campaign_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/campaign"
	"github.com/uss/uss/internal/vwovectors"
)

// settingsFiles returns the named settings files of a vectors file, each as
// its own JSON document.
func settingsFiles(t *testing.T, rel string) map[string]json.RawMessage {
	t.Helper()
	var files map[string]json.RawMessage
	vwovectors.Read(t, rel, &files)
	return files
}

func mustParse(t *testing.T, data []byte) *campaign.Settings {
	t.Helper()
	s, err := campaign.Parse(data)
	require.NoError(t, err)
	return s
}

// realisticSettings is a campaign as VWO's UI makes them: whitelisting on,
// a pre-segment with a couple of custom_variable conditions, 3 variations.
const realisticSettings = `{"sdkKey": "k", "accountId": 888888, "version": 1, "campaigns": [{
	"id": 235, "key": "checkout-redesign", "name": "Checkout redesign", "status": "RUNNING",
	"type": "VISUAL_AB", "percentTraffic": 90, "isForcedVariationEnabled": true, "isBucketingSeedEnabled": true,
	"segments": {"and": [
		{"or": [{"custom_variable": {"browser": "wildcard(chrome*)"}}, {"custom_variable": {"browser": "lower(safari)"}}]},
		{"not": {"or": [{"custom_variable": {"country": "regex(^(CU|KP)$)"}}]}},
		{"custom_variable": {"plan": "pro"}}]},
	"goals": [{"identifier": "purchase", "id": 1, "type": "REVENUE_TRACKING", "revenueProp": "amount"}],
	"variations": [
		{"id": 1, "name": "Control", "weight": 33.3333, "segments": {"or": [{"user": "qa-1, qa-2"}]}},
		{"id": 2, "name": "Variation-1", "weight": 33.3333, "segments": {"or": [{"custom_variable": {"qa": "v1"}}]}},
		{"id": 3, "name": "Variation-2", "weight": 33.3333, "segments": {}}]}]}`
