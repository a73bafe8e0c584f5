// The failed-read guard every adapter shares, on its own (no server): the same rules as the
// Go adapters' internal/failopen.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { FailOpen, Guard } from "../dist/failopen.js";
import { Clock } from "./harness/errors.mjs";

const variation = (name) => ({ variationName: name });

function newGuard(memoryMs, maxKeys) {
  const clock = new Clock();
  return { g: new Guard(memoryMs, maxKeys, clock.now), clock };
}

describe("the failed-read guard", () => {
  it("refuses the writes of a key whose read failed until the memory ends", () => {
    const { g, clock } = newGuard(60_000, 10);
    assert.ok(g.writeAllowed("u1/c", variation("Control")));
    g.readFailed("u1/c");
    assert.ok(!g.writeAllowed("u1/c", variation("Control")));
    assert.ok(!g.writeAllowed("u1/c", variation("Control")), "every write of the key, not just the first");
    assert.ok(g.writeAllowed("u2/c", variation("Control")), "other keys write as usual");
    clock.advance(59_999);
    assert.ok(!g.writeAllowed("u1/c", variation("Control")));
    clock.advance(1);
    assert.ok(g.writeAllowed("u1/c", variation("Control")), "forgotten once the memory is over");
    assert.equal(g.size, 0);
  });

  it("extends the memory of a key that fails again", () => {
    const { g, clock } = newGuard(60_000, 10);
    g.readFailed("a");
    g.readFailed("b");
    clock.advance(40_000);
    g.readFailed("a");
    clock.advance(30_000);
    assert.ok(!g.writeAllowed("a", variation("V")), "failed again 30 s ago");
    assert.ok(g.writeAllowed("b", variation("V")), "failed 70 s ago");
    assert.equal(g.size, 1);
  });

  it("refuses every write when full rather than forget a key", () => {
    const { g, clock } = newGuard(60_000, 3);
    for (const k of ["k0", "k1", "k2"]) {
      g.readFailed(k);
    }
    assert.ok(g.writeAllowed("unrelated", variation("V")));
    clock.advance(10_000);
    g.readFailed("k3"); // no room
    assert.equal(g.size, 3, "the set stays bounded");
    for (const k of ["k0", "k1", "k2", "k3", "unrelated"]) {
      assert.ok(!g.writeAllowed(k, variation("V")), k);
    }
    clock.advance(60_000);
    assert.ok(g.writeAllowed("k3", variation("V")), "everything is forgotten a memory after the overflow");
    assert.ok(g.writeAllowed("unrelated", variation("V")));
    assert.equal(g.size, 0);
    clock.advance(1_000);
    g.readFailed("k4");
    assert.ok(!g.writeAllowed("k4", variation("V")), "room again once old keys expired");
    assert.ok(g.writeAllowed("k0", variation("V")));
  });

  it("after a failed read, lets through only a write of what a later read found", () => {
    const { g, clock } = newGuard(60_000, 10);
    g.readSucceeded("u/c", variation("Control"));
    assert.ok(g.writeAllowed("u/c", variation("Variation-1")), "a success without an earlier failure changes nothing");
    g.readFailed("u/c");
    assert.ok(!g.writeAllowed("u/c", variation("Control")), "nothing is known of the stored value yet");
    g.readSucceeded("u/c", variation("Control"));
    assert.ok(g.writeAllowed("u/c", variation("Control")), "the stored variation again: goals merge, nothing is replaced");
    assert.ok(!g.writeAllowed("u/c", variation("Variation-1")), "a decision made while the read failed must not replace what is stored");
    g.readFailed("u/c");
    assert.ok(!g.writeAllowed("u/c", variation("Control")), "a new failure forgets what was read before it");
    clock.advance(60_000);
    assert.ok(g.writeAllowed("u/c", variation("Variation-1")));
  });

  it("after a failed read, lets a document write add entries but change none a later read found", () => {
    const { g } = newGuard(60_000, 10);
    g.readFailed("id||u");
    assert.ok(!g.writeAllowed("id||u", { "new__0": "1" }), "nothing is known of the document yet");
    g.readSucceeded("id||u", { "a__0": "1", "b__0": "0" });
    assert.ok(g.writeAllowed("id||u", { "a__0": "1", "new__0": "1" }), "an experiment the document did not hold is added");
    assert.ok(g.writeAllowed("id||u", { "new__0": "1" }), "entries not written are kept by uss");
    assert.ok(!g.writeAllowed("id||u", { "a__0": "2", "new__0": "1" }), "a variation decided during the failure must not replace the one stored");
    g.readSucceeded("id||u", null);
    assert.ok(g.writeAllowed("id||u", { "a__0": "2" }), "a later read found nothing stored: nothing to replace");
  });

  it("after a failed read, lets a whole replacement through only if it keeps every entry a later read found", () => {
    const { g } = newGuard(60_000, 10);
    g.readFailed("u/f");
    assert.ok(!g.replaceAllowed("u/f", { featureId: "1" }));
    g.readSucceeded("u/f", { featureId: "1", rolloutKey: '"r"' });
    assert.ok(g.replaceAllowed("u/f", { featureId: "1", rolloutKey: '"r"', experimentKey: '"e"' }), "it adds fields and keeps the others");
    assert.ok(!g.replaceAllowed("u/f", { featureId: "1" }), "it would drop a field that read found");
    assert.ok(!g.replaceAllowed("u/f", { featureId: "2", rolloutKey: '"r"' }), "it would change one");
    assert.ok(g.replaceAllowed("other", {}), "other keys write as usual");
  });
});

describe("an adapter's writes", () => {
  it("never reject, report their errors, and are waited for by flush and by reads of their key", async () => {
    const reported = [];
    const fo = new FailOpen("test", { onError: (err) => reported.push(err.message) });
    let release;
    const slow = new Promise((resolve) => (release = resolve));
    const order = [];
    const write = fo.write("k", () => slow.then(() => order.push("written")));
    const failing = fo.write("other", () => Promise.reject(new Error("uss down")));
    const read = fo.written("k").then(() => order.push("read"));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, [], "the read waits for the write of its key");
    release();
    await Promise.all([write, failing, read, fo.flush()]);
    assert.deepEqual(order, ["written", "read"]);
    assert.deepEqual(reported, ["uss down"]);
    await fo.written("k"); // nothing in flight: resolves at once
  });

  it("survive an error handler that throws", async () => {
    const fo = new FailOpen("test", { onError: () => { throw new Error("handler bug"); } });
    await fo.write("k", () => Promise.reject(new Error("uss down")));
  });
});
