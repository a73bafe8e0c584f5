//go:build race

package campaign_test

// raceDetector: under the race detector sync.Pool drops what it holds at random, so the
// regexp package allocates afresh and allocation figures mean nothing.
const raceDetector = true
