// Runs VWO's FME Node SDK with its storage in uss: a user's variation is stored on the first
// decision, and every later decision, on any server, reads it back.
//
//   cd integrations/node && USS_API_KEY=$(cat ../../.uss-dev-key) node examples/vwofme.mjs [user-id]
//
// USS_URL defaults to http://127.0.0.1:8080, where make run serves. The SDK sends its events
// to VWO, or to a VWO gateway service at VWO_GATEWAY_URL when it is set.
import { init } from "vwo-fme-node-sdk";
import { UssClient, VwoFmeStorage } from "uss-client";

// In production the SDK downloads its settings with your account id and SDK key; the
// example runs on one flag: everyone passes the rollout, then a test gives half the users a
// green button. (This SDK needs `segments` on the rollout's variation.)
const color = (value) => [{ id: 1, key: "color", type: "string", value }];
const settings = {
  version: 1, accountId: 1, sdkKey: "example", sdkMetaInfo: { wasInitializedEarlier: true },
  features: [{
    id: 1, key: "checkout", name: "Checkout", type: "FEATURE_FLAG", status: "ON", impactCampaign: {},
    metrics: [{ id: 1, type: "CUSTOM_GOAL", identifier: "purchase", mca: -1 }],
    rules: [{ campaignId: 1, type: "FLAG_ROLLOUT", ruleKey: "rollout", variationId: 1 }, { campaignId: 2, type: "FLAG_TESTING", ruleKey: "test" }],
  }],
  campaigns: [
    {
      id: 1, key: "checkout_rollout", name: "checkout_rollout", type: "FLAG_ROLLOUT", status: "RUNNING", segments: {},
      isForcedVariationEnabled: false, percentTraffic: 100,
      variations: [{ id: 1, name: "Rollout", weight: 100, segments: {}, variables: color("blue") }],
    },
    {
      id: 2, key: "checkout_test", name: "checkout_test", type: "FLAG_TESTING", status: "RUNNING", segments: {},
      isForcedVariationEnabled: false, percentTraffic: 100,
      variations: [{ id: 1, name: "Default", weight: 50, variables: color("blue") }, { id: 2, name: "Green", weight: 50, variables: color("green") }],
    },
  ],
};

const userId = process.argv[2] ?? "user-1";
let client;
try {
  // The SDK waits for its storage inline with each decision: keep the bound short.
  client = new UssClient({ url: process.env.USS_URL ?? "http://127.0.0.1:8080", apiKey: process.env.USS_API_KEY, timeoutMs: 500 });
} catch (err) {
  console.error(`vwofme example: ${err.message} (USS_API_KEY: make run prints one)`);
  process.exit(1);
}
// The SDK keeps one storage for the whole process: make one per process.
const storage = new VwoFmeStorage(client, { onError: (err) => console.log("uss:", err.message) });
const options = { sdkKey: "example", accountId: 1, settings, storage, isUsageStatsDisabled: true };
if (process.env.VWO_GATEWAY_URL) {
  options.gatewayService = { url: process.env.VWO_GATEWAY_URL };
}
const fme = await init(options);

const flag = await fme.getFlag("checkout", { id: userId });
console.log("button color:", flag.getVariable("color", "none"));

// The SDK does not wait for its writes: wait for them before reading uss or exiting.
await storage.flush();
console.log("stored in uss:", JSON.stringify(await client.getVwoFmeRecord("checkout", userId)));
client.close();
// The SDK polls for settings every 10 minutes, with no way to stop it: a server runs on, an
// example exits.
process.exit(0);
