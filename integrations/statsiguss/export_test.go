package statsiguss

import "time"

// WithClock replaces the failed-read memory's clock, so tests see it end without waiting.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}
