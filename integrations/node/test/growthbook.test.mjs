// GrowthBookStickyBucketService with the real GrowthBook JavaScript SDK
// (@growthbook/growthbook), offline (features given as the payload), against real uss
// servers on a real PostgreSQL. Each test compares what the SDK answered with what uss's API
// then holds.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { GrowthBook, GrowthBookClient, LocalStorageStickyBucketService, StickyBucketService } from "@growthbook/growthbook";
import { GrowthBookStickyBucketService, UssClient, UssUnavailableError, UssWriteSkippedError } from "uss-client";

import { ErrorLog } from "./harness/errors.mjs";
import { watchNetwork } from "./harness/offline.mjs";
import { Proxy, cutUntilAFailedRead } from "./harness/proxy.mjs";
import { Uss, sdkVersion } from "./harness/uss.mjs";

/**
 * features has two flags, each decided by a 50/50 experiment unless greenShare says
 * otherwise. Sticky buckets match stored variations by the meta keys, which GrowthBook's API
 * always sends. The pricing experiment falls back to deviceId when the user has no id.
 */
function features(greenShare = 0.5) {
  const rule = (key, variations, weights, extra = {}) => ({
    key, hashAttribute: "id", coverage: 1, variations, weights, meta: [{ key: "control" }, { key: "treatment" }], ...extra,
  });
  return {
    "checkout-button": { defaultValue: "blue", rules: [rule("checkout-exp", ["blue", "green"], [1 - greenShare, greenShare])] },
    "pricing": { defaultValue: 10, rules: [rule("pricing-exp", [10, 12], [0.5, 0.5], { fallbackAttribute: "deviceId" })] },
  };
}

/** evaluate makes the SDK instance of one request, as a server does, and evaluates a flag for the user. */
async function evaluate(service, featureSet, attributes, flag = "checkout-button") {
  const gb = new GrowthBook({ attributes, stickyBucketService: service });
  try {
    await gb.init({ payload: { features: featureSet } });
    const r = gb.evalFeature(flag);
    return { value: r.value, sticky: r.experimentResult?.stickyBucketUsed ?? false };
  } finally {
    gb.destroy();
  }
}

/** CountingClient is a UssClient that counts its sticky-bucket reads. */
class CountingClient extends UssClient {
  reads = { one: 0, batch: 0 };

  getStickyBuckets(...args) {
    this.reads.one++;
    return super.getStickyBuckets(...args);
  }

  getAllStickyBuckets(...args) {
    this.reads.batch++;
    return super.getAllStickyBuckets(...args);
  }
}

function newService(url, apiKey) {
  const log = new ErrorLog();
  const client = new CountingClient({ url, apiKey, timeoutMs: 5000 }); // as in harness/vwo.mjs: newStorage
  return { service: new GrowthBookStickyBucketService(client, { onError: log.handle }), log, client };
}

const network = watchNetwork();
let uss;
const inVariation = { blue: [], green: [] };
before(async () => {
  uss = await Uss.start();
  for (let i = 0; inVariation.blue.length < 8 || inVariation.green.length < 3; i++) {
    const u = `gb-user-${i}`;
    inVariation[(await evaluate(undefined, features(), { id: u })).value].push(u);
  }
});
after(() => uss?.close());

async function doc(attributeName, attributeValue) {
  const r = await uss.api("GET", `/v1/growthbook/sticky-buckets?${new URLSearchParams({ attributeName, attributeValue })}`);
  return r.status === 404 ? undefined : r.body.assignments;
}

describe(`@growthbook/growthbook ${await sdkVersion("@growthbook/growthbook")} with GrowthBookStickyBucketService`, () => {
  it("is the pinned SDK version, and the service is one of its StickyBucketServices", async () => {
    assert.equal(await sdkVersion("@growthbook/growthbook"), "1.8.0");
    assert.ok(new GrowthBookStickyBucketService(new UssClient({ url: uss.url, apiKey: uss.apiKey })) instanceof StickyBucketService);
  });

  it("stores the first evaluation, and another server keeps it after the weights change", async () => {
    const [blue, green] = [inVariation.blue.slice(0, 3), inVariation.green.slice(0, 3)];
    const a = newService(uss.url, uss.apiKey);
    for (const u of blue) {
      assert.deepEqual(await evaluate(a.service, features(), { id: u }), { value: "blue", sticky: false });
    }
    for (const u of green) {
      assert.deepEqual(await evaluate(a.service, features(), { id: u }), { value: "green", sticky: false });
    }
    await a.service.flush(); // the SDK does not wait for its saves
    for (const u of blue) {
      assert.deepEqual(await doc("id", u), { "checkout-exp__0": "control" });
    }
    for (const u of green) {
      assert.deepEqual(await doc("id", u), { "checkout-exp__0": "treatment" });
    }

    // Another server, after the weights moved everyone to green, on another uss replica.
    const replica = await uss.startServer();
    const b = newService(replica.url, uss.apiKey);
    for (const u of blue) {
      assert.deepEqual(await evaluate(undefined, features(1), { id: u }), { value: "green", sticky: false }, `the new weights would move ${u}`);
      assert.deepEqual(await evaluate(b.service, features(1), { id: u }), { value: "blue", sticky: true }, `${u} keeps the stored variation`);
    }
    assert.deepEqual(await evaluate(b.service, features(1), { id: "gb-newcomer" }), { value: "green", sticky: false });
    await b.service.flush();
    assert.deepEqual(await doc("id", "gb-newcomer"), { "checkout-exp__0": "treatment" }, "a new user gets today's weights, stored");
    assert.deepEqual([a.log.errors, b.log.errors], [[], []]);
  });

  it("reads every document of a user in one request, and does not ask for an attribute the user lacks", async () => {
    const { service, client, log } = newService(uss.url, uss.apiKey);
    await client.saveStickyBuckets({ attributeName: "deviceId", attributeValue: "gb-device-1", assignments: { "pricing-exp__0": "treatment" } });
    // pricing falls back to deviceId: the SDK asks for the id and the deviceId documents.
    const gb = new GrowthBook({ attributes: { id: "gb-several", deviceId: "gb-device-1" }, stickyBucketService: service });
    await gb.init({ payload: { features: features() } });
    assert.deepEqual(client.reads, { one: 0, batch: 1 });
    assert.equal(gb.getFeatureValue("pricing", 0), 12, "the fallback attribute's stored variation");
    gb.destroy();
    await service.flush();
    assert.deepEqual(await doc("id", "gb-several"), { "pricing-exp__0": "treatment" }, "which the SDK then saves under the user's id");

    assert.deepEqual(await service.getAllAssignments({ id: "gb-nobody", deviceId: "" }), {}, "nothing stored, and the empty deviceId not asked for");
    assert.deepEqual(client.reads, { one: 0, batch: 2 });
    assert.deepEqual(await service.getAllAssignments({ deviceId: "" }), {});
    assert.deepEqual(client.reads, { one: 0, batch: 2 }, "no request at all");
    assert.deepEqual(await service.getAssignments("deviceId", "gb-device-1"),
      { attributeName: "deviceId", attributeValue: "gb-device-1", assignments: { "pricing-exp__0": "treatment" } });
    assert.deepEqual(log.errors, []);
  });

  it("keeps both experiments when two servers assign one user to different experiments at once", async () => {
    const users = Array.from({ length: 20 }, (_, i) => `gb-race-${i}`);
    const a = newService(uss.url, uss.apiKey);
    const b = newService((await uss.startServer()).url, uss.apiKey);
    // Both servers read every user's document (empty) before either saves: each then saves
    // the document it read with its own experiment added.
    const sdks = await Promise.all(users.flatMap((u) => [a.service, b.service].map(async (service) => {
      const gb = new GrowthBook({ attributes: { id: u }, stickyBucketService: service });
      await gb.init({ payload: { features: features() } });
      return gb;
    })));
    sdks.forEach((gb, i) => (i % 2 === 0 ? gb.evalFeature("checkout-button") : gb.evalFeature("pricing")));
    sdks.forEach((gb) => gb.destroy());
    await Promise.all([a.service.flush(), b.service.flush()]);
    for (const u of users) {
      assert.deepEqual(Object.keys(await doc("id", u)).sort(), ["checkout-exp__0", "pricing-exp__0"], u);
    }

    // The same race in GrowthBook's own store, which replaces the document, loses one.
    const items = new Map();
    const local = { getItem: async (k) => items.get(k) ?? null, setItem: async (k, v) => void items.set(k, v) };
    const replacing = [new LocalStorageStickyBucketService({ localStorage: local }), new LocalStorageStickyBucketService({ localStorage: local })];
    const both = await Promise.all(replacing.map(async (service) => {
      const gb = new GrowthBook({ attributes: { id: "gb-race-local" }, stickyBucketService: service });
      await gb.init({ payload: { features: features() } });
      return gb;
    }));
    both[0].evalFeature("checkout-button");
    both[1].evalFeature("pricing");
    both.forEach((gb) => gb.destroy());
    await new Promise((resolve) => setImmediate(resolve));
    const kept = JSON.parse([...items.values()][0]).assignments;
    assert.equal(Object.keys(kept).length, 1, `a store that replaces documents keeps one experiment: ${JSON.stringify(kept)}`);
  });

  it("works with GrowthBookClient's applyStickyBuckets", async () => {
    const { service, log } = newService(uss.url, uss.apiKey);
    const client = new GrowthBookClient({});
    await client.init({ payload: { features: features() } });
    const u = inVariation.green[0];
    const user = await client.applyStickyBuckets({ attributes: { id: u } }, service);
    assert.equal(client.evalFeature("checkout-button", user).value, "green");
    await service.flush();
    assert.deepEqual(await doc("id", u), { "checkout-exp__0": "treatment" });
    const moved = new GrowthBookClient({});
    await moved.init({ payload: { features: features(0) } });
    const again = await moved.applyStickyBuckets({ attributes: { id: u } }, service);
    assert.equal(moved.evalFeature("checkout-button", again).value, "green", "the stored variation, not today's weights");
    client.destroy();
    moved.destroy();
    assert.deepEqual(log.errors, []);
  });

  it("fails open when uss is stopped, and never overwrites the stored assignment", async () => {
    const blue = inVariation.blue.slice(3, 6);
    const a = newService(uss.url, uss.apiKey);
    for (const u of blue) {
      assert.equal((await evaluate(a.service, features(), { id: u })).value, "blue");
    }
    await a.service.flush();
    const allStillControl = async () => {
      for (const u of blue) {
        assert.deepEqual(await doc("id", u), { "checkout-exp__0": "control" }, `${u} keeps the stored assignment`);
      }
    };

    let replica = await uss.startServer();
    const proxy = await Proxy.start(replica.addr);
    const b = newService(proxy.url, uss.apiKey);
    await replica.stop();

    // uss stopped: the SDK still evaluates, as if nothing were stored, and saves nothing.
    assert.deepEqual(await evaluate(b.service, features(1), { id: blue[0] }), { value: "green", sticky: false });
    assert.deepEqual(await evaluate(b.service, features(1), { id: "gb-stopped-newcomer" }), { value: "green", sticky: false });
    await b.service.flush();
    assert.equal(b.log.count(UssUnavailableError), 2, "one failed read per evaluation");
    assert.equal(b.log.count(UssWriteSkippedError), 2, "and its save dropped");

    replica = await uss.startServer(replica.addr);
    // uss answers again between the failed read and the SDK's save: the save, carrying a
    // variation decided without the stored one, is still dropped.
    cutUntilAFailedRead(proxy, b.log);
    assert.equal((await evaluate(b.service, features(1), { id: blue[1] })).value, "green");
    await b.service.flush();
    assert.equal(b.log.count(UssUnavailableError), 3);
    assert.equal(b.log.count(UssWriteSkippedError), 3);
    await allStillControl();
    assert.equal(await doc("id", "gb-stopped-newcomer"), undefined);

    // Once uss answers, the stored variation is back.
    for (const u of blue) {
      assert.deepEqual(await evaluate(b.service, features(1), { id: u }), { value: "blue", sticky: true });
    }
    // A user the read found nothing for is stored: there was nothing to replace.
    assert.equal((await evaluate(b.service, features(1), { id: "gb-stopped-newcomer" })).value, "green");
    await b.service.flush();
    assert.deepEqual(await doc("id", "gb-stopped-newcomer"), { "checkout-exp__0": "treatment" });
    await allStillControl();
    assert.equal(b.log.count(UssUnavailableError), 3);
    assert.equal(b.log.count(UssWriteSkippedError), 3);
    assert.equal(b.log.length, 6, "no other error");
    await proxy.close();
  });

  it("stayed offline: every connection went to the loopback", () => {
    assert.deepEqual(network.outside, []);
  });
});
