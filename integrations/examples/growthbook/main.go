// Command growthbook runs the GrowthBook Go SDK with its sticky buckets in uss: a user's
// variation is stored on the first evaluation, and every later one, on any server, keeps it
// even when the experiment's weights change.
//
//	cd integrations && USS_API_KEY=$(cat ../.uss-dev-key) go run ./examples/growthbook [user-id]
//
// USS_URL defaults to http://127.0.0.1:8080, where make run serves.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	growthbook "github.com/growthbook/growthbook-golang"

	"github.com/uss/uss/client"
	"github.com/uss/uss/integrations/growthbookuss"
)

// In production the SDK loads its features from GrowthBook (WithClientKey and a data
// source); the example runs offline on one flag, decided by a 50/50 experiment. Sticky
// buckets match stored variations by the meta keys, which GrowthBook always sends.
const features = `{"checkout-button": {"defaultValue": "blue", "rules": [{
  "key": "checkout-exp", "hashAttribute": "id", "coverage": 1,
  "variations": ["blue", "green"], "weights": [0.5, 0.5], "meta": [{"key": "control"}, {"key": "treatment"}]}]}}`

func main() {
	userID := "user-1"
	if len(os.Args) > 1 {
		userID = os.Args[1]
	}
	if err := run(context.Background(), os.Getenv("USS_URL"), os.Getenv("USS_API_KEY"), userID, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "growthbook example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, ussURL, apiKey, userID string, out io.Writer) error {
	if ussURL == "" {
		ussURL = "http://127.0.0.1:8080"
	}
	// The SDK waits for its sticky buckets inline with each evaluation: keep the bound short.
	c, err := client.New(ussURL, apiKey, client.WithTimeout(500*time.Millisecond))
	if err != nil {
		return fmt.Errorf("%w (USS_API_KEY: make run prints one)", err)
	}

	storage := growthbookuss.New(c, growthbookuss.WithErrorHandler(func(err error) { fmt.Fprintln(out, "uss:", err) }))
	gb, err := growthbook.NewClient(ctx, growthbook.WithJsonFeatures(features), growthbook.WithStickyBucketService(storage))
	if err != nil {
		return err
	}
	defer gb.Close()
	user, err := gb.WithAttributes(growthbook.Attributes{"id": userID})
	if err != nil {
		return err
	}

	result := user.EvalFeature(ctx, "checkout-button")
	fmt.Fprintf(out, "button color: %v (from a sticky bucket: %v)\n", result.Value,
		result.ExperimentResult != nil && result.ExperimentResult.StickyBucketUsed)

	doc, err := c.GetStickyBuckets(ctx, "id", userID)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "stored in uss:", doc.Assignments)
	return nil
}
