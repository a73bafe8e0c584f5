// Package api holds the OpenAPI document of uss's HTTP API, embedded in the binary and served
// at GET /openapi.yaml. The API tests hold the server to it (internal/apitest).
package api

import _ "embed"

// OpenAPI is api/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
