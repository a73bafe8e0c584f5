// statsigPersistentStorage with the real Statsig Node SDK (statsig-node), offline (local mode
// on bootstrapped specs), against real uss servers on a real PostgreSQL. Each test compares
// what the SDK answered with what uss's API then holds.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import statsig from "statsig-node";
import { UssClient, UssError, UssUnavailableError, UssWriteSkippedError, statsigPersistentStorage } from "uss-client";

import { Clock, ErrorLog } from "./harness/errors.mjs";
import { watchNetwork } from "./harness/offline.mjs";
import { Proxy, cutUntilAFailedRead } from "./harness/proxy.mjs";
import { Uss, sdkVersion } from "./harness/uss.mjs";

const experiment = "checkout_test";

/**
 * specs is a download_config_specs answer with the experiment checkout_test (unit type
 * userID) and company_test (unit type companyID). A unit whose bucket (0-999) is below
 * controlBelow is in Control, else below testBelow in Test; active false ends the
 * experiment. Local mode takes a bootstrap only with has_updates and a time above 0.
 */
function specs(active, controlBelow, testBelow) {
  const exp = (name, idType) => {
    const bucket = (lt) => ({ type: "user_bucket", operator: "lt", targetValue: lt, additionalValues: { salt: `${name}-salt` }, idType });
    const group = (id, groupName, color, lt) => ({
      name: id, id, groupName, salt: id, passPercentage: 100, idType, isExperimentGroup: true, returnValue: { color }, conditions: [bucket(lt)],
    });
    return {
      name, type: "dynamic_config", entity: "experiment", salt: `${name}-salt`, enabled: true, isActive: active, idType,
      explicitParameters: ["color"], defaultValue: { color: "default" },
      rules: [group("rule_control", "Control", "blue", controlBelow), group("rule_test", "Test", "green", testBelow)],
    };
  };
  return JSON.stringify({
    has_updates: true, time: 1700000000000, feature_gates: [], layer_configs: [], layers: {},
    dynamic_configs: [exp(experiment, "userID"), exp("company_test", "companyID")],
  });
}

const servers = [];

/** newSDK runs a real SDK instance offline on specs, with storage (none when undefined). */
async function newSDK(specsJSON, storage) {
  const sdk = new statsig.StatsigServer("secret-offline-tests", {
    localMode: true, bootstrapValues: specsJSON, disableDiagnostics: true, ...(storage ? { userPersistentStorage: storage } : {}),
  });
  const init = await sdk.initializeAsync();
  assert.ok(init.success, `init: ${init.error}`);
  servers.push(sdk);
  return sdk;
}

/**
 * evaluate is the way to evaluate a sticky experiment: load the user's persisted values
 * (through the adapter: a promise, which the SDK hands back as it is) and pass them in.
 */
async function evaluate(sdk, user, name) {
  const persisted = await sdk.getUserPersistedValues(user, "userID");
  return sdk.getExperimentSync(user, name, { userPersistedValues: persisted });
}

const userKey = (u) => `${u}:userID`;

function newStorage(url, apiKey, options = {}) {
  const log = new ErrorLog();
  const client = new UssClient({ url, apiKey, timeoutMs: 5000 }); // as in harness/vwo.mjs: newStorage
  return { storage: statsigPersistentStorage(client, { onError: log.handle, ...options }), log, client };
}

const network = watchNetwork();
let uss;
let inGroup;
before(async () => {
  uss = await Uss.start();
  const sdk = await newSDK(specs(true, 500, 1000));
  inGroup = { Control: [], Test: [] };
  for (let i = 0; i < 200; i++) {
    const u = `statsig-user-${i}`;
    inGroup[sdk.getExperimentWithExposureLoggingDisabledSync({ userID: u }, experiment).getGroupName()].push(u);
  }
});
after(async () => {
  await Promise.all(servers.map((s) => s.shutdownAsync()));
  await uss?.close();
});

/** persisted reads a persisted value straight from uss's API. */
async function persisted(key, configName) {
  const r = await uss.api("GET", `/v1/persisted-values?${new URLSearchParams({ key })}`);
  return r.status === 404 ? undefined : r.body.values[configName];
}

/** assertSaved checks that uss holds what the SDK returned for the key. */
async function assertSaved(key, got) {
  const v = await persisted(key, got.name);
  assert.ok(v, `${key} has a persisted value for ${got.name}`);
  assert.equal(v.group_name, got.getGroupName(), key);
  assert.equal(v.rule_id, got.getRuleID(), key);
  assert.deepEqual(v.json_value, got.value, key);
  assert.equal(v.value, true);
  assert.ok(v.time > 0);
}

describe(`statsig-node ${await sdkVersion("statsig-node")} with statsigPersistentStorage`, () => {
  it("is the pinned SDK version", async () => {
    assert.equal(await sdkVersion("statsig-node"), "6.5.2");
  });

  it("keeps the saved values in uss, and another server keeps them after the allocation changes", async () => {
    const [controlUsers, testUsers] = [inGroup.Control.slice(0, 4), inGroup.Test.slice(0, 4)];
    const a = newStorage(uss.url, uss.apiKey);
    const sdkA = await newSDK(specs(true, 500, 1000), a.storage);
    for (const u of controlUsers) {
      assert.deepEqual(await sdkA.getUserPersistedValues({ userID: u }, "userID"), {}, `nothing saved yet for ${u}`);
      const got = await evaluate(sdkA, { userID: u }, experiment);
      assert.equal(got.getGroupName(), "Control");
      await a.storage.flush(); // the SDK does not wait for its writes
      await assertSaved(userKey(u), got);
    }
    for (const u of testUsers) {
      const got = await evaluate(sdkA, { userID: u }, experiment);
      assert.equal(got.getGroupName(), "Test");
      await a.storage.flush();
      await assertSaved(userKey(u), got);
    }
    // Other unit types are saved under their own key.
    const company = { userID: "u1", customIDs: { companyID: "acme corp" } };
    const persistedCompany = await sdkA.getUserPersistedValues(company, "companyID");
    const companyGot = sdkA.getExperimentSync(company, "company_test", { userPersistedValues: persistedCompany });
    assert.ok(companyGot.getGroupName());
    await a.storage.flush();
    await assertSaved("acme corp:companyID", companyGot);

    // Another server: its own SDK, started after the allocation moved everyone to Test, and
    // its own uss process on the same database.
    const replica = await uss.startServer();
    const b = newStorage(replica.url, uss.apiKey);
    const sdkB = await newSDK(specs(true, 0, 1000), b.storage);
    for (const u of controlUsers) {
      const values = await sdkB.getUserPersistedValues({ userID: u }, "userID");
      assert.equal(values[experiment].group_name, "Control", `${u}'s saved group loads`);
      const got = sdkB.getExperimentSync({ userID: u }, experiment, { userPersistedValues: values });
      assert.equal(got.getGroupName(), "Control", `${u} keeps the saved group`);
      assert.equal(got.getRuleID(), "rule_control");
      assert.deepEqual(got.value, { color: "blue" });
      assert.equal(got.getEvaluationDetails().reason, "Persisted");
      await assertSaved(userKey(u), got);
    }
    const newcomer = await evaluate(sdkB, { userID: "statsig-newcomer" }, experiment);
    assert.equal(newcomer.getGroupName(), "Test", "a new user gets today's allocation");
    await b.storage.flush();
    await assertSaved(userKey("statsig-newcomer"), newcomer);
    assert.deepEqual([a.log.errors, b.log.errors], [[], []]);
  });

  it("is where the SDK deletes saved values: on an evaluation without them, and when the experiment ends", async () => {
    const a = newStorage(uss.url, uss.apiKey);
    const running = await newSDK(specs(true, 500, 1000), a.storage);
    const user = { userID: "statsig-deleted" };
    const got = await evaluate(running, user, experiment);
    await a.storage.flush();
    await assertSaved(userKey(user.userID), got);
    running.getExperimentSync(user, experiment);
    await a.storage.flush();
    assert.equal(await persisted(userKey(user.userID), experiment), undefined, "getExperimentSync without persisted values deleted it");

    await evaluate(running, user, experiment);
    await a.storage.flush();
    assert.ok(await persisted(userKey(user.userID), experiment));
    const ended = await newSDK(specs(false, 500, 1000), a.storage);
    assert.notEqual((await evaluate(ended, user, experiment)).getEvaluationDetails().reason, "Persisted");
    await a.storage.flush();
    assert.equal(await persisted(userKey(user.userID), experiment), undefined, "an inactive experiment deleted it");
    assert.deepEqual(a.log.errors, []);
  });

  it("fails open when uss is stopped, and never overwrites the saved group", async () => {
    const controlUsers = inGroup.Control.slice(4, 7);
    const saved = {};
    for (const u of controlUsers) {
      const value = { value: true, json_value: { color: "blue" }, rule_id: "rule_control", group_name: "Control", time: 1 };
      assert.equal((await uss.api("PUT", `/v1/persisted-values?${new URLSearchParams({ key: userKey(u), configName: experiment })}`, value)).status, 200);
      saved[u] = await persisted(userKey(u), experiment);
    }
    const allKept = async () => {
      for (const u of controlUsers) {
        assert.deepEqual(await persisted(userKey(u), experiment), saved[u], `${u}'s saved value is still there`);
      }
    };

    let replica = await uss.startServer();
    const proxy = await Proxy.start(replica.addr);
    const clock = new Clock();
    const { storage, log } = newStorage(proxy.url, uss.apiKey, { now: clock.now });
    // One SDK whose allocation moved everyone to Test after the users were saved in Control.
    const sdk = await newSDK(specs(true, 0, 1000), storage);
    await replica.stop();

    // uss stopped: the SDK still evaluates, as if nothing were saved, and writes nothing.
    const u0 = { userID: controlUsers[0] };
    const values = await sdk.getUserPersistedValues(u0, "userID");
    assert.deepEqual(values, {});
    assert.equal(sdk.getExperimentSync(u0, experiment, { userPersistedValues: values }).getGroupName(), "Test");
    assert.equal((await evaluate(sdk, { userID: "statsig-stopped-newcomer" }, experiment)).getGroupName(), "Test");
    await storage.flush();
    assert.equal(log.count(UssUnavailableError), 2);
    assert.equal(log.count(UssWriteSkippedError), 2, "both saves dropped");

    replica = await uss.startServer(replica.addr);
    // uss answers again between the failed load and the SDK's writes: they are still dropped.
    cutUntilAFailedRead(proxy, log);
    assert.equal((await evaluate(sdk, { userID: controlUsers[1] }, experiment)).getGroupName(), "Test");
    assert.equal(log.count(UssUnavailableError), 3);
    assert.equal(log.count(UssWriteSkippedError), 3);
    // A delete (the SDK's answer to an evaluation without persisted values) is dropped too.
    assert.equal(sdk.getExperimentSync(u0, experiment).getGroupName(), "Test");
    assert.equal(log.count(UssWriteSkippedError), 4);
    await storage.flush();
    await allKept();
    assert.equal(await persisted(userKey("statsig-stopped-newcomer"), experiment), undefined);

    // Once uss answers, the saved groups are back.
    for (const u of controlUsers) {
      const got = await evaluate(sdk, { userID: u }, experiment);
      assert.equal(got.getGroupName(), "Control");
      assert.equal(got.getEvaluationDetails().reason, "Persisted");
    }
    // After the failed-read memory, the SDK's writes reach uss again.
    clock.advance(60_000);
    const got = await evaluate(sdk, { userID: "statsig-stopped-newcomer" }, experiment);
    await storage.flush();
    await assertSaved(userKey("statsig-stopped-newcomer"), got);
    await allKept();
    assert.equal(log.count(UssUnavailableError), 3);
    assert.equal(log.count(UssWriteSkippedError), 4);
    assert.equal(log.length, 7, "no other error");
    await proxy.close();
  });

  it("does not overwrite a saved value it cannot read", async () => {
    const key = userKey("statsig-odd");
    // A value another writer saved in a shape this SDK cannot read.
    await uss.api("PUT", `/v1/persisted-values?${new URLSearchParams({ key, configName: experiment })}`, { group_name: 42 });
    const { storage, log } = newStorage(uss.url, uss.apiKey);
    const sdk = await newSDK(specs(true, 500, 1000), storage);
    assert.ok((await evaluate(sdk, { userID: "statsig-odd" }, experiment)).getGroupName(), "the SDK still decides");
    await storage.flush();
    assert.deepEqual(await persisted(key, experiment), { group_name: 42 });
    assert.equal(log.length, 2, "the unreadable value and the dropped save");
    assert.equal(log.count(UssWriteSkippedError), 1);
    assert.ok(log.errors[0] instanceof UssError && /group_name/.test(log.errors[0].message));
  });

  it("stayed offline: every connection went to the loopback", () => {
    assert.deepEqual(network.outside, []);
  });
});
