// UssClient against a real uss server on a real PostgreSQL: every storage route, and how each
// failure is told apart.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { createServer as createTcpServer } from "node:net";
import { after, before, describe, it } from "node:test";

import {
  UssClient,
  UssError,
  UssNotFoundError,
  UssRequestError,
  UssUnavailableError,
  VwoFmeStorage,
  vwoUserStorage,
} from "uss-client";

import { Proxy } from "./harness/proxy.mjs";
import { Uss } from "./harness/uss.mjs";

let uss;
let client;
before(async (t) => {
  uss = await Uss.start();
  client = new UssClient({ url: uss.url, apiKey: uss.apiKey });
});
after(async (t) => {
  client?.close();
  await uss?.close();
});

/** listen starts a server on a free loopback port, closed when the test ends, and resolves with its URL. */
async function listen(t, server) {
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    server.closeAllConnections?.();
    server.close();
  });
  return `http://127.0.0.1:${server.address().port}`;
}

/** newClient is a client closed when the test ends. */
function newClient(t, options) {
  const c = new UssClient(options);
  t.after(() => c.close());
  return c;
}

describe("UssClient: every storage route against uss", () => {
  it("stores, reads, batch-reads, batch-writes and deletes VWO assignments, merging goals", async (t) => {
    await assert.rejects(client.getAssignment("user-1", "checkout"), (err) => {
      assert.ok(err instanceof UssNotFoundError);
      assert.equal(err.status, 404);
      assert.equal(err.code, "not_found");
      assert.match(err.requestId, /.+/);
      assert.doesNotMatch(err.message, /user-1/, "messages leave user ids out");
      return true;
    });

    const a = { userId: "user-1", campaignKey: "checkout", variationName: "Variation-1" };
    assert.deepEqual(await client.setAssignment(a), { ...a, goalIdentifier: "" });
    assert.deepEqual(await client.setAssignment({ ...a, goalIdentifier: "signup" }), { ...a, goalIdentifier: "signup" });
    assert.deepEqual(await client.setAssignment({ ...a, goalIdentifier: "purchase" }), { ...a, goalIdentifier: "signup_vwo_purchase" });
    assert.deepEqual(await client.getAssignment("user-1", "checkout"), { ...a, goalIdentifier: "signup_vwo_purchase" });
    assert.deepEqual(await uss.stored("user-1", "checkout"), { ...a, goalIdentifier: "signup_vwo_purchase" });

    const batch = [
      { userId: "user-1", campaignKey: "pricing", variationName: "Control" },
      { userId: "user-1", campaignKey: "banner", variationName: "B", goalIdentifier: "click" },
    ];
    assert.deepEqual(await client.setAssignments(batch), [
      { ...batch[0], goalIdentifier: "" },
      { ...batch[1], goalIdentifier: "click" },
    ]);
    const all = await client.getAssignments("user-1");
    assert.deepEqual(all.map((r) => r.campaignKey).sort(), ["banner", "checkout", "pricing"]);
    assert.deepEqual(await client.getAssignments("user-1", ["pricing", "nowhere"]), [{ ...batch[0], goalIdentifier: "" }]);
    assert.deepEqual(await client.getAssignments("user-1", []), []);

    // ifAbsent: a stored variation is never replaced, and the answer is the row that won;
    // a record of the stored variation still adds its goals.
    assert.deepEqual(await client.setAssignmentIfAbsent({ ...a, variationName: "Control" }), { ...a, goalIdentifier: "signup_vwo_purchase" });
    assert.deepEqual(await client.setAssignmentIfAbsent({ ...a, goalIdentifier: "refund" }), { ...a, goalIdentifier: "signup_vwo_purchase_vwo_refund" });
    assert.deepEqual(await client.setAssignmentIfAbsent({ userId: "user-1b", campaignKey: "checkout", variationName: "Control" }),
      { userId: "user-1b", campaignKey: "checkout", variationName: "Control", goalIdentifier: "" });
    assert.deepEqual(await client.setAssignmentsIfAbsent([
      { userId: "user-1", campaignKey: "pricing", variationName: "Variation-2" },
      { userId: "user-1c", campaignKey: "pricing", variationName: "Variation-2" },
    ]), [
      { userId: "user-1", campaignKey: "pricing", variationName: "Control", goalIdentifier: "" },
      { userId: "user-1c", campaignKey: "pricing", variationName: "Variation-2", goalIdentifier: "" },
    ]);

    const deleted = await client.deleteAssignment("user-1", "pricing");
    assert.equal(deleted.assignments, 1);
    assert.equal(await uss.stored("user-1", "pricing"), undefined);
    assert.equal((await client.deleteAssignment("user-1", "pricing")).assignments, 0, "deleting what is not there is not an error");
  });

  it("saves, loads and deletes Statsig persisted values", async (t) => {
    await assert.rejects(client.loadPersistedValues("user-2:userID"), UssNotFoundError);
    const value = { value: true, json_value: { color: "green" }, rule_id: "rule_test", group_name: "Test", time: 1700000000000 };
    await client.savePersistedValue("user-2:userID", "checkout_test", value);
    await client.savePersistedValue("user-2:userID", "pricing_test", { ...value, group_name: "Control" });
    assert.deepEqual(await client.loadPersistedValues("user-2:userID"), {
      checkout_test: value,
      pricing_test: { ...value, group_name: "Control" },
    });
    assert.equal((await client.deletePersistedValue("user-2:userID", "pricing_test")).persistedValues, 1);
    assert.deepEqual(Object.keys(await client.loadPersistedValues("user-2:userID")), ["checkout_test"]);
  });

  it("saves and reads VWO FME records whole", async (t) => {
    await assert.rejects(client.getVwoFmeRecord("checkout", "user-3"), UssNotFoundError);
    const record = {
      featureKey: "checkout", userId: "user-3", rolloutId: 1, rolloutKey: "checkout_rollout", rolloutVariationId: 1,
      experimentId: 2, experimentKey: "checkout_test", experimentVariationId: 2, note: { nested: [1, "two", null] },
    };
    assert.deepEqual(await client.saveVwoFmeRecord(record), record);
    assert.deepEqual(await client.getVwoFmeRecord("checkout", "user-3"), record);
    const replaced = { featureKey: "checkout", userId: "user-3", rolloutId: 1, rolloutKey: "checkout_rollout", rolloutVariationId: 1 };
    await client.saveVwoFmeRecord(replaced);
    assert.deepEqual(await client.getVwoFmeRecord("checkout", "user-3"), replaced, "a save replaces the record whole");
  });

  it("saves GrowthBook documents entry by entry and reads several in one call", async (t) => {
    await assert.rejects(client.getStickyBuckets("id", "user-4"), UssNotFoundError);
    await client.saveStickyBuckets({ attributeName: "id", attributeValue: "user-4", assignments: { "checkout-exp__0": "treatment" } });
    const merged = await client.saveStickyBuckets({ attributeName: "id", attributeValue: "user-4", assignments: { "pricing-exp__0": "a" } });
    const doc = { attributeName: "id", attributeValue: "user-4", assignments: { "checkout-exp__0": "treatment", "pricing-exp__0": "a" } };
    assert.deepEqual(merged, doc, "uss keeps the assignments a save does not carry");
    assert.deepEqual(await client.getStickyBuckets("id", "user-4"), doc);
    await client.saveStickyBuckets({ attributeName: "deviceId", attributeValue: "d-4", assignments: { "banner__1": "b" } });
    assert.deepEqual(await client.getAllStickyBuckets({ id: "user-4", deviceId: "d-4", company: "nobody" }), {
      "id||user-4": doc,
      "deviceId||d-4": { attributeName: "deviceId", attributeValue: "d-4", assignments: { "banner__1": "b" } },
    });
  });

  it("looks up and saves Optimizely profiles", async (t) => {
    assert.deepEqual(await client.lookupUserProfile("user-5"), { user_id: "user-5", experiment_bucket_map: {} });
    await client.saveUserProfile({ user_id: "user-5", experiment_bucket_map: { 1001: { variation_id: "3002" } } });
    const profile = await client.saveUserProfile({ user_id: "user-5", experiment_bucket_map: { 1002: { variation_id: "3004" } } });
    const want = { user_id: "user-5", experiment_bucket_map: { 1001: { variation_id: "3002" }, 1002: { variation_id: "3004" } } };
    assert.deepEqual(profile, want);
    assert.deepEqual(await client.lookupUserProfile("user-5"), want);
  });

  it("erases everything about a user, in every SDK's storage", async (t) => {
    const u = "user-erased";
    await client.setAssignment({ userId: u, campaignKey: "checkout", variationName: "Control", goalIdentifier: "signup" });
    await client.savePersistedValue(`${u}:userID`, "checkout_test", { value: true });
    await client.saveVwoFmeRecord({ featureKey: "checkout", userId: u, experimentKey: "e", experimentVariationId: 1 });
    await client.saveStickyBuckets({ attributeName: "id", attributeValue: u, assignments: { "a__0": "x", "b__0": "y" } });
    await client.saveUserProfile({ user_id: u, experiment_bucket_map: { 1: { variation_id: "2" } } });
    const deleted = await client.eraseUser(u);
    assert.equal(deleted.assignments, 1);
    assert.equal(deleted.vwoFmeRecords, 1);
    assert.equal(deleted.growthbookAssignments, 2);
    assert.equal(deleted.optimizelyDecisions, 1);
    await assert.rejects(client.getAssignment(u, "checkout"), UssNotFoundError);
    await assert.rejects(client.getStickyBuckets("id", u), UssNotFoundError);
  });
});

describe("UssClient: failures are told apart", () => {
  it("a refused request is a UssRequestError with uss's code, and changed nothing", async (t) => {
    await assert.rejects(client.setAssignment({ userId: "", campaignKey: "checkout", variationName: "A" }), (err) => {
      assert.ok(err instanceof UssRequestError && err instanceof UssError);
      assert.equal(err.status, 400);
      assert.equal(err.code, "invalid_argument");
      return true;
    });
    await assert.rejects(client.getAssignment("x".repeat(256), "checkout"), { name: "UssRequestError", code: "invalid_argument" });
    const stranger = newClient(t, { url: uss.url, apiKey: "uss_not_a_key" });
    await assert.rejects(stranger.getAssignment("user-1", "checkout"), { name: "UssRequestError", status: 401, code: "unauthenticated" });
  });

  it("another account's data is simply not found", async (t) => {
    await client.setAssignment({ userId: "shared", campaignKey: "checkout", variationName: "A" });
    const other = newClient(t, { url: uss.url, apiKey: await uss.createApiKey("other") });
    await assert.rejects(other.getAssignment("shared", "checkout"), UssNotFoundError);
  });

  it("a server that is not there is unavailable", async (t) => {
    const tcp = createTcpServer();
    await new Promise((resolve) => tcp.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${tcp.address().port}`;
    await new Promise((resolve) => tcp.close(resolve));
    const gone = newClient(t, { url, apiKey: "k" });
    await assert.rejects(gone.getAssignment("u", "c"), (err) => {
      assert.ok(err instanceof UssUnavailableError);
      assert.equal(err.status, 0);
      assert.equal(err.cause.code, "ECONNREFUSED");
      return true;
    });
  });

  it("a server that does not answer in time is unavailable, and an aborted call rejects with the signal's reason", async (t) => {
    const silent = createTcpServer((socket) => t.after(() => socket.destroy())); // accepts, never answers
    const url = await listen(t, silent);
    const slow = newClient(t, { url, apiKey: "k", timeoutMs: 100 });
    const started = Date.now();
    await assert.rejects(slow.getAssignment("u", "c"), (err) => err instanceof UssUnavailableError && /within 100 ms/.test(err.message));
    assert.ok(Date.now() - started >= 90);

    const patient = newClient(t, { url, apiKey: "k", timeoutMs: 0 });
    const controller = new AbortController();
    const call = patient.getAssignment("u", "c", { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(call, { name: "AbortError" });
    await assert.rejects(patient.getAssignment("u", "c", { signal: AbortSignal.abort(new Error("shutting down")) }), { message: "shutting down" });
  });

  it("an answer that is not uss's is unavailable, whatever its status; uss's 429 and 5xx too", async (t) => {
    const answers = {
      "/gateway-404": [404, "text/html", "<html>not here</html>"],
      "/gateway-502": [502, "text/html", "<html>bad gateway</html>"],
      "/busy": [429, "application/json", '{"error":{"code":"unavailable","message":"slow down","requestId":"r1"}}'],
      "/down": [503, "application/json", '{"error":{"code":"unavailable","message":"database down","requestId":"r2"}}'],
      "/truncated": [200, "application/json", '{"userId": "u", "campa'],
    };
    const server = createServer((req, res) => {
      const [status, type, body] = answers[new URL(req.url, "http://x").pathname.replace("/v1/storage", "")] ?? [500, "text/plain", "?"];
      res.writeHead(status, { "Content-Type": type }).end(body);
    });
    const base = await listen(t, server);
    for (const path of Object.keys(answers)) {
      const c = newClient(t, { url: base + path, apiKey: "k" });
      await assert.rejects(c.getAssignment("u", "c"), (err) => {
        assert.ok(err instanceof UssUnavailableError, `${path}: ${err}`);
        assert.ok(!(err instanceof UssNotFoundError));
        return true;
      });
    }
  });

  it("a request that cannot be encoded is refused before it is sent", async (t) => {
    const cyclic = { featureKey: "f", userId: "u" };
    cyclic.self = cyclic;
    await assert.rejects(client.saveVwoFmeRecord(cyclic), (err) => err instanceof UssRequestError && /encode request/.test(err.message));
  });

  it("rejects a bad configuration at once", () => {
    assert.throws(() => new UssClient({ url: "127.0.0.1:8080", apiKey: "k" }), TypeError);
    assert.throws(() => new UssClient({ url: "ftp://h", apiKey: "k" }), TypeError);
    assert.throws(() => new UssClient({ url: "http://h?x=1", apiKey: "k" }), TypeError);
    assert.throws(() => new UssClient({ url: "http://h", apiKey: "" }), TypeError);
    assert.throws(() => new UssClient({ url: "http://h", apiKey: "k", timeoutMs: -1 }), TypeError);
  });
});

describe("UssClient: connections", () => {
  it("keeps one connection alive for sequential calls, and reuses them after a burst", async (t) => {
    const proxy = await Proxy.start(uss.server.addr);
    t.after(() => proxy.close());
    const c = newClient(t, { url: proxy.url, apiKey: uss.apiKey });
    for (let i = 0; i < 20; i++) {
      await c.setAssignment({ userId: `keepalive-${i}`, campaignKey: "checkout", variationName: "A" });
    }
    assert.equal(proxy.connections, 1);
    await Promise.all(Array.from({ length: 10 }, (_, i) => c.getAssignment(`keepalive-${i}`, "checkout")));
    const afterBurst = proxy.connections;
    assert.ok(afterBurst <= 10, `${afterBurst} connections`);
    await Promise.all(Array.from({ length: 10 }, (_, i) => c.getAssignment(`keepalive-${i}`, "checkout")));
    assert.equal(proxy.connections, afterBurst, "the burst's connections are reused");
  });

  it("sends a call again on a new connection when a kept-alive one was closed under it", async (t) => {
    let connections = 0;
    const server = createServer((req, res) => {
      // The second request on the first connection finds it closed, as when a server's idle
      // timeout closes a connection just as a call starts on it.
      if (req.socket.connectionNumber === 1 && req.socket.requests++ === 1) {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { "Content-Type": "application/json" }).end('{"userId":"u","campaignKey":"c","variationName":"A","goalIdentifier":""}');
    });
    server.on("connection", (socket) => {
      socket.connectionNumber = ++connections;
      socket.requests = 0;
    });
    const c = newClient(t, { url: await listen(t, server), apiKey: "k" });
    await c.getAssignment("u", "c");
    assert.equal((await c.getAssignment("u", "c")).variationName, "A");
    assert.equal(connections, 2);
  });
});

describe("uss-client's two entry points", () => {
  it("require and import give the same classes, so instanceof works across both", async (t) => {
    const cjs = createRequire(import.meta.url)("uss-client");
    for (const name of ["UssClient", "UssError", "UssNotFoundError", "UssUnavailableError", "UssRequestError", "vwoUserStorage", "statsigPersistentStorage"]) {
      assert.equal(cjs[name], (await import("uss-client"))[name], name);
    }
    const err = await client.getAssignment("nobody", "nothing").catch((e) => e);
    assert.ok(err instanceof cjs.UssNotFoundError);
    assert.equal(typeof vwoUserStorage(client).get, "function");
    assert.equal(typeof new VwoFmeStorage(client).get, "function");
  });
});
