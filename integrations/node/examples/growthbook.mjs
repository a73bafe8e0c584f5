// Runs GrowthBook's JavaScript SDK with its sticky buckets in uss: a user's variation is
// stored on the first evaluation, and every later one, on any server, keeps it even when the
// experiment's weights change.
//
//   cd integrations/node && USS_API_KEY=$(cat ../../.uss-dev-key) node examples/growthbook.mjs [user-id]
//
// USS_URL defaults to http://127.0.0.1:8080, where make run serves.
import { GrowthBook } from "@growthbook/growthbook";
import { GrowthBookStickyBucketService, UssClient } from "uss-client";

// In production the SDK loads its features from GrowthBook (clientKey); the example runs
// offline on one flag, decided by a 50/50 experiment. Sticky buckets match stored
// variations by the meta keys, which GrowthBook always sends.
const features = {
  "checkout-button": {
    defaultValue: "blue",
    rules: [{
      key: "checkout-exp", hashAttribute: "id", coverage: 1, variations: ["blue", "green"], weights: [0.5, 0.5],
      meta: [{ key: "control" }, { key: "treatment" }],
    }],
  },
};

const userId = process.argv[2] ?? "user-1";
let client;
try {
  // The SDK waits for its sticky buckets before it evaluates: keep the bound short.
  client = new UssClient({ url: process.env.USS_URL ?? "http://127.0.0.1:8080", apiKey: process.env.USS_API_KEY, timeoutMs: 500 });
} catch (err) {
  console.error(`growthbook example: ${err.message} (USS_API_KEY: make run prints one)`);
  process.exit(1);
}
// One service per process, shared by the SDK instances of every request.
const stickyBucketService = new GrowthBookStickyBucketService(client, { onError: (err) => console.log("uss:", err.message) });

// An SDK instance per request: init reads all the user's documents in one request to uss.
const gb = new GrowthBook({ attributes: { id: userId }, stickyBucketService });
await gb.init({ payload: { features } });
const result = gb.evalFeature("checkout-button");
console.log(`button color: ${result.value} (from a sticky bucket: ${result.experimentResult?.stickyBucketUsed ?? false})`);
gb.destroy();

// The SDK does not wait for its saves: wait for them before reading uss or exiting.
await stickyBucketService.flush();
console.log("stored in uss:", JSON.stringify((await client.getStickyBuckets("id", userId)).assignments));
client.close();
