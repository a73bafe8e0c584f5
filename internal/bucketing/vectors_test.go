package bucketing_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/internal/bucketing"
)

func readVectors(t *testing.T, rel string, into any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "vwo-vectors", rel))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, into))
}

func TestBucketMatchesGoSDKVectors(t *testing.T) {
	t.Parallel()
	var file struct {
		Cases []struct {
			User   string `json:"user"`
			Bucket int    `json:"bucket_value"`
		} `json:"USER_AND_BUCKET_VALUES"`
	}
	readVectors(t, "go-sdk/bucket_value_expectations.json", &file)
	require.Len(t, file.Cases, 26)
	for _, c := range file.Cases {
		require.Equal(t, c.Bucket, bucketing.Bucket(c.User, bucketing.MaxVariation, 1), c.User)
	}
}

func TestBucketMatchesNodeSDKVectors(t *testing.T) {
	t.Parallel()
	var file struct {
		Plain []struct {
			User   string `json:"user"`
			Bucket int    `json:"bucketValue"`
		} `json:"bucketValues"`
		Seeded []struct {
			User     string `json:"user"`
			Bucket   int    `json:"bucketValue"`
			Campaign struct {
				ID                     int  `json:"id"`
				IsBucketingSeedEnabled bool `json:"isBucketingSeedEnabled"`
			} `json:"campaign"`
		} `json:"seedBucketValue"`
	}
	readVectors(t, "node-sdk/bucket_values.json", &file)
	require.Len(t, file.Plain, 26)
	require.Len(t, file.Seeded, 52)

	for _, c := range file.Plain {
		require.Equal(t, c.Bucket, bucketing.Bucket(c.User, bucketing.MaxVariation, 1), c.User)
	}
	for _, c := range file.Seeded {
		prefix := ""
		if c.Campaign.IsBucketingSeedEnabled {
			prefix = bucketing.CampaignPrefix(c.Campaign.ID)
		}
		got := bucketing.Value(bucketing.HashPair(prefix, c.User), bucketing.MaxVariation, 1)
		require.Equal(t, c.Bucket, got, "%s campaign %d seed %v", c.User, c.Campaign.ID, c.Campaign.IsBucketingSeedEnabled)
	}
}
