// vwoUserStorage with the real legacy VWO Node SDK (vwo-node-sdk), offline (development
// mode), in its asynchronous storage mode, against real uss servers on a real PostgreSQL.
// Each test compares what the SDK answered with what uss's API then holds.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { UssUnavailableError, UssWriteSkippedError } from "uss-client";

import { Clock } from "./harness/errors.mjs";
import { watchNetwork } from "./harness/offline.mjs";
import { Proxy, cutUntilAFailedRead } from "./harness/proxy.mjs";
import { Uss, sdkVersion } from "./harness/uss.mjs";
import { campaign, launch, newStorage, settings, usersIn } from "./harness/vwo.mjs";

const tracked = (value) => ({ [campaign]: value });

/**
 * twoServers is two SDK instances on the same 50/50 settings, each with its own storage on
 * its own uss replica (same database); their clients close when the test ends.
 */
async function twoServers(t) {
  const replica = await uss.startServer();
  const a = newStorage(uss.url, uss.apiKey);
  const b = newStorage(replica.url, uss.apiKey);
  t.after(() => {
    a.client.close();
    b.client.close();
  });
  return { a, b, sdkA: launch(settings(50, 50), a.storage), sdkB: launch(settings(50, 50), b.storage) };
}

const network = watchNetwork();
let uss;
before(async () => {
  uss = await Uss.start();
});
after(() => uss?.close());

describe(`vwo-node-sdk ${await sdkVersion("vwo-node-sdk")} with vwoUserStorage (asynchronous storage mode)`, () => {
  it("is the pinned SDK version", async () => {
    assert.equal(await sdkVersion("vwo-node-sdk"), "1.73.0");
  });

  it("stores the first activation, and another server keeps it after the weights change", async () => {
    const even = settings(50, 50);
    const allToVariation = settings(0, 100);
    const controlUsers = usersIn(even, "Control", 5);
    const variationUsers = usersIn(even, "Variation-1", 5);

    const a = newStorage(uss.url, uss.apiKey);
    const sdkA = launch(even, a.storage);
    for (const u of controlUsers) {
      assert.equal(await sdkA.activate(campaign, u), "Control");
    }
    for (const u of variationUsers) {
      assert.equal(await sdkA.activate(campaign, u), "Variation-1");
    }
    await a.storage.flush(); // the SDK does not wait for its writes
    for (const u of controlUsers) {
      assert.deepEqual(await uss.stored(u, campaign), { userId: u, campaignKey: campaign, variationName: "Control", goalIdentifier: "" });
    }
    for (const u of variationUsers) {
      assert.equal((await uss.stored(u, campaign)).variationName, "Variation-1");
    }

    // Another server: its own SDK instance, launched after the weights moved everyone to
    // Variation-1, and its own uss process on the same database.
    const replica = await uss.startServer();
    const b = newStorage(replica.url, uss.apiKey);
    const sdkB = launch(allToVariation, b.storage);
    const withoutStorage = launch(settings(0, 100));
    for (const u of controlUsers) {
      assert.equal(withoutStorage.activate(campaign, u), "Variation-1", `the new weights would move ${u}`);
      assert.equal(await sdkB.activate(campaign, u), "Control", `${u} keeps the stored variation`);
      assert.equal(await sdkB.getVariationName(campaign, u), "Control");
    }
    for (const u of variationUsers) {
      assert.equal(await sdkB.activate(campaign, u), "Variation-1");
    }
    assert.equal(await sdkB.activate(campaign, "newcomer"), "Variation-1");
    await b.storage.flush();
    for (const u of controlUsers) {
      assert.equal((await uss.stored(u, campaign)).variationName, "Control", "and uss still says so");
    }
    assert.equal((await uss.stored("newcomer", campaign)).variationName, "Variation-1", "a new user gets today's weights, stored");
    assert.deepEqual([a.log.errors, b.log.errors], [[], []]);
    a.client.close();
    b.client.close();
  });

  it("tracks each goal once across servers: uss merges the goals the SDK writes", async (t) => {
    const { a, b, sdkA, sdkB } = await twoServers(t);
    const u = "tracker-1";
    const v = await sdkA.activate(campaign, u);
    assert.ok(v);

    // The SDK does not wait for activate's write; the adapter's read waits for it, so a
    // track right after activate finds the variation.
    assert.deepEqual(await sdkA.track(campaign, u, "signup"), tracked(true));
    await a.storage.flush();
    assert.deepEqual(await uss.stored(u, campaign), { userId: u, campaignKey: campaign, variationName: v, goalIdentifier: "signup" });

    assert.deepEqual(await sdkB.track(campaign, u, "signup"), tracked(false), "the other server learns from uss that signup converted");
    await assert.rejects(sdkB.track(campaign, u, "purchase"), TypeError,
      "a revenue goal needs revenueValue: in asynchronous mode the SDK's promise rejects (it answers false synchronously)");
    assert.deepEqual(await sdkB.track(campaign, u, "purchase", { revenueValue: 12.5 }), tracked(true));
    await b.storage.flush();
    assert.equal((await uss.stored(u, campaign)).goalIdentifier, "signup_vwo_purchase");
    assert.deepEqual(await sdkA.track(campaign, u, "purchase", { revenueValue: 3 }), tracked(false));
    assert.deepEqual(await sdkA.track(campaign, u, "signup", { shouldTrackReturningUser: true }), tracked(true),
      "a returning conversion is tracked when asked for");
    await a.storage.flush();
    assert.equal((await uss.stored(u, campaign)).goalIdentifier, "signup_vwo_purchase", "and stores nothing new");

    // Unlike the Go SDK, this one in asynchronous mode tracks nothing for a user never
    // activated, and stores nothing.
    assert.deepEqual(await sdkB.track(campaign, "never-activated", "signup"), tracked(null));
    await b.storage.flush();
    assert.equal(await uss.stored("never-activated", campaign), undefined);
    assert.deepEqual([a.log.errors, b.log.errors], [[], []]);
  });

  it("loses no goal when two servers track different goals of the same users at once", async (t) => {
    const { a, b, sdkA, sdkB } = await twoServers(t);
    const users = [...usersIn(settings(50, 50), "Control", 10, "concurrent-"), ...usersIn(settings(50, 50), "Variation-1", 10, "concurrent-")];
    const variations = {};
    for (const u of users) {
      variations[u] = await sdkA.activate(campaign, u);
    }
    await a.storage.flush();

    // Each server reads the goals, appends its own and writes: without uss's merge, the
    // later write would drop the other server's goal.
    const results = await Promise.all(users.flatMap((u) => [
      sdkA.track(campaign, u, "signup"),
      sdkB.track(campaign, u, "purchase", { revenueValue: 1 }),
    ]));
    for (const r of results) {
      assert.deepEqual(r, tracked(true));
    }
    await Promise.all([a.storage.flush(), b.storage.flush()]);
    for (const u of users) {
      const r = await uss.stored(u, campaign);
      assert.equal(r.variationName, variations[u]);
      assert.deepEqual(r.goalIdentifier.split("_vwo_").sort(), ["purchase", "signup"], u);
    }
    assert.deepEqual([a.log.errors, b.log.errors], [[], []]);
  });

  it("never replaces a stored variation: of two servers deciding a new user at once, the first write wins", async () => {
    const a = newStorage(uss.url, uss.apiKey);
    const b = newStorage(uss.url, uss.apiKey);
    const u = "first-writer-1";
    assert.equal(await a.storage.get(u, campaign), undefined);
    assert.equal(await b.storage.get(u, campaign), undefined);
    await a.storage.set({ userId: u, campaignKey: campaign, variationName: "Control" });
    await b.storage.set({ userId: u, campaignKey: campaign, variationName: "Variation-1" });
    assert.deepEqual(await uss.stored(u, campaign), { userId: u, campaignKey: campaign, variationName: "Control", goalIdentifier: "" }, "the first writer wins");

    const sdkA = launch(settings(100, 0), a.storage);
    const sdkB = launch(settings(0, 100), b.storage);
    assert.equal(await sdkA.activate(campaign, u), "Control");
    assert.equal(await sdkB.activate(campaign, u), "Control");
    await b.storage.set({ userId: u, campaignKey: campaign, variationName: "Variation-1", goalIdentifier: "signup" }); // a whitelisted track of the user
    assert.equal((await uss.stored(u, campaign)).variationName, "Control");
    assert.deepEqual(await sdkB.track(campaign, u, "signup"), tracked(true));
    await b.storage.flush();
    assert.deepEqual(await uss.stored(u, campaign), { userId: u, campaignKey: campaign, variationName: "Control", goalIdentifier: "signup" },
      "goals of the stored variation still join");
    assert.deepEqual([a.log.errors, b.log.errors], [[], []]);
    a.client.close();
    b.client.close();
  });

  it("must be launched in asynchronous storage mode: without it the SDK ignores what is stored", async () => {
    const [u] = usersIn(settings(50, 50), "Control", 1, "sync-mode-");
    assert.equal((await uss.api("POST", "/v1/storage", { userId: u, campaignKey: campaign, variationName: "Control" })).status, 200);
    const a = newStorage(uss.url, uss.apiKey);
    const synchronous = launch(settings(0, 100), a.storage, { asynchronous: false });
    assert.equal(synchronous.activate(campaign, u), "Variation-1", "a promise is no stored record to the synchronous SDK");
    await a.storage.flush();
    assert.equal((await uss.stored(u, campaign)).variationName, "Control", "its write leaves the stored variation alone (ifAbsent)");
    a.client.close();
  });

  it("re-buckets a user whose stored variation is no longer in the campaign (the Go SDK gives none), and leaves it stored", async () => {
    const ghost = { userId: "ghost-1", campaignKey: campaign, variationName: "Retired-Variation" };
    assert.equal((await uss.api("POST", "/v1/storage", ghost)).status, 200);
    const a = newStorage(uss.url, uss.apiKey);
    const got = await launch(settings(50, 50), a.storage).activate(campaign, "ghost-1");
    assert.ok(got === "Control" || got === "Variation-1");
    await a.storage.flush();
    assert.equal((await uss.stored("ghost-1", campaign)).variationName, "Retired-Variation", "the write never replaces a stored variation");
    assert.deepEqual(a.log.errors, []);
    a.client.close();
  });

  it("gives nobody a variation of a mutually exclusive group in asynchronous storage mode (an SDK limitation)", async () => {
    const group = settings(50, 50);
    group.campaigns.push({ ...settings(50, 50).campaigns[0], id: 8, key: "pricing-test" });
    group.groups = { 9: { name: "checkout-group", campaigns: [7, 8] } };
    group.campaignGroups = { 7: 9, 8: 9 };
    const withoutStorage = launch(structuredClone(group));
    const a = newStorage(uss.url, uss.apiKey);
    const sdk = launch(group, a.storage);
    for (const u of ["meg-1", "meg-2", "meg-3"]) {
      assert.ok(withoutStorage.activate(campaign, u) || withoutStorage.activate("pricing-test", u), "the group gives each user a campaign");
      assert.equal(await sdk.activate(campaign, u), null);
      assert.equal(await sdk.activate("pricing-test", u), null);
    }
    a.client.close();
  });

  it("fails open when uss is stopped, and never overwrites the stored variation", async () => {
    const even = settings(50, 50);
    const allToVariation = settings(0, 100);
    const controlUsers = usersIn(even, "Control", 3, "stopped-");
    const a = newStorage(uss.url, uss.apiKey);
    const sdkA = launch(even, a.storage);
    for (const u of controlUsers) {
      assert.equal(await sdkA.activate(campaign, u), "Control");
    }
    await a.storage.flush();
    const allStillControl = async () => {
      for (const u of controlUsers) {
        assert.equal((await uss.stored(u, campaign)).variationName, "Control", `${u} keeps the stored variation`);
      }
    };

    // Server B reaches its own uss replica through a proxy, so that the replica can be
    // stopped and started again at the same address.
    let replica = await uss.startServer();
    const proxy = await Proxy.start(replica.addr);
    const clock = new Clock();
    const b = newStorage(proxy.url, uss.apiKey, { now: clock.now });
    const sdkB = launch(allToVariation, b.storage);

    await replica.stop();
    // uss stopped: the SDK still decides, as if nothing were stored, and writes nothing.
    assert.equal(await sdkB.activate(campaign, controlUsers[0]), "Variation-1");
    assert.equal(await sdkB.activate(campaign, "stopped-newcomer"), "Variation-1");
    assert.deepEqual(await sdkB.track(campaign, controlUsers[1], "signup"), tracked(null), "track needs the stored variation");
    await b.storage.flush();
    assert.equal(b.log.count(UssUnavailableError), 3, "one failed read per call");
    assert.equal(b.log.count(UssWriteSkippedError), 2, "each activate's write dropped");
    assert.equal(b.log.length, 5);

    replica = await uss.startServer(replica.addr);
    // uss answers again between the failed read and the SDK's write: the write, carrying a
    // variation decided without the stored one, is still dropped.
    cutUntilAFailedRead(proxy, b.log);
    assert.equal(await sdkB.activate(campaign, controlUsers[2]), "Variation-1");
    await b.storage.flush();
    assert.equal(b.log.count(UssUnavailableError), 4);
    assert.equal(b.log.count(UssWriteSkippedError), 3);
    await allStillControl();
    assert.equal(await uss.stored("stopped-newcomer", campaign), undefined);

    // Once uss answers, the stored variation is back, and goals of it reach uss.
    assert.equal(await sdkB.activate(campaign, controlUsers[2]), "Control");
    assert.deepEqual(await sdkB.track(campaign, controlUsers[2], "signup"), tracked(true));
    assert.equal(await sdkB.activate(campaign, controlUsers[0]), "Control");
    await b.storage.flush();
    assert.deepEqual(await uss.stored(controlUsers[2], campaign),
      { userId: controlUsers[2], campaignKey: campaign, variationName: "Control", goalIdentifier: "signup" });
    // A user decided while unread stays unwritten for the failed-read memory...
    assert.equal(await sdkB.activate(campaign, "stopped-newcomer"), "Variation-1");
    await b.storage.flush();
    assert.equal(await uss.stored("stopped-newcomer", campaign), undefined);
    assert.equal(b.log.count(UssWriteSkippedError), 4);
    // ...and is written once it is over.
    clock.advance(60_000);
    assert.equal(await sdkB.activate(campaign, "stopped-newcomer"), "Variation-1");
    await b.storage.flush();
    assert.equal((await uss.stored("stopped-newcomer", campaign)).variationName, "Variation-1");
    await allStillControl();
    assert.equal(b.log.count(UssUnavailableError), 4);
    assert.equal(b.log.count(UssWriteSkippedError), 4);
    assert.equal(b.log.length, 8, "no other error");
    a.client.close();
    b.client.close();
    await proxy.close();
  });

  it("stayed offline: every connection went to the loopback", () => {
    assert.deepEqual(network.outside, []);
  });
});
