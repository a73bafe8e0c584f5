// Runs the legacy VWO Node SDK with its user storage in uss: a user's variation is stored on
// first activation, and every later decision, on any server, reads it back.
//
//   cd integrations/node && USS_API_KEY=$(cat ../../.uss-dev-key) node examples/vwo.mjs [user-id]
//
// USS_URL defaults to http://127.0.0.1:8080, where make run serves.
import vwoSdk from "vwo-node-sdk";
import { UssClient, vwoUserStorage } from "uss-client";

// In production the settings come from vwoSdk.getSettingsFile(accountId, sdkKey); the
// example runs offline with one campaign.
const settingsFile = {
  sdkKey: "example", accountId: 1, version: 1,
  campaigns: [{
    id: 1, key: "checkout-test", status: "RUNNING", type: "VISUAL_AB", percentTraffic: 100, segments: {},
    goals: [{ id: 1, identifier: "purchase", type: "CUSTOM_GOAL" }],
    variations: [{ id: 1, name: "Control", changes: {}, weight: 50 }, { id: 2, name: "Variation-1", changes: {}, weight: 50 }],
  }],
};

const userId = process.argv[2] ?? "user-1";
let client;
try {
  // The SDK waits for its storage inline with each decision: keep the bound short. One
  // client per process: it keeps its connections alive.
  client = new UssClient({ url: process.env.USS_URL ?? "http://127.0.0.1:8080", apiKey: process.env.USS_API_KEY, timeoutMs: 500 });
} catch (err) {
  console.error(`vwo example: ${err.message} (USS_API_KEY: make run prints one)`);
  process.exit(1);
}
const storage = vwoUserStorage(client, { onError: (err) => console.log("uss:", err.message) });

// asyncStorageConfig turns on the SDK's asynchronous storage mode, the one a network store
// needs: every API then returns a promise. Development mode sends no events to VWO; drop it
// in production.
const vwo = vwoSdk.launch({ settingsFile, userStorageService: storage, asyncStorageConfig: {}, isDevelopmentMode: true, logger: { log() {} } });

const variation = await vwo.activate("checkout-test", userId);
console.log("variation:", variation);
const tracked = await vwo.track("checkout-test", userId, "purchase");
console.log("purchase tracked:", tracked["checkout-test"]);

// The SDK does not wait for its writes: wait for them before reading uss or exiting.
await storage.flush();
const stored = await client.getAssignment(userId, "checkout-test");
console.log(`stored in uss: variation=${stored.variationName} goals=${stored.goalIdentifier}`);
client.close();
