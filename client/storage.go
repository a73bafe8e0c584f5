package client

import (
	"context"
	"net/http"
	"net/url"
)

// Assignment is one user's variation in one campaign: VWO's userStorageData.
type Assignment struct {
	UserID        string `json:"userId"`
	CampaignKey   string `json:"campaignKey"`
	VariationName string `json:"variationName"`
	// GoalIdentifier holds the converted goals joined by "_vwo_"; "" when none. On a write
	// with an unchanged variation, uss adds these goals to the stored ones.
	GoalIdentifier string `json:"goalIdentifier"`
}

// Deleted counts what a delete removed. Deleting what is not there removes nothing and is
// not an error.
type Deleted struct {
	Assignments     int64 `json:"assignments"`
	Conversions     int64 `json:"conversions"`
	PersistedValues int64 `json:"persistedValues"`
	// Rows of the other SDKs' storage an erasure removed: VWO FME records, GrowthBook
	// entries (of every attribute whose value is the user) and Optimizely profile entries.
	VWOFMERecords         int64 `json:"vwoFmeRecords"`
	GrowthBookAssignments int64 `json:"growthbookAssignments"`
	OptimizelyDecisions   int64 `json:"optimizelyDecisions"`
}

type deletedBody struct {
	Deleted Deleted `json:"deleted"`
}

type recordsBody struct {
	Records []Assignment `json:"records"`
}

// GetAssignment returns the user's assignment in the campaign, or an error matching
// ErrNotFound when there is none.
func (c *Client) GetAssignment(ctx context.Context, userID, campaignKey string) (Assignment, error) {
	var a Assignment
	q := url.Values{"userId": {userID}, "campaignKey": {campaignKey}}
	err := c.do(ctx, "get assignment", http.MethodGet, "/v1/storage", q, nil, &a)
	return a, err
}

// SetAssignment stores one assignment (an upsert) and returns the record as stored, whose
// goals are the union of the stored and the given ones when the variation is unchanged.
func (c *Client) SetAssignment(ctx context.Context, a Assignment) (Assignment, error) {
	var stored Assignment
	err := c.do(ctx, "set assignment", http.MethodPost, "/v1/storage", nil, a, &stored)
	return stored, err
}

// SetAssignmentIfAbsent stores the assignment only if the user has none in the campaign, and
// returns the record stored. The first writer wins: when another variation is stored, nothing
// changes and that record comes back, so an SDK that raced another instance to store a new
// user's first variation can use the stored variation instead of its own. A record of the
// stored variation still adds its goals.
func (c *Client) SetAssignmentIfAbsent(ctx context.Context, a Assignment) (Assignment, error) {
	var stored Assignment
	body := struct {
		Assignment
		IfAbsent bool `json:"ifAbsent"`
	}{a, true}
	err := c.do(ctx, "set assignment if absent", http.MethodPost, "/v1/storage", nil, body, &stored)
	return stored, err
}

// GetAssignments returns the user's assignments in campaignKeys, in one database round trip;
// campaigns without one are absent. A nil campaignKeys asks for all of the user's campaigns.
func (c *Client) GetAssignments(ctx context.Context, userID string, campaignKeys []string) ([]Assignment, error) {
	body := struct {
		UserID       string    `json:"userId"`
		CampaignKeys *[]string `json:"campaignKeys,omitempty"`
	}{UserID: userID}
	if campaignKeys != nil {
		body.CampaignKeys = &campaignKeys
	}
	var out recordsBody
	err := c.do(ctx, "get assignments", http.MethodPost, "/v1/storage/batch-get", nil, body, &out)
	return out.Records, err
}

// SetAssignments stores up to 1000 assignments, all or none, and returns them as stored.
func (c *Client) SetAssignments(ctx context.Context, as []Assignment) ([]Assignment, error) {
	var out recordsBody
	err := c.do(ctx, "set assignments", http.MethodPost, "/v1/storage/batch-set", nil, recordsBody{Records: as}, &out)
	return out.Records, err
}

// SetAssignmentsIfAbsent is SetAssignments with SetAssignmentIfAbsent's rule for every record:
// stored variations are kept, and the records come back as stored.
func (c *Client) SetAssignmentsIfAbsent(ctx context.Context, as []Assignment) ([]Assignment, error) {
	var out recordsBody
	body := struct {
		Records  []Assignment `json:"records"`
		IfAbsent bool         `json:"ifAbsent"`
	}{as, true}
	err := c.do(ctx, "set assignments if absent", http.MethodPost, "/v1/storage/batch-set", nil, body, &out)
	return out.Records, err
}

// DeleteAssignment removes the user's assignment in the campaign.
func (c *Client) DeleteAssignment(ctx context.Context, userID, campaignKey string) (Deleted, error) {
	var out deletedBody
	q := url.Values{"userId": {userID}, "campaignKey": {campaignKey}}
	err := c.do(ctx, "delete assignment", http.MethodDelete, "/v1/storage", q, nil, &out)
	return out.Deleted, err
}

// EraseUser removes every assignment, goal conversion and persisted value of the user in
// the account, and the user's VWO FME records, GrowthBook sticky buckets and Optimizely
// profile: a privacy erasure.
func (c *Client) EraseUser(ctx context.Context, userID string) (Deleted, error) {
	var out deletedBody
	err := c.do(ctx, "erase user", http.MethodDelete, "/v1/storage", url.Values{"userId": {userID}}, nil, &out)
	return out.Deleted, err
}
