package client_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/uss/uss/client"
)

func TestVWOFMERecordsRoundTripThroughARealServer(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	ctx := context.Background()
	_, err := c.GetVWOFMERecord(ctx, "checkout", "user-1")
	require.ErrorIs(t, err, client.ErrNotFound)

	stored, err := c.SaveVWOFMERecord(ctx, map[string]any{"featureKey": "checkout", "userId": "user-1", "featureId": 3,
		"experimentKey": "checkout_test", "experimentVariationId": 2})
	require.NoError(t, err)
	want := `{"featureKey":"checkout","userId":"user-1","featureId":3,"experimentKey":"checkout_test","experimentVariationId":2}`
	require.JSONEq(t, want, string(stored))
	got, err := c.GetVWOFMERecord(ctx, "checkout", "user-1")
	require.NoError(t, err)
	require.JSONEq(t, want, string(got))

	_, err = c.SaveVWOFMERecord(ctx, json.RawMessage(`{"featureKey":"checkout"}`))
	require.ErrorIs(t, err, client.ErrInvalidArgument)
}

func TestStickyBucketsRoundTripThroughARealServer(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	ctx := context.Background()
	_, err := c.GetStickyBuckets(ctx, "id", "user-1")
	require.ErrorIs(t, err, client.ErrNotFound)

	doc, err := c.SaveStickyBuckets(ctx, client.StickyBucketDocument{AttributeName: "id", AttributeValue: "user-1",
		Assignments: map[string]string{"checkout__0": "1"}})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"checkout__0": "1"}, doc.Assignments)
	doc, err = c.SaveStickyBuckets(ctx, client.StickyBucketDocument{AttributeName: "id", AttributeValue: "user-1",
		Assignments: map[string]string{"pricing__0": "0"}})
	require.NoError(t, err)
	want := client.StickyBucketDocument{AttributeName: "id", AttributeValue: "user-1",
		Assignments: map[string]string{"checkout__0": "1", "pricing__0": "0"}}
	require.Equal(t, want, doc, "a save keeps the entries it does not carry")
	got, err := c.GetStickyBuckets(ctx, "id", "user-1")
	require.NoError(t, err)
	require.Equal(t, want, got)

	all, err := c.GetAllStickyBuckets(ctx, map[string]string{"id": "user-1", "deviceId": "d-1"})
	require.NoError(t, err)
	require.Equal(t, map[string]client.StickyBucketDocument{"id||user-1": want}, all)
}

func TestUserProfilesRoundTripThroughARealServer(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	ctx := context.Background()
	p, err := c.LookupUserProfile(ctx, "user-1")
	require.NoError(t, err)
	require.Equal(t, client.UserProfile{UserID: "user-1", Variations: map[string]string{}}, p)

	_, err = c.SaveUserProfile(ctx, client.UserProfile{UserID: "user-1", Variations: map[string]string{"100": "201"}})
	require.NoError(t, err)
	p, err = c.SaveUserProfile(ctx, client.UserProfile{UserID: "user-1", Variations: map[string]string{"300": "401"}})
	require.NoError(t, err)
	want := client.UserProfile{UserID: "user-1", Variations: map[string]string{"100": "201", "300": "401"}}
	require.Equal(t, want, p)
	p, err = c.LookupUserProfile(ctx, "user-1")
	require.NoError(t, err)
	require.Equal(t, want, p)

	deleted, err := c.EraseUser(ctx, "user-1")
	require.NoError(t, err)
	require.Equal(t, client.Deleted{OptimizelyDecisions: 2}, deleted)
}
