// Command vwofme runs VWO's FME Go SDK with its storage in uss: a user's variation is stored
// on the first decision, and every later decision, on any server, reads it back.
//
//	cd integrations && USS_API_KEY=$(cat ../.uss-dev-key) go run ./examples/vwofme [user-id]
//
// USS_URL defaults to http://127.0.0.1:8080, where make run serves. The SDK sends its
// events to VWO, or to VWO_PROXY_URL when it is set.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	wingify "github.com/wingify/wingify-fme-go-sdk"

	"github.com/uss/uss/client"
	"github.com/uss/uss/integrations/vwofmeuss"
)

// In production the SDK downloads its settings with your account id and SDK key; the
// example runs on one flag: everyone passes the rollout, then a test gives half the users
// a green button.
const settingsFile = `{"version": 1, "accountId": 1, "sdkKey": "example",
 "sdkMetaInfo": {"wasInitializedEarlier": true},
 "features": [{"id": 1, "key": "checkout", "name": "Checkout", "type": "FEATURE_FLAG", "status": "ON",
   "impactCampaign": {}, "metrics": [{"id": 1, "type": "CUSTOM_GOAL", "identifier": "purchase", "mca": -1}],
   "rules": [{"campaignId": 1, "type": "FLAG_ROLLOUT", "ruleKey": "rollout", "variationId": 1},
             {"campaignId": 2, "type": "FLAG_TESTING", "ruleKey": "test"}]}],
 "campaigns": [
   {"id": 1, "key": "checkout_rollout", "name": "checkout_rollout", "type": "FLAG_ROLLOUT", "status": "RUNNING",
    "segments": {}, "isForcedVariationEnabled": false,
    "variations": [{"id": 1, "name": "Rollout", "weight": 100,
                    "variables": [{"id": 1, "key": "color", "type": "string", "value": "blue"}]}]},
   {"id": 2, "key": "checkout_test", "name": "checkout_test", "type": "FLAG_TESTING", "status": "RUNNING",
    "segments": {}, "isForcedVariationEnabled": false, "percentTraffic": 100,
    "variations": [{"id": 1, "name": "Default", "weight": 50,
                    "variables": [{"id": 1, "key": "color", "type": "string", "value": "blue"}]},
                   {"id": 2, "name": "Green", "weight": 50,
                    "variables": [{"id": 1, "key": "color", "type": "string", "value": "green"}]}]}]}`

func main() {
	userID := "user-1"
	if len(os.Args) > 1 {
		userID = os.Args[1]
	}
	err := run(context.Background(), os.Getenv("USS_URL"), os.Getenv("USS_API_KEY"), os.Getenv("VWO_PROXY_URL"), userID, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vwofme example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, ussURL, apiKey, proxyURL, userID string, out io.Writer) error {
	if ussURL == "" {
		ussURL = "http://127.0.0.1:8080"
	}
	// The SDK waits for its storage inline with each decision: keep the bound short.
	c, err := client.New(ussURL, apiKey, client.WithTimeout(500*time.Millisecond))
	if err != nil {
		return fmt.Errorf("%w (USS_API_KEY: make run prints one)", err)
	}

	// The SDK keeps one storage for the whole process: make one client per process.
	options := map[string]interface{}{
		"sdkKey": "example", "accountId": 1, "settings": settingsFile, "isUsageStatsDisabled": true,
		"storage": vwofmeuss.New(c, vwofmeuss.WithErrorHandler(func(err error) { fmt.Fprintln(out, "uss:", err) })),
	}
	if proxyURL != "" {
		options["proxyUrl"] = proxyURL
	}
	fme, err := wingify.Init(options)
	if err != nil {
		return err
	}

	flag, err := fme.GetFlag("checkout", map[string]interface{}{"id": userID})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "button color:", flag.GetVariable("color", "none"))

	record, err := c.GetVWOFMERecord(ctx, "checkout", userID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "stored in uss: %s\n", record)
	return nil
}
