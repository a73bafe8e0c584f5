package campaign_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/uss/uss/internal/campaign"
	"github.com/uss/uss/internal/vwovectors"
)

// FuzzParse: any input either fails with a *ValidationError or yields
// settings that parse the same again and whose decision steps run without
// panicking. Seeds include the golden files and hostile shapes (deep
// nesting, huge regexes, wide trees) that the parse-time limits must stop.
func FuzzParse(f *testing.F) {
	for _, rel := range []string{"go-sdk/settings.json", "node-sdk/settings.json"} {
		var files map[string]json.RawMessage
		vwovectors.Read(f, rel, &files)
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
			if ve := (*campaign.ValidationError)(nil); !errors.As(err, &ve) {
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
		vars := map[string]any{"browser": "chrome", "n": 10.0}
		for _, c := range s.Campaigns {
			if s.Campaign(c.Key) != c {
				t.Fatalf("campaign %q not found by its key", c.Key)
			}
			for _, user := range []string{"Ashley", "", "user-7519"} {
				c.InTraffic(user)
				c.PassesSegments(vars)
				for _, v := range []*campaign.Variation{c.Whitelist(user, vars), c.Allocate(user)} {
					if v != nil && c.Variation(v.Name) != v {
						t.Fatalf("variation %q is not the campaign's", v.Name)
					}
				}
			}
		}
	})
}
