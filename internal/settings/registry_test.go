package settings_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/pgtest"
	"github.com/uss/uss/internal/postgres"
	"github.com/uss/uss/internal/settings"
)

// An upload with warnings is stored and logged with them; one without is not logged as such.
func TestSettingsWithWarningsAreLogged(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	r := settings.NewRegistry(postgres.NewStore(pgtest.Pool(t)), slog.New(slog.NewJSONHandler(&logs, nil)), settings.Limits{})
	require.NoError(t, r.Load(context.Background()))
	file := func(operand string) []byte {
		return []byte(`{"accountId": 1, "campaigns": [{"id": 1, "key": "c", "status": "RUNNING", "type": "VISUAL_AB",
			"percentTraffic": 100, "segments": {"custom_variable": {"browser": "` + operand + `"}},
			"variations": [{"id": 1, "name": "Control", "weight": 100}]}]}`)
	}
	snap, err := r.Put(context.Background(), 7, file("regex(([)"))
	require.NoError(t, err)
	require.Len(t, snap.Settings.Warnings(), 1)
	_, err = r.Put(context.Background(), 7, file("regex(chrome)"))
	require.NoError(t, err)

	var warned []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n")) {
		var entry map[string]any
		require.NoError(t, json.Unmarshal(line, &entry))
		if entry["msg"] == "settings stored with warnings" {
			warned = append(warned, entry)
		}
	}
	require.Len(t, warned, 1)
	require.Equal(t, "WARN", warned[0]["level"])
	require.EqualValues(t, 7, warned[0]["account"])
	require.EqualValues(t, 1, warned[0]["version"])
	require.EqualValues(t, 1, warned[0]["count"])
	require.Equal(t, snap.Settings.Warnings(), toStrings(warned[0]["warnings"]))
}

func toStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}
