package vwofmeuss

import (
	"time"

	"github.com/uss/uss/integrations/internal/failopen"
)

// WithClock replaces the failed-read memory's clock, so tests see it end without waiting.
func WithClock(now func() time.Time) Option {
	return failopen.WithClock(now)
}
