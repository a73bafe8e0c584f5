// Runs the Statsig Node SDK with its persisted values in uss: a user's experiment group is
// saved on first evaluation, and every later evaluation, on any server, keeps it even when
// the allocation changes.
//
//   cd integrations/node && USS_API_KEY=$(cat ../../.uss-dev-key) node examples/statsig.mjs [user-id]
//
// USS_URL defaults to http://127.0.0.1:8080, where make run serves.
import statsig from "statsig-node";
import { UssClient, statsigPersistentStorage } from "uss-client";

// In production the SDK downloads its specs with your server secret; the example runs
// offline (localMode) on one experiment that splits users 50/50 by bucket.
const group = (id, groupName, color, below) => ({
  name: id, id, groupName, salt: id, passPercentage: 100, idType: "userID", isExperimentGroup: true, returnValue: { color },
  conditions: [{ type: "user_bucket", operator: "lt", targetValue: below, additionalValues: { salt: "checkout_test" }, idType: "userID" }],
});
const specs = {
  has_updates: true, time: 1700000000000, feature_gates: [], layer_configs: [], layers: {},
  dynamic_configs: [{
    name: "checkout_test", type: "dynamic_config", entity: "experiment", salt: "checkout_test", enabled: true, isActive: true,
    idType: "userID", explicitParameters: ["color"], defaultValue: { color: "default" },
    rules: [group("rule_control", "Control", "blue", 500), group("rule_test", "Test", "green", 1000)],
  }],
};

const userId = process.argv[2] ?? "user-1";
let client;
try {
  // The SDK waits for its storage inline with each evaluation: keep the bound short.
  client = new UssClient({ url: process.env.USS_URL ?? "http://127.0.0.1:8080", apiKey: process.env.USS_API_KEY, timeoutMs: 500 });
} catch (err) {
  console.error(`statsig example: ${err.message} (USS_API_KEY: make run prints one)`);
  process.exit(1);
}
const storage = statsigPersistentStorage(client, { onError: (err) => console.log("uss:", err.message) });

// localMode and bootstrapValues keep the example offline: in production drop both.
const sdk = new statsig.StatsigServer("secret-example", {
  localMode: true, bootstrapValues: JSON.stringify(specs), disableDiagnostics: true, userPersistentStorage: storage,
});
await sdk.initializeAsync();

// The SDK never loads persisted values by itself: load them (a promise with this storage)
// and pass them in, for every evaluation of a sticky experiment.
const user = { userID: userId };
const persisted = await sdk.getUserPersistedValues(user, "userID");
const experiment = sdk.getExperimentSync(user, "checkout_test", { userPersistedValues: persisted });
console.log(`group: ${experiment.getGroupName()} (color ${experiment.get("color", "none")}, reason ${experiment.getEvaluationDetails().reason})`);

// The SDK does not wait for its writes: wait for them before reading uss or exiting.
await storage.flush();
const saved = (await client.loadPersistedValues(`${userId}:userID`)).checkout_test;
console.log(`stored in uss: group=${saved.group_name} rule=${saved.rule_id}`);
await sdk.shutdownAsync();
client.close();
