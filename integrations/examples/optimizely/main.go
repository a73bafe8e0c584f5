// Command optimizely runs the Optimizely Go SDK with its user profiles in uss: a user's
// variation is stored on the first decision, and every later one, on any server, keeps it
// even when the experiment's traffic allocation changes.
//
//	cd integrations && USS_API_KEY=$(cat ../.uss-dev-key) go run ./examples/optimizely [user-id]
//
// USS_URL defaults to http://127.0.0.1:8080, where make run serves.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	optly "github.com/optimizely/go-sdk/v2/pkg/client"
	"github.com/optimizely/go-sdk/v2/pkg/config"
	"github.com/optimizely/go-sdk/v2/pkg/event"
	"github.com/optimizely/go-sdk/v2/pkg/logging"

	"github.com/uss/uss/client"
	"github.com/uss/uss/integrations/optimizelyuss"
)

// In production the SDK downloads its datafile with your SDK key; the example runs offline
// on one flag, decided by a 50/50 experiment (id 1001, variations 3001 and 3002).
const datafile = `{"version": "4", "projectId": "1", "accountId": "1", "revision": "1",
 "attributes": [], "audiences": [], "events": [], "groups": [], "rollouts": [],
 "featureFlags": [{"id": "5001", "key": "checkout_flag", "experimentIds": ["1001"], "rolloutId": "", "variables": []}],
 "experiments": [{"id": "1001", "key": "checkout_test", "status": "Running", "layerId": "2001",
   "audienceIds": [], "forcedVariations": {},
   "variations": [{"id": "3001", "key": "control", "featureEnabled": true},
                  {"id": "3002", "key": "treatment", "featureEnabled": true}],
   "trafficAllocation": [{"entityId": "3001", "endOfRange": 5000}, {"entityId": "3002", "endOfRange": 10000}]}]}`

func main() {
	logging.SetLogLevel(logging.LogLevelError) // the SDK logs every decision at info level
	userID := "user-1"
	if len(os.Args) > 1 {
		userID = os.Args[1]
	}
	if err := run(context.Background(), os.Getenv("USS_URL"), os.Getenv("USS_API_KEY"), userID, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "optimizely example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, ussURL, apiKey, userID string, out io.Writer) error {
	if ussURL == "" {
		ussURL = "http://127.0.0.1:8080"
	}
	// The SDK waits for its user profile service inline with each decision: keep the bound short.
	c, err := client.New(ussURL, apiKey, client.WithTimeout(500*time.Millisecond))
	if err != nil {
		return fmt.Errorf("%w (USS_API_KEY: make run prints one)", err)
	}

	profiles := optimizelyuss.New(c, optimizelyuss.WithErrorHandler(func(err error) { fmt.Fprintln(out, "uss:", err) }))
	configManager, err := config.NewStaticProjectConfigManagerFromPayload([]byte(datafile), logging.GetLogger("", "example"))
	if err != nil {
		return err
	}
	// Events are dropped here, so the example sends nothing to Optimizely: leave out
	// WithEventDispatcher and WithOdpDisabled in production.
	optimizely, err := (&optly.OptimizelyFactory{}).Client(optly.WithConfigManager(configManager),
		optly.WithUserProfileService(profiles), optly.WithEventDispatcher(dropEvents{}), optly.WithOdpDisabled(true))
	if err != nil {
		return err
	}
	defer optimizely.Close()

	user := optimizely.CreateUserContext(userID, nil)
	decision := user.Decide("checkout_flag", nil)
	fmt.Fprintln(out, "variation:", decision.VariationKey)

	profile, err := c.LookupUserProfile(ctx, userID)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "stored in uss:", profile.Variations)
	return nil
}

type dropEvents struct{}

func (dropEvents) DispatchEvent(event.LogEvent) (bool, error) { return true, nil }
