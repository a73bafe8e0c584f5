// Command statsig runs the Statsig Go SDK with its persisted values in uss: a user's
// experiment group is saved on first evaluation, and every later evaluation, on any server,
// keeps it even when the allocation changes.
//
//	cd integrations && USS_API_KEY=$(cat ../.uss-dev-key) go run ./examples/statsig [user-id]
//
// USS_URL defaults to http://127.0.0.1:8080, where make run serves.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	statsig "github.com/statsig-io/go-sdk"

	"github.com/uss/uss/client"
	"github.com/uss/uss/integrations/statsiguss"
)

// In production the SDK downloads its specs with your server secret; the example runs
// offline (LocalMode) on one experiment that splits users 50/50 by bucket.
const specs = `{"has_updates": true, "time": 1700000000000, "feature_gates": [], "layer_configs": [], "layers": {},
 "dynamic_configs": [{"name": "checkout_test", "type": "dynamic_config", "entity": "experiment",
  "salt": "checkout_test", "enabled": true, "isActive": true, "idType": "userID",
  "explicitParameters": ["color"], "defaultValue": {"color": "default"}, "rules": [
   {"name": "control", "id": "rule_control", "groupName": "Control", "salt": "rule_control",
    "passPercentage": 100, "idType": "userID", "isExperimentGroup": true, "returnValue": {"color": "blue"},
    "conditions": [{"type": "user_bucket", "operator": "lt", "targetValue": 500,
                    "additionalValues": {"salt": "checkout_test"}, "idType": "userID"}]},
   {"name": "test", "id": "rule_test", "groupName": "Test", "salt": "rule_test",
    "passPercentage": 100, "idType": "userID", "isExperimentGroup": true, "returnValue": {"color": "green"},
    "conditions": [{"type": "user_bucket", "operator": "lt", "targetValue": 1000,
                    "additionalValues": {"salt": "checkout_test"}, "idType": "userID"}]}]}]}`

func main() {
	userID := "user-1"
	if len(os.Args) > 1 {
		userID = os.Args[1]
	}
	if err := run(context.Background(), os.Getenv("USS_URL"), os.Getenv("USS_API_KEY"), userID, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "statsig example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, ussURL, apiKey, userID string, out io.Writer) error {
	if ussURL == "" {
		ussURL = "http://127.0.0.1:8080"
	}
	// The SDK waits for its storage inline with each evaluation: keep the bound short.
	c, err := client.New(ussURL, apiKey, client.WithTimeout(500*time.Millisecond))
	if err != nil {
		return fmt.Errorf("%w (USS_API_KEY: make run prints one)", err)
	}
	storage := statsiguss.New(c, statsiguss.WithErrorHandler(func(err error) { fmt.Fprintln(out, "uss:", err) }))

	sdk, details := statsig.NewClientWithDetails("secret-example", &statsig.Options{
		LocalMode:             true,
		BootstrapValues:       specs,
		UserPersistentStorage: storage,
	})
	defer sdk.Shutdown()
	if !details.Success {
		return fmt.Errorf("the Statsig SDK did not start: %w", details.Error)
	}

	// The SDK never loads persisted values by itself: load them and pass them in. Evaluating
	// the experiment without them (GetExperiment) deletes the saved value.
	user := statsig.User{UserID: userID}
	persisted := sdk.GetUserPersistedValues(user, "userID")
	exp := sdk.GetExperimentWithOptions(user, "checkout_test", &statsig.GetExperimentOptions{PersistedValues: persisted})
	reason := statsig.EvaluationReason("unknown")
	if exp.EvaluationDetails != nil {
		reason = exp.EvaluationDetails.Reason
	}
	fmt.Fprintf(out, "group: %s (reason: %s), color: %v\n", exp.GroupName, reason, exp.Value["color"])

	values, err := c.LoadPersistedValues(ctx, userID+":userID")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "saved in uss: %s\n", values["checkout_test"])
	return nil
}
