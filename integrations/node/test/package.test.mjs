// The package as users get it: packed with npm pack, installed from the tarball into a
// program that has none of the SDKs, loaded both ways.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const run = promisify(execFile);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

let dir;
let packed;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "uss-client-package-"));
  // --ignore-scripts: the build is there already (npm test builds first).
  const { stdout } = await run(npm, ["pack", "--json", "--ignore-scripts", "--pack-destination", dir], { cwd: root });
  packed = JSON.parse(stdout)[0];
  const program = join(dir, "program");
  await mkdir(program);
  await writeFile(join(program, "package.json"), JSON.stringify({ name: "program", private: true }));
  await run(npm, ["install", "--offline", "--no-audit", "--no-fund", join(dir, packed.filename)], { cwd: program });
});
after(() => rm(dir, { recursive: true, force: true }));

describe("the packed package", () => {
  it("holds the build, its declarations, the ES module entry and the README, and no tests or sources", () => {
    const files = packed.files.map((f) => f.path).sort();
    for (const f of ["package.json", "README.md", "dist/index.js", "dist/index.d.ts", "esm/index.mjs", "esm/index.d.mts"]) {
      assert.ok(files.includes(f), f);
    }
    assert.deepEqual(files.filter((f) => /^(src|test|examples|bench)\//.test(f)), []);
  });

  it("installs with no dependency and loads without any SDK, by import and by require", async () => {
    const program = join(dir, "program");
    assert.deepEqual((await readdir(join(program, "node_modules"))).filter((f) => !f.startsWith(".")), ["uss-client"], "nothing else installed");
    const script = `
      import { createRequire } from "node:module";
      const esm = await import("uss-client");
      const cjs = createRequire(import.meta.url)("uss-client");
      const client = new esm.UssClient({ url: "http://127.0.0.1:9", apiKey: "k", timeoutMs: 200 });
      const fme = new esm.VwoFmeStorage(client, { onError: null });
      const gb = new cjs.GrowthBookStickyBucketService(client, { onError: null });
      console.log(JSON.stringify({
        same: esm.UssClient === cjs.UssClient,
        fme: await fme.get("f", "u"),
        gb: await gb.getAllAssignments({ id: "u" }),
        vwo: (await esm.vwoUserStorage(client, { onError: null }).get("u", "c")) ?? "none",
      }));
      client.close();`;
    await writeFile(join(program, "main.mjs"), script);
    const { stdout } = await run(process.execPath, ["main.mjs"], { cwd: program });
    assert.deepEqual(JSON.parse(stdout), { same: true, fme: null, gb: {}, vwo: "none" }, "uss unreachable: every adapter fails open");
  });
});
