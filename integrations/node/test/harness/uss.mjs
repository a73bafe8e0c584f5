// The tests' real uss: the server built from this repository, on a database of its own on
// a real PostgreSQL, created for the test file and dropped after it.
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

/** The repository's root, where `go build ./cmd/uss-server` runs. */
export const repoRoot = resolve(here, "../../../..");

/** The server binary the tests run: USS_SERVER_BIN, or the one test/build-server.mjs builds. */
export const serverBinary = process.env.USS_SERVER_BIN || resolve(here, "../../.uss-test/uss-server");

/** buildServer builds the server binary from this repository (go's cache makes a rebuild quick). */
export async function buildServer() {
  await run("go", ["build", "-o", serverBinary, "./cmd/uss-server"], { cwd: repoRoot });
}

/**
 * The PostgreSQL server the tests create their databases on: USS_TEST_DATABASE_URL (a
 * server where the user may create databases), else the local one, as the Go tests find it.
 */
const adminURL = process.env.USS_TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";

function databaseURL(name) {
  const u = new URL(adminURL);
  u.pathname = `/${name}`;
  return u.toString();
}

async function psql(sql) {
  await run("psql", [adminURL, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql]);
}

const children = new Set();
process.on("exit", () => {
  for (const child of children) {
    child.kill("SIGKILL");
  }
});

/**
 * ready resolves once uss at url answers its readiness probe: it serves before its
 * migrations are applied, answering 503 meanwhile.
 */
async function ready(url) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`uss at ${url} was not ready within 30 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** startServer runs `uss-server serve` on databaseUrl and resolves once it is ready, with its address. */
export function startServer(databaseUrl, listen = "127.0.0.1:0") {
  if (!existsSync(serverBinary)) {
    throw new Error(`${serverBinary} is missing: run node test/build-server.mjs (npm test does)`);
  }
  const child = spawn(serverBinary, ["serve"], {
    env: { ...process.env, USS_DATABASE_URL: databaseUrl, USS_LISTEN_ADDR: listen, USS_LOG_LEVEL: "info", USS_SHUTDOWN_TIMEOUT: "2s" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  children.add(child);
  let log = "";
  const exited = new Promise((resolveExit) => child.on("exit", (code, signal) => {
    children.delete(child);
    resolveExit({ code, signal });
  }));
  return new Promise((resolveStart, rejectStart) => {
    let pending = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      log += chunk;
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          const entry = JSON.parse(line);
          if (entry.msg === "serving") {
            const url = `http://${entry.addr}`;
            ready(url).then(() => resolveStart({
              url,
              addr: entry.addr,
              log: () => log,
              /** stop sends SIGTERM (uss drains and exits) and resolves once the process is gone. */
              stop: async () => {
                if (child.exitCode === null && child.signalCode === null) {
                  child.kill("SIGTERM");
                }
                await exited;
              },
            }), rejectStart);
          }
        } catch {
          // not a JSON log line
        }
      }
    });
    exited.then(({ code, signal }) => rejectStart(new Error(`uss-server exited (${code ?? signal}) before serving:\n${log}`)));
  });
}

/**
 * Uss is one test file's uss: a database of its own, the servers running on it, and an API
 * key of account "acme". close stops the servers and drops the database.
 */
export class Uss {
  static async start() {
    const name = `uss_node_${process.pid}_${randomBytes(4).toString("hex")}`;
    await psql(`CREATE DATABASE "${name}"`);
    const uss = new Uss(name);
    try {
      uss.apiKey = await uss.createApiKey("acme");
      uss.server = await uss.startServer();
    } catch (err) {
      await uss.close();
      throw err;
    }
    return uss;
  }

  constructor(name) {
    this.name = name;
    this.databaseUrl = databaseURL(name);
    this.servers = new Set();
  }

  /** The URL of the first server. */
  get url() {
    return this.server.url;
  }

  /** startServer starts another server on the same database (another replica). */
  async startServer(listen) {
    const s = await startServer(this.databaseUrl, listen);
    this.servers.add(s);
    return s;
  }

  /** createApiKey runs `uss-server apikey create --account NAME`: the key is the last line. */
  async createApiKey(account) {
    const { stdout } = await run(serverBinary, ["apikey", "create", "--account", account], {
      env: { ...process.env, USS_DATABASE_URL: this.databaseUrl },
    });
    return stdout.trim().split("\n").at(-1);
  }

  /**
   * api calls uss's HTTP API directly with fetch, not through uss-client, to check what uss
   * holds: it resolves with the status and the decoded body.
   */
  async api(method, path, body, apiKey = this.apiKey) {
    const res = await fetch(this.url + path, {
      method,
      headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text === "" ? undefined : JSON.parse(text) };
  }

  /** stored is the user's assignment in the campaign as uss's API returns it, or undefined. */
  async stored(userId, campaignKey) {
    const r = await this.api("GET", `/v1/storage?${new URLSearchParams({ userId, campaignKey })}`);
    if (r.status === 404) {
      return undefined;
    }
    if (r.status !== 200) {
      throw new Error(`GET /v1/storage: ${r.status} ${JSON.stringify(r.body)}`);
    }
    return r.body;
  }

  /** sql runs a query on the test's database and resolves with its rows, unaligned. */
  async sql(query) {
    const { stdout } = await run("psql", [this.databaseUrl, "-v", "ON_ERROR_STOP=1", "-At", "-c", query]);
    return stdout.trim() === "" ? [] : stdout.trim().split("\n");
  }

  async close() {
    await Promise.all([...this.servers].map((s) => s.stop()));
    this.servers.clear();
    await psql(`DROP DATABASE IF EXISTS "${this.name}" WITH (FORCE)`);
  }
}

/** sdkVersion is the version of an installed package, read from its package.json. */
export async function sdkVersion(name) {
  const { readFile } = await import("node:fs/promises");
  const pkg = JSON.parse(await readFile(join(here, "../../node_modules", name, "package.json"), "utf8"));
  return pkg.version;
}
