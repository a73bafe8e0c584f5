package campaign_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uss/uss/internal/campaign"
)

// FuzzParse: any input either fails with a *ValidationError or yields
// settings that parse the same again and can decide without panicking. Seeds include the golden files and hostile shapes (deep
// nesting, huge regexes, wide trees) that the parse-time limits must stop.
func FuzzParse(f *testing.F) {
	for _, rel := range []string{"go-sdk/settings.json", "node-sdk/settings.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "vwo-vectors", rel))
		if err != nil {
			f.Fatal(err)
		}
		var files map[string]json.RawMessage
		if err := json.Unmarshal(data, &files); err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			f.Add([]byte(file))
		}
	}
	f.Add([]byte(realisticSettings))
	f.Add([]byte(`{"accountId": 1, "campaigns": [{"id": 1, "key": "k", "status": "RUNNING", "type": "VISUAL_AB",
		"percentTraffic": 100, "segments": ` + strings.Repeat(`{"not": `, 100) + `{}` + strings.Repeat(`}`, 100) + `,
		"variations": [{"id": 1, "name": "A", "weight": 100}]}]}`))
	f.Add([]byte(`{"accountId": 1, "campaigns": [{"id": 1, "key": "k", "status": "RUNNING", "type": "VISUAL_AB",
		"percentTraffic": 100, "segments": {"custom_variable": {"v": "regex(` + strings.Repeat(`(a|b)*`, 300) + `)"}},
		"variations": [{"id": 1, "name": "A", "weight": 100}]}]}`))
	f.Add([]byte(`{"accountId": "x", "campaigns": [{"id": "1", "key": "k", "status": "PAUSED", "type": "FEATURE_ROLLOUT",
		"percentTraffic": "50", "variations": [{"id": 1, "name": "A", "weight": "100"}]}]}`))
	f.Add([]byte("{\"accountId\": 1, \"campaigns\": [{\"id\": 1, \"key\": \"k\xff\", \"status\": \"RUNNING\"}]}"))
	f.Add([]byte(`{"accountId": 1, "accountId": 2, "campaigns": []}`))
	f.Add([]byte(`{"accountId": 1, "campaigns": [{"id": 1, "key": "\ud800"}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"campaigns": null}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := campaign.Parse(data)
		if err != nil {
			if _, ok := err.(*campaign.ValidationError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		again, err := campaign.Parse(data)
		if err != nil {
			t.Fatalf("settings that parsed do not re-validate: %v", err)
		}
		if len(again.Campaigns) != len(s.Campaigns) {
			t.Fatalf("re-parse found %d campaigns, first parse %d", len(again.Campaigns), len(s.Campaigns))
		}
		in := campaign.Inputs{
			CustomVariables:             map[string]any{"browser": "chrome", "n": 10.0},
			VariationTargetingVariables: map[string]any{"browser": "chrome"},
		}
		for _, c := range s.Campaigns {
			if s.Campaign(c.Key) != c {
				t.Fatalf("campaign %q not found by its key", c.Key)
			}
			for _, user := range []string{"Ashley", "", "user-7519"} {
				v, _ := campaign.Decide(c, user, in)
				if v != nil && c.Variation(v.Name) != v {
					t.Fatalf("decided variation %q is not the campaign's", v.Name)
				}
			}
		}
	})
}
