package main

import (
	"os"
	"testing"

	"github.com/uss/uss/internal/apitest"
)

// TestMain counts the exchanges validated against api/openapi.yaml.
func TestMain(m *testing.M) { os.Exit(apitest.Run(m)) }
