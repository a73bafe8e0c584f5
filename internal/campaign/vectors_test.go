package campaign_test

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/campaign"
)

// The golden vectors are Wingify's own SDK test data (internal/vwovectors).
// Here every settings file of them loads; their user expectations run through
// decision.DecideIn, and their segment rules in internal/segment.

// Every golden settings file must load, except the ones listed here with the
// reason uss refuses them.
func TestGoldenSettingsFilesValidate(t *testing.T) {
	t.Parallel()
	// Neither of these is a deliberate negative case: they are copy-paste
	// slips in the Go SDK's fixtures that its tests never look at, and no
	// user expectation uses them. Each is refused for exactly one problem.
	refused := map[string][]string{
		// Two campaigns share id 22. Campaign ids seed bucketing and name
		// the campaign in VWO's reports, so they must be unique.
		"go-sdk/settings.json NEW_SETTINGS_FILE": {
			"campaigns[2].id: duplicate campaign id 22 (also campaigns[1])",
		},
		// Variation-2 and Variation-3 share id 3. VWO reports conversions
		// by variation id ("combination"), so the two would be merged.
		"go-sdk/settings.json FT_100_W_33_33_33_WS_WW": {
			"campaigns[0].variations[3].id: duplicate variation id 3 (also campaigns[0].variations[2])",
		},
	}
	loaded := 0
	for _, rel := range []string{"go-sdk/settings.json", "node-sdk/settings.json", "node-sdk/settings_meg.json"} {
		files := settingsFiles(t, rel)
		names := make([]string, 0, len(files))
		for name := range files {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			s, err := campaign.Parse(files[name])
			if want, ok := refused[rel+" "+name]; ok {
				var verr *campaign.ValidationError
				require.ErrorAs(t, err, &verr, name)
				require.Equal(t, want, verr.Problems, name)
				continue
			}
			require.NoError(t, err, "%s %s", rel, name)
			require.NotEmpty(t, s.Campaigns, name)
			loaded++
		}
	}
	// 26 Go files less the two refused, 17 node files, 2 MEG files.
	require.Equal(t, 24+17+2, loaded)
}

// FR_WRONG_VARIABLE_TYPE looks like a negative case by its name, but it is
// the Go SDK's test of coercing variable values ("123" for an integer). The
// SDK accepts the file, so uss loads it too and keeps the values as sent.
func TestWrongVariableTypeFileLoadsWithValuesAsSent(t *testing.T) {
	t.Parallel()
	s := mustParse(t, settingsFiles(t, "go-sdk/settings.json")["FR_WRONG_VARIABLE_TYPE"])
	vars := s.Campaigns[0].Variables
	require.Len(t, vars, 8)
	require.Equal(t, "integer", vars[0].Type)
	require.JSONEq(t, `"123"`, string(vars[0].Value))
}
