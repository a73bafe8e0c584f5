// Measures what uss-client adds to a read: µs per get of one stored assignment against a
// local uss (built from this repository, on the local PostgreSQL), sequentially, for a raw
// fetch of the route, a raw node:http request on a keep-alive agent, UssClient.getAssignment
// and the VWO adapter's get. Prints figures; asserts nothing.
//
//   cd integrations/node && npm run bench          # about 20 s; BENCH_GETS=N changes the count
import http from "node:http";
import { performance } from "node:perf_hooks";

import { UssClient, vwoUserStorage } from "uss-client";

import { Uss } from "../test/harness/uss.mjs";

const gets = Number(process.env.BENCH_GETS ?? 4000);
const rounds = 8;
const uss = await Uss.start();
try {
  const path = `/v1/storage?${new URLSearchParams({ userId: "bench-user", campaignKey: "checkout" })}`;
  const headers = { Authorization: `Bearer ${uss.apiKey}`, Accept: "application/json" };
  await uss.api("POST", "/v1/storage", { userId: "bench-user", campaignKey: "checkout", variationName: "Control" });

  const client = new UssClient({ url: uss.url, apiKey: uss.apiKey });
  const storage = vwoUserStorage(client, { onError: (err) => { throw err; } });
  const agent = new http.Agent({ keepAlive: true });
  const { hostname, port } = new URL(uss.url);

  const ways = {
    "raw fetch (undici, the route by hand)": async () => {
      const res = await fetch(uss.url + path, { headers });
      return (await res.json()).variationName;
    },
    "raw node:http, keep-alive agent": () => new Promise((resolve, reject) => {
      http.get({ hostname, port, path, headers, agent }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (c) => (body += c)).on("end", () => resolve(JSON.parse(body).variationName));
      }).on("error", reject);
    }),
    "UssClient.getAssignment": async () => (await client.getAssignment("bench-user", "checkout")).variationName,
    "vwoUserStorage(client).get (the adapter)": async () => (await storage.get("bench-user", "checkout")).variationName,
  };

  const samples = Object.fromEntries(Object.keys(ways).map((name) => [name, []]));
  for (const [name, get] of Object.entries(ways)) {
    for (let i = 0; i < 300; i++) {
      if ((await get()) !== "Control") throw new Error(`${name}: wrong answer`);
    }
  }
  // Rounds interleave the ways, so that a drift of the machine's load spreads over all.
  for (let round = 0; round < rounds; round++) {
    for (const [name, get] of Object.entries(ways)) {
      for (let i = 0; i < gets / rounds; i++) {
        const t0 = performance.now();
        await get();
        samples[name].push((performance.now() - t0) * 1000);
      }
    }
  }

  const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
    return { mean: s.reduce((a, b) => a + b, 0) / s.length, p50: at(0.5), p99: at(0.99) };
  };
  console.log(`uss-client: µs per get of one stored assignment, ${gets} sequential gets each, against uss on 127.0.0.1 (Node ${process.version})`);
  console.log(`${"".padEnd(44)}${"mean".padStart(8)}${"p50".padStart(8)}${"p99".padStart(8)}`);
  const medians = {};
  for (const [name, xs] of Object.entries(samples)) {
    const s = stats(xs);
    medians[name] = s.p50;
    console.log(`${name.padEnd(44)}${s.mean.toFixed(0).padStart(8)}${s.p50.toFixed(0).padStart(8)}${s.p99.toFixed(0).padStart(8)}`);
  }
  // Medians: the means and tails move with whatever else the machine runs.
  const [rawFetch, rawHttp, viaClient, viaAdapter] = Object.values(medians);
  const diff = (a, b) => `${a - b >= 0 ? "+" : ""}${(a - b).toFixed(0)} µs`;
  console.log(`per get, by medians: adapter vs raw fetch ${diff(viaAdapter, rawFetch)}; adapter vs raw node:http ${diff(viaAdapter, rawHttp)}; adapter vs client ${diff(viaAdapter, viaClient)}`);
  client.close();
  agent.destroy();
} finally {
  await uss.close();
}
