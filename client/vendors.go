package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// GetVWOFMERecord returns the record a VWO FME SDK saved for the user and feature, the JSON
// object as it was saved, or an error matching ErrNotFound when there is none.
func (c *Client) GetVWOFMERecord(ctx context.Context, featureKey, userID string) (json.RawMessage, error) {
	var out json.RawMessage
	q := url.Values{"featureKey": {featureKey}, "userId": {userID}}
	err := c.do(ctx, "get vwo fme record", http.MethodGet, "/v1/vwo-fme/storage", q, nil, &out)
	return out, err
}

// SaveVWOFMERecord replaces the user's record of a feature with record, which must encode to
// a JSON object whose "featureKey" and "userId" are strings (a json.RawMessage is sent as it
// is). It returns the object as stored.
func (c *Client) SaveVWOFMERecord(ctx context.Context, record any) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.do(ctx, "save vwo fme record", http.MethodPost, "/v1/vwo-fme/storage", nil, record, &out)
	return out, err
}

// StickyBucketDocument is GrowthBook's sticky-bucket assignment document: for one attribute
// of a user, the variation key of each "<experimentKey>__<bucketVersion>".
type StickyBucketDocument struct {
	AttributeName  string            `json:"attributeName"`
	AttributeValue string            `json:"attributeValue"`
	Assignments    map[string]string `json:"assignments"`
}

// GetStickyBuckets returns the document of one attribute, or an error matching ErrNotFound
// when it has no assignment.
func (c *Client) GetStickyBuckets(ctx context.Context, attributeName, attributeValue string) (StickyBucketDocument, error) {
	var out StickyBucketDocument
	q := url.Values{"attributeName": {attributeName}, "attributeValue": {attributeValue}}
	err := c.do(ctx, "get sticky buckets", http.MethodGet, "/v1/growthbook/sticky-buckets", q, nil, &out)
	return out, err
}

// GetAllStickyBuckets returns the documents of several attributes (name to value) in one
// call, by "<attributeName>||<attributeValue>"; attributes without assignments are absent.
func (c *Client) GetAllStickyBuckets(ctx context.Context, attributes map[string]string) (map[string]StickyBucketDocument, error) {
	var out struct {
		Documents map[string]StickyBucketDocument `json:"documents"`
	}
	body := map[string]any{"attributes": attributes}
	err := c.do(ctx, "get all sticky buckets", http.MethodPost, "/v1/growthbook/sticky-buckets/batch-get", nil, body, &out)
	return out.Documents, err
}

// SaveStickyBuckets stores every assignment of doc, keeping the document's other
// assignments, and returns the document as it then stands.
func (c *Client) SaveStickyBuckets(ctx context.Context, doc StickyBucketDocument) (StickyBucketDocument, error) {
	if doc.Assignments == nil {
		doc.Assignments = map[string]string{}
	}
	var out StickyBucketDocument
	err := c.do(ctx, "save sticky buckets", http.MethodPut, "/v1/growthbook/sticky-buckets", nil, doc, &out)
	return out, err
}

// UserProfile is an Optimizely user profile: the variation id each experiment (by id)
// bucketed the user into.
type UserProfile struct {
	UserID string
	// Variations: variation id by experiment id.
	Variations map[string]string
}

// agentProfile is a user profile on the wire (Optimizely Agent's shape).
type agentProfile struct {
	UserID              string                       `json:"user_id"`
	ExperimentBucketMap map[string]map[string]string `json:"experiment_bucket_map"`
}

func (p agentProfile) profile() UserProfile {
	out := UserProfile{UserID: p.UserID, Variations: make(map[string]string, len(p.ExperimentBucketMap))}
	for experiment, d := range p.ExperimentBucketMap {
		out.Variations[experiment] = d["variation_id"]
	}
	return out
}

// LookupUserProfile returns the user's profile; a user never saved has no variation (this
// is not an error).
func (c *Client) LookupUserProfile(ctx context.Context, userID string) (UserProfile, error) {
	var out agentProfile
	body := map[string]string{"user_id": userID}
	err := c.do(ctx, "lookup user profile", http.MethodPost, "/v1/optimizely/profiles/lookup", nil, body, &out)
	return out.profile(), err
}

// SaveUserProfile stores every variation of p, keeping the user's other experiments, and
// returns the profile as it then stands.
func (c *Client) SaveUserProfile(ctx context.Context, p UserProfile) (UserProfile, error) {
	body := agentProfile{UserID: p.UserID, ExperimentBucketMap: make(map[string]map[string]string, len(p.Variations))}
	for experiment, variation := range p.Variations {
		body.ExperimentBucketMap[experiment] = map[string]string{"variation_id": variation}
	}
	var out agentProfile
	err := c.do(ctx, "save user profile", http.MethodPost, "/v1/optimizely/profiles/save", nil, body, &out)
	return out.profile(), err
}
