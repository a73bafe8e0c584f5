package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// LoadPersistedValues returns every config's persisted value under a Statsig storage key
// ("<unitID>:<idType>"), by config name, or an error matching ErrNotFound when there is
// none.
func (c *Client) LoadPersistedValues(ctx context.Context, key string) (map[string]json.RawMessage, error) {
	var out struct {
		Values map[string]json.RawMessage `json:"values"`
	}
	err := c.do(ctx, "load persisted values", http.MethodGet, "/v1/persisted-values", url.Values{"key": {key}}, nil, &out)
	return out.Values, err
}

// SavePersistedValue stores (or replaces) one config's value under key. value must encode
// to a JSON object; a json.RawMessage is sent as it is.
func (c *Client) SavePersistedValue(ctx context.Context, key, configName string, value any) error {
	q := url.Values{"key": {key}, "configName": {configName}}
	return c.do(ctx, "save persisted value", http.MethodPut, "/v1/persisted-values", q, value, nil)
}

// DeletePersistedValue removes one config's value under key.
func (c *Client) DeletePersistedValue(ctx context.Context, key, configName string) (Deleted, error) {
	var out deletedBody
	q := url.Values{"key": {key}, "configName": {configName}}
	err := c.do(ctx, "delete persisted value", http.MethodDelete, "/v1/persisted-values", q, nil, &out)
	return out.Deleted, err
}
