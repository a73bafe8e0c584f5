//go:build !race

package campaign_test

const raceDetector = false
