// The runnable examples, each run as its users run it (a process of its own) against a real
// uss; and the README shows each of them whole.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";

import { Uss } from "./harness/uss.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const run = promisify(execFile);

let uss;
let apiKey;
let sink;
let sinkURL;
before(async () => {
  uss = await Uss.start();
  apiKey = await uss.createApiKey("dev");
  // VWO's collection servers are not reachable from tests: the FME SDK's events go here,
  // as to a VWO gateway service.
  sink = createServer((req, res) => {
    req.resume().on("end", () => res.end("{}"));
  });
  await new Promise((resolve) => sink.listen(0, "127.0.0.1", resolve));
  sinkURL = `http://127.0.0.1:${sink.address().port}`;
});
after(async () => {
  sink?.close();
  await uss?.close();
});

/** example runs examples/<name>.mjs for user-1 and resolves with its output, less the VWO SDK's launch notices. */
async function example(name, env = { USS_URL: uss.url, USS_API_KEY: apiKey, VWO_GATEWAY_URL: sinkURL }) {
  const { stdout, stderr } = await run(process.execPath, [join(root, "examples", `${name}.mjs`), "user-1"], {
    cwd: root, env: { ...process.env, ...env }, timeout: 30_000,
  });
  assert.equal(stderr, "");
  // The legacy VWO SDK prints the options it was launched with, whatever its logger.
  return stdout.split("\n").filter((line) => !line.startsWith("VWO-SDK - [INFO]")).join("\n");
}

describe("the examples", () => {
  it("vwo.mjs stores the variation and the goal in uss, and a second run reads them back", async () => {
    const first = await example("vwo");
    const m = first.match(/^variation: (Control|Variation-1)\npurchase tracked: true\nstored in uss: variation=(\S+) goals=purchase\n$/);
    assert.ok(m, first);
    assert.equal(m[2], m[1], "uss holds the variation the SDK chose");
    assert.equal(await example("vwo"), first.replace("purchase tracked: true", "purchase tracked: false"),
      "the second run finds the variation and the converted goal in uss");
  });

  it("vwofme.mjs stores the record in uss, and a second run reads it back", async () => {
    const first = await example("vwofme");
    const m = first.match(/^button color: (blue|green)\nstored in uss: (\{.*\})\n$/);
    assert.ok(m, first);
    const record = JSON.parse(m[2]);
    assert.equal(record.experimentKey, "checkout_test");
    assert.equal(record.experimentVariationId, { blue: 1, green: 2 }[m[1]], "uss holds the variation the SDK chose");
    assert.equal(await example("vwofme"), first);
    // The SDK sends its impressions without waiting, and the example exits when its decision
    // is stored: whether an impression reached the gateway before the exit is a race, so it
    // is not asserted here (the gateway is there to keep the SDK off the network).
  });

  it("statsig.mjs saves the group in uss, and a second run keeps it", async () => {
    const first = await example("statsig");
    const m = first.match(/^group: (Control|Test) \(color (blue|green), reason Bootstrap\)\nstored in uss: group=(\w+) rule=rule_(control|test)\n$/);
    assert.ok(m, first);
    assert.equal(m[3], m[1]);
    assert.equal(await example("statsig"), first.replace("reason Bootstrap", "reason Persisted"));
  });

  it("growthbook.mjs stores the variation in uss, and a second run evaluates from the sticky bucket", async () => {
    const first = await example("growthbook");
    const m = first.match(/^button color: (blue|green) \(from a sticky bucket: false\)\nstored in uss: \{"checkout-exp__0":"(control|treatment)"\}\n$/);
    assert.ok(m, first);
    assert.equal(m[2], { blue: "control", green: "treatment" }[m[1]]);
    assert.equal(await example("growthbook"), first.replace("sticky bucket: false", "sticky bucket: true"));
  });

  it("each says what is missing when USS_API_KEY is not set", async () => {
    for (const name of ["vwo", "vwofme", "statsig", "growthbook"]) {
      await assert.rejects(example(name, { USS_API_KEY: "" }), (err) => err.code === 1 && /USS_API_KEY: make run prints one/.test(err.stderr));
    }
  });

  it("are shown whole in the README, so what readers copy is what runs here", async () => {
    const readme = await readFile(join(root, "README.md"), "utf8");
    for (const name of ["vwo", "vwofme", "statsig", "growthbook"]) {
      const program = await readFile(join(root, "examples", `${name}.mjs`), "utf8");
      assert.ok(readme.includes("```js\n" + program + "```\n"), `README.md must show examples/${name}.mjs whole in a js code block: copy it there again`);
    }
  });
});
