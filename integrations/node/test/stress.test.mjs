// 200 concurrent decisions for 50 users through two legacy VWO SDK instances sharing one uss:
// one stored variation per user and campaign, and every answer of either SDK equal to it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { Uss, sdkVersion } from "./harness/uss.mjs";
import { campaign, launch, newStorage, settings, usersIn } from "./harness/vwo.mjs";

let uss;
before(async () => {
  uss = await Uss.start();
});
after(() => uss?.close());

describe(`stress: vwo-node-sdk ${await sdkVersion("vwo-node-sdk")}, two SDK instances, one uss`, () => {
  it("answers 200 concurrent decisions for 50 users with the one variation uss stores for each", async (t) => {
    // Half the users come back: stored under yesterday's weights, which today's would
    // change. The other half are new, and both instances decide them at once.
    const yesterday = settings(50, 50);
    const today = () => settings(10, 90);
    const returning = usersIn(yesterday, "Control", 25, "stress-");
    const newUsers = Array.from({ length: 25 }, (_, i) => `stress-new-${i}`);
    const first = newStorage(uss.url, uss.apiKey);
    const sdkYesterday = launch(yesterday, first.storage);
    for (const u of returning) {
      assert.equal(await sdkYesterday.activate(campaign, u), "Control");
    }
    await first.storage.flush();
    const movedByToday = usersIn(today(), "Variation-1", 200, "stress-").filter((u) => returning.includes(u));
    assert.ok(movedByToday.length >= 10, `today's weights would move ${movedByToday.length} of the returning users`);

    const a = newStorage(uss.url, uss.apiKey);
    const b = newStorage(uss.url, uss.apiKey);
    const sdkA = launch(today(), a.storage);
    const sdkB = launch(today(), b.storage);
    const users = [...returning, ...newUsers];
    const started = performance.now();
    const decisions = await Promise.all(users.flatMap((u) => [
      sdkA.activate(campaign, u).then((v) => [u, v]),
      sdkB.activate(campaign, u).then((v) => [u, v]),
      sdkA.getVariationName(campaign, u).then((v) => [u, v]),
      sdkB.activate(campaign, u).then((v) => [u, v]),
    ]));
    await Promise.all([a.storage.flush(), b.storage.flush()]);
    t.diagnostic(`200 decisions and their writes in ${(performance.now() - started).toFixed(0)} ms`);
    assert.equal(decisions.length, 200);

    const rows = await uss.sql(
      `SELECT user_id, variation_name FROM assignments WHERE campaign_key = '${campaign}' AND user_id LIKE 'stress-%' ORDER BY user_id`);
    const stored = new Map(rows.map((r) => r.split("|")));
    assert.equal(rows.length, 50, "one row per user and campaign");
    assert.equal(stored.size, 50);
    for (const u of returning) {
      assert.equal(stored.get(u), "Control", `${u} keeps yesterday's variation`);
    }
    for (const [u, v] of decisions) {
      assert.equal(v, stored.get(u), `every answer for ${u} is the stored variation`);
    }
    assert.deepEqual([first.log.errors, a.log.errors, b.log.errors], [[], [], []]);
    for (const s of [first, a, b]) {
      s.client.close();
    }
  });
});
