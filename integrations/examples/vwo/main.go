// Command vwo runs the VWO Go SDK with its user storage in uss: a user's variation is stored
// on first activation, and every later decision, on any server, reads it back.
//
//	cd integrations && USS_API_KEY=$(cat ../.uss-dev-key) go run ./examples/vwo [user-id]
//
// USS_URL defaults to http://127.0.0.1:8080, where make run serves.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	vwo "github.com/wingify/vwo-go-sdk"
	"github.com/wingify/vwo-go-sdk/pkg/api"
	"github.com/wingify/vwo-go-sdk/pkg/schema"
	"github.com/wingify/vwo-go-sdk/pkg/service"

	"github.com/uss/uss/client"
	"github.com/uss/uss/integrations/vwouss"
)

// In production the settings come from vwo.GetSettingsFile(accountID, sdkKey); the example
// runs offline with one campaign.
const settingsFile = `{"sdkKey": "example", "accountId": 1, "version": 1, "campaigns": [{
  "id": 1, "key": "checkout-test", "status": "RUNNING", "type": "VISUAL_AB", "percentTraffic": 100,
  "goals": [{"id": 1, "identifier": "purchase", "type": "CUSTOM_GOAL"}],
  "variations": [{"id": 1, "name": "Control", "changes": {}, "weight": 50},
                 {"id": 2, "name": "Variation-1", "changes": {}, "weight": 50}]}]}`

func main() {
	userID := "user-1"
	if len(os.Args) > 1 {
		userID = os.Args[1]
	}
	if err := run(context.Background(), os.Getenv("USS_URL"), os.Getenv("USS_API_KEY"), userID, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "vwo example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, ussURL, apiKey, userID string, out io.Writer) error {
	if ussURL == "" {
		ussURL = "http://127.0.0.1:8080"
	}
	// The SDK waits for its storage inline with each decision: keep the bound short.
	c, err := client.New(ussURL, apiKey, client.WithTimeout(500*time.Millisecond))
	if err != nil {
		return fmt.Errorf("%w (USS_API_KEY: make run prints one)", err)
	}

	var settings schema.SettingsFile
	if err := json.Unmarshal([]byte(settingsFile), &settings); err != nil {
		return err
	}
	// Launch does not compute the variations' bucket ranges; Process does (GetSettingsFile
	// calls it for downloaded settings).
	m := service.SettingsFileManager{SettingsFile: settings}
	m.Process()

	storage := vwouss.New(c, vwouss.WithErrorHandler(func(err error) { fmt.Fprintln(out, "uss:", err) }))
	// With a working storage, Launch always also returns "Invalid storage object/Logger
	// given": the SDK checks for a 3-argument Set but calls the 4-argument one. Only a nil
	// instance is a failure. Development mode sends no events to VWO; drop it in production.
	sdk, _ := vwo.Launch(m.GetSettingsFile(), api.WithDevelopmentMode(), api.WithStorage(storage), api.WithLogger(quiet{}))
	if sdk == nil {
		return errors.New("the VWO SDK did not launch")
	}

	fmt.Fprintln(out, "variation:", sdk.Activate("checkout-test", userID, nil))
	for _, r := range sdk.Track("checkout-test", userID, "purchase", nil) {
		fmt.Fprintln(out, "purchase tracked:", r.TrackValue)
	}

	a, err := c.GetAssignment(ctx, userID, "checkout-test")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "stored in uss: variation=%s goals=%s\n", a.VariationName, a.GoalIdentifier)
	return nil
}

// quiet silences the SDK, which logs every step of every decision.
type quiet struct{}

func (quiet) CustomLog(level, message string) {}
