// VwoFmeStorage with the real VWO FME Node SDK (vwo-fme-node-sdk), offline (settings given,
// events to a network client that keeps them), against real uss servers on a real
// PostgreSQL. Each test compares what the SDK answered with what uss's API then holds.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { StorageConnector, init } from "vwo-fme-node-sdk";
import { UssClient, UssUnavailableError, UssWriteSkippedError, VwoFmeStorage } from "uss-client";

import { ErrorLog } from "./harness/errors.mjs";
import { watchNetwork } from "./harness/offline.mjs";
import { Proxy, cutUntilAFailedRead } from "./harness/proxy.mjs";
import { Uss, sdkVersion } from "./harness/uss.mjs";

const feature = "checkout";

/**
 * settings is an FME settings file with one flag: everyone passes the rollout, then a test
 * gives a share of the users (greenWeight %) a green button. This SDK needs `segments` on the
 * rollout's variation (the Go SDK does not).
 */
function settings(greenWeight) {
  const variable = (value) => [{ id: 1, key: "color", type: "string", value }];
  return {
    version: 1, accountId: 1, sdkKey: "offline", sdkMetaInfo: { wasInitializedEarlier: true },
    features: [{
      id: 1, key: feature, name: "Checkout", type: "FEATURE_FLAG", status: "ON", impactCampaign: {},
      metrics: [{ id: 1, type: "CUSTOM_GOAL", identifier: "purchase", mca: -1 }],
      rules: [{ campaignId: 1, type: "FLAG_ROLLOUT", ruleKey: "rollout", variationId: 1 }, { campaignId: 2, type: "FLAG_TESTING", ruleKey: "test" }],
    }],
    campaigns: [
      {
        id: 1, key: "checkout_rollout", name: "checkout_rollout", type: "FLAG_ROLLOUT", status: "RUNNING", segments: {},
        isForcedVariationEnabled: false, percentTraffic: 100,
        variations: [{ id: 1, name: "Rollout", weight: 100, segments: {}, variables: variable("blue") }],
      },
      {
        id: 2, key: "checkout_test", name: "checkout_test", type: "FLAG_TESTING", status: "RUNNING", segments: {},
        isForcedVariationEnabled: false, percentTraffic: 100,
        variations: [
          { id: 1, name: "Default", weight: 100 - greenWeight, variables: variable("blue") },
          { id: 2, name: "Green", weight: greenWeight, variables: variable("green") },
        ],
      },
    ],
  };
}

// init starts polling for settings every 10 minutes, on a timer the SDK gives no way to stop
// and that would keep this test process alive: such long timers are unref'd.
const setTimeoutOfNode = globalThis.setTimeout;
globalThis.setTimeout = (fn, ms, ...args) => {
  const timer = setTimeoutOfNode(fn, ms, ...args);
  if (ms >= 60_000) {
    timer.unref();
  }
  return timer;
};

/** The events the SDK sends go to this network client, which keeps them: nothing leaves the process. */
const events = [];
const accepted = { getStatusCode: () => 200, getData: () => ({}), getError: () => undefined, getTotalAttempts: () => 0 };
const network = {
  client: {
    GET: async (request) => {
      events.push(request);
      return accepted;
    },
    POST: async (request) => {
      events.push(request);
      return accepted;
    },
  },
};

/**
 * start runs the real SDK offline on settings. The SDK keeps one storage connector for the
 * whole process: the last init given one sets it for every client.
 */
function start(settingsFile, storage) {
  const options = { sdkKey: "offline", accountId: 1, settings: settingsFile, isUsageStatsDisabled: true, network, retryConfig: { shouldRetry: false }, logger: { level: "ERROR" } };
  return init(storage ? { ...options, storage } : options);
}

async function color(sdk, userId) {
  const flag = await sdk.getFlag(feature, { id: userId });
  assert.ok(flag.isEnabled(), `the flag is on for ${userId}`);
  return flag.getVariable("color", "none");
}

/** record is what the SDK saves for a user after deciding the test's variation. */
const record = (userId, experimentVariationId) => ({
  featureKey: feature, userId, rolloutId: 1, rolloutKey: "checkout_rollout", rolloutVariationId: 1,
  experimentId: 2, experimentKey: "checkout_test", experimentVariationId,
});

function newStorage(url, apiKey) {
  const log = new ErrorLog();
  const client = new UssClient({ url, apiKey, timeoutMs: 5000 }); // as in harness/vwo.mjs: newStorage
  return { storage: new VwoFmeStorage(client, { onError: log.handle }), log, client };
}

const networkWatch = watchNetwork();
let uss;
let blueUsers;
let greenUsers;
before(async () => {
  uss = await Uss.start();
  // Found before any client has a storage: once one has, every client of the process uses it.
  const even = await start(settings(50));
  blueUsers = [];
  greenUsers = [];
  for (let i = 0; blueUsers.length < 6 || greenUsers.length < 3; i++) {
    const u = `fme-user-${i}`;
    ((await color(even, u)) === "blue" ? blueUsers : greenUsers).push(u);
  }
});
after(() => uss?.close());

async function stored(userId) {
  const r = await uss.api("GET", `/v1/vwo-fme/storage?${new URLSearchParams({ featureKey: feature, userId })}`);
  return r.status === 404 ? undefined : r.body;
}

describe(`vwo-fme-node-sdk ${await sdkVersion("vwo-fme-node-sdk")} with VwoFmeStorage`, () => {
  it("is the pinned SDK version, and the storage is one of its connectors", async () => {
    assert.equal(await sdkVersion("vwo-fme-node-sdk"), "1.35.0");
    assert.ok(new VwoFmeStorage(new UssClient({ url: uss.url, apiKey: uss.apiKey })) instanceof StorageConnector);
  });

  it("stores the first decision whole, and a second SDK instance keeps it after the split changes", async () => {
    const a = newStorage(uss.url, uss.apiKey);
    const sdkA = await start(settings(50), a.storage);
    const [blue, green] = [blueUsers.slice(0, 3), greenUsers.slice(0, 3)];
    for (const u of blue) {
      assert.equal(await color(sdkA, u), "blue");
    }
    for (const u of green) {
      assert.equal(await color(sdkA, u), "green");
    }
    await a.storage.flush();
    for (const u of blue) {
      assert.deepEqual(await stored(u), record(u, 1));
    }
    for (const u of green) {
      assert.deepEqual(await stored(u), record(u, 2));
    }

    // A second instance after the test moved everyone to green, on another uss replica.
    const replica = await uss.startServer();
    const b = newStorage(replica.url, uss.apiKey);
    const sdkB = await start(settings(100), b.storage);
    for (const u of blue) {
      assert.equal(await color(sdkB, u), "blue", `${u} keeps the stored variation`);
      assert.deepEqual(await stored(u), record(u, 1));
    }
    assert.equal(await color(sdkB, "fme-newcomer"), "green");
    await b.storage.flush();
    assert.deepEqual(await stored("fme-newcomer"), record("fme-newcomer", 2), "a new user gets today's split, stored");
    assert.deepEqual([a.log.errors, b.log.errors], [[], []]);
    assert.ok(events.length > 0, "the SDK sent its impressions to the offline network client");
  });

  it("completes a record that holds only the rollout with the test's decision, replacing it whole", async () => {
    const u = "fme-rollout-only";
    const rolloutOnly = { featureKey: feature, userId: u, rolloutId: 1, rolloutKey: "checkout_rollout", rolloutVariationId: 1 };
    assert.equal((await uss.api("POST", "/v1/vwo-fme/storage", rolloutOnly)).status, 200);
    const a = newStorage(uss.url, uss.apiKey);
    const sdk = await start(settings(100), a.storage);
    assert.equal(await color(sdk, u), "green");
    await a.storage.flush();
    assert.deepEqual(await stored(u), record(u, 2));
    assert.deepEqual(a.log.errors, []);
  });

  it("fails open when uss is stopped, and never overwrites the stored record", async () => {
    const blue = blueUsers.slice(3, 6);
    const a = newStorage(uss.url, uss.apiKey);
    const sdkA = await start(settings(50), a.storage);
    for (const u of blue) {
      assert.equal(await color(sdkA, u), "blue");
    }
    await a.storage.flush();
    const allStillBlue = async () => {
      for (const u of blue) {
        assert.deepEqual(await stored(u), record(u, 1), `${u} keeps the stored record`);
      }
    };

    let replica = await uss.startServer();
    const proxy = await Proxy.start(replica.addr);
    const b = newStorage(proxy.url, uss.apiKey);
    const sdkB = await start(settings(100), b.storage);
    await replica.stop();

    // uss stopped: the SDK still decides, as if nothing were stored, and writes nothing.
    assert.equal(await color(sdkB, blue[0]), "green");
    assert.equal(await color(sdkB, "fme-stopped-newcomer"), "green");
    await b.storage.flush();
    assert.equal(b.log.count(UssUnavailableError), 2, "one failed read per decision");
    assert.equal(b.log.count(UssWriteSkippedError), 2, "and its save dropped");

    replica = await uss.startServer(replica.addr);
    // uss answers again between the failed read and the SDK's save: the save, carrying a
    // variation decided without the stored one, is still dropped.
    cutUntilAFailedRead(proxy, b.log);
    assert.equal(await color(sdkB, blue[1]), "green");
    await b.storage.flush();
    assert.equal(b.log.count(UssUnavailableError), 3);
    assert.equal(b.log.count(UssWriteSkippedError), 3);
    await allStillBlue();
    assert.equal(await stored("fme-stopped-newcomer"), undefined);

    // Once uss answers, the stored variation is back.
    for (const u of blue) {
      assert.equal(await color(sdkB, u), "blue");
    }
    // A user the read found nothing for is stored: there was nothing to replace.
    assert.equal(await color(sdkB, "fme-stopped-newcomer"), "green");
    await b.storage.flush();
    assert.deepEqual(await stored("fme-stopped-newcomer"), record("fme-stopped-newcomer", 2));
    await allStillBlue();
    assert.equal(b.log.count(UssUnavailableError), 3);
    assert.equal(b.log.count(UssWriteSkippedError), 3);
    assert.equal(b.log.length, 6, "no other error");
    await proxy.close();
  });

  it("stayed offline: every connection went to the loopback", () => {
    assert.deepEqual(networkWatch.outside, []);
  });
});
