import * as http from "node:http";
import * as https from "node:https";

import { UssRequestError, UssUnavailableError, answerError } from "./errors";

/**
 * DEFAULT_TIMEOUT_MS bounds one call when no `timeoutMs` is given. SDKs call their storage
 * inline with every decision, so a slow store must not hold a decision for long.
 */
export const DEFAULT_TIMEOUT_MS = 2000;

export interface UssClientOptions {
  /** The uss server, such as "http://127.0.0.1:8080"; a path prefix is kept, for a server behind a gateway. */
  url: string;
  /** An API key (`uss-server apikey create --account NAME` prints one). */
  apiKey: string;
  /**
   * Bounds every call (connecting, sending and reading the answer), in milliseconds; a call
   * whose signal aborts earlier ends then. 0 means no bound but the signal's. Default 2000.
   */
  timeoutMs?: number;
  /**
   * The agent to send requests through (proxies, TLS settings, instrumentation). By default
   * the client has a keep-alive agent of its own.
   */
  agent?: http.Agent;
}

/** Options of one call. */
export interface CallOptions {
  /** Aborts the call: it then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** One user's variation in one campaign: VWO's user storage record. */
export interface Assignment {
  userId: string;
  campaignKey: string;
  variationName: string;
  /**
   * The converted goals joined by "_vwo_"; "" when none. On a write with an unchanged
   * variation, uss adds these goals to the stored ones.
   */
  goalIdentifier: string;
}

/** An assignment to store; goals may be left out. */
export type AssignmentInput = Omit<Assignment, "goalIdentifier"> & { goalIdentifier?: string };

/** What a delete removed, in rows. Deleting what is not there removes nothing and is not an error. */
export interface Deleted {
  assignments: number;
  conversions: number;
  persistedValues: number;
  /** Rows of the other SDKs' storage an erasure removed. */
  vwoFmeRecords: number;
  growthbookAssignments: number;
  optimizelyDecisions: number;
}

/** A JSON object. */
export type JsonObject = { [field: string]: unknown };

/**
 * GrowthBook's sticky-bucket document: for one attribute of a user, the variation key of
 * each "<experimentKey>__<bucketVersion>".
 */
export interface StickyBucketDocument {
  attributeName: string;
  attributeValue: string;
  assignments: Record<string, string>;
}

/**
 * An Optimizely user profile, in the shape of Optimizely's SDKs and Agent: the variation id
 * each experiment (by id) bucketed the user into.
 */
export interface UserProfile {
  user_id: string;
  experiment_bucket_map: Record<string, { variation_id: string }>;
}

type Query = Record<string, string>;

/**
 * UssClient calls one uss server with one API key. Every method returns a promise and
 * rejects with a `UssError` (see errors.ts for which class means what). It keeps
 * connections alive between calls and is safe to share: create one per process.
 */
export class UssClient {
  private readonly transport: typeof http | typeof https;
  private readonly host: string;
  private readonly port: string;
  private readonly prefix: string;
  private readonly auth: string;
  private readonly timeoutMs: number;
  private readonly agent: http.Agent;
  private readonly ownAgent: boolean;

  constructor(options: UssClientOptions) {
    let u: URL;
    try {
      u = new URL(options.url);
    } catch {
      throw new TypeError(`uss client: url ${JSON.stringify(options.url)} is not a URL`);
    }
    if ((u.protocol !== "http:" && u.protocol !== "https:") || u.hostname === "" || u.search !== "" || u.hash !== "" || u.username !== "") {
      throw new TypeError(`uss client: url ${JSON.stringify(options.url)} must be http(s)://host[:port][/prefix]`);
    }
    if (!options.apiKey) {
      throw new TypeError("uss client: apiKey is empty");
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new TypeError(`uss client: timeoutMs must be 0 or more, got ${timeoutMs}`);
    }
    this.transport = u.protocol === "https:" ? https : http;
    this.host = u.hostname.replace(/^\[(.*)\]$/, "$1");
    this.port = u.port;
    this.prefix = u.pathname.replace(/\/+$/, "");
    this.auth = `Bearer ${options.apiKey}`;
    this.timeoutMs = timeoutMs;
    this.ownAgent = options.agent === undefined;
    // SDKs decide for many requests at once: keep connections alive, and as many idle as a
    // busy process reuses, rather than open one per call. Idle connections are closed after
    // 30 s, before uss's own idle timeout (USS_IDLE_TIMEOUT, 75 s by default) can close one
    // as a call starts on it.
    this.agent = options.agent ?? new this.transport.Agent({ keepAlive: true, maxFreeSockets: 64, scheduling: "lifo", timeout: 30_000 });
  }

  /** Closes the client's idle connections; later calls open new ones. An agent given in the options is left alone. */
  close(): void {
    if (this.ownAgent) {
      this.agent.destroy();
    }
  }

  // --- VWO user storage -------------------------------------------------------------------

  /** The user's assignment in the campaign; rejects with `UssNotFoundError` when there is none. */
  getAssignment(userId: string, campaignKey: string, options?: CallOptions): Promise<Assignment> {
    return this.call("get assignment", "GET", "/v1/storage", { userId, campaignKey }, undefined, options);
  }

  /**
   * Stores one assignment (an upsert) and returns the record as stored, whose goals are the
   * union of the stored and the given ones when the variation is unchanged.
   */
  setAssignment(assignment: AssignmentInput, options?: CallOptions): Promise<Assignment> {
    return this.call("set assignment", "POST", "/v1/storage", undefined, assignmentBody(assignment), options);
  }

  /**
   * Stores the assignment only if the user has none in the campaign, and returns the record
   * stored. The first writer wins: when another variation is stored, nothing changes and that
   * record comes back, so an SDK that raced another instance to store a new user's first
   * variation can use the stored variation instead of its own. A record of the stored
   * variation still adds its goals.
   */
  setAssignmentIfAbsent(assignment: AssignmentInput, options?: CallOptions): Promise<Assignment> {
    return this.call("set assignment if absent", "POST", "/v1/storage", undefined, { ...assignmentBody(assignment), ifAbsent: true }, options);
  }

  /**
   * The user's assignments in campaignKeys, in one database round trip; campaigns without
   * one are absent. Leave campaignKeys out (or null) for all of the user's campaigns.
   */
  async getAssignments(userId: string, campaignKeys?: string[] | null, options?: CallOptions): Promise<Assignment[]> {
    const body = campaignKeys == null ? { userId } : { userId, campaignKeys };
    const out = await this.call<{ records: Assignment[] }>("get assignments", "POST", "/v1/storage/batch-get", undefined, body, options);
    return out.records;
  }

  /** Stores up to 1000 assignments, all or none, and returns them as stored, in order. */
  async setAssignments(assignments: AssignmentInput[], options?: CallOptions): Promise<Assignment[]> {
    const body = { records: assignments.map(assignmentBody) };
    const out = await this.call<{ records: Assignment[] }>("set assignments", "POST", "/v1/storage/batch-set", undefined, body, options);
    return out.records;
  }

  /** setAssignments with setAssignmentIfAbsent's rule for every record: stored variations are kept, and the records come back as stored. */
  async setAssignmentsIfAbsent(assignments: AssignmentInput[], options?: CallOptions): Promise<Assignment[]> {
    const body = { records: assignments.map(assignmentBody), ifAbsent: true };
    const out = await this.call<{ records: Assignment[] }>("set assignments if absent", "POST", "/v1/storage/batch-set", undefined, body, options);
    return out.records;
  }

  /** Removes the user's assignment in the campaign (and its conversions). */
  async deleteAssignment(userId: string, campaignKey: string, options?: CallOptions): Promise<Deleted> {
    const out = await this.call<{ deleted: Deleted }>("delete assignment", "DELETE", "/v1/storage", { userId, campaignKey }, undefined, options);
    return out.deleted;
  }

  /**
   * Removes everything uss holds about the user in the account (assignments, conversions,
   * persisted values, VWO FME records, GrowthBook sticky buckets, the Optimizely profile):
   * a privacy erasure.
   */
  async eraseUser(userId: string, options?: CallOptions): Promise<Deleted> {
    const out = await this.call<{ deleted: Deleted }>("erase user", "DELETE", "/v1/storage", { userId }, undefined, options);
    return out.deleted;
  }

  // --- Statsig persisted values -----------------------------------------------------------

  /**
   * Every config's persisted value under a Statsig storage key ("<unitID>:<idType>"), by
   * config name; rejects with `UssNotFoundError` when there is none.
   */
  async loadPersistedValues(key: string, options?: CallOptions): Promise<Record<string, JsonObject>> {
    const out = await this.call<{ values: Record<string, JsonObject> }>("load persisted values", "GET", "/v1/persisted-values", { key }, undefined, options);
    return out.values;
  }

  /** Stores (or replaces) one config's value, a JSON object, under key. */
  async savePersistedValue(key: string, configName: string, value: object, options?: CallOptions): Promise<void> {
    await this.call("save persisted value", "PUT", "/v1/persisted-values", { key, configName }, value, options);
  }

  /** Removes one config's value under key. */
  async deletePersistedValue(key: string, configName: string, options?: CallOptions): Promise<Deleted> {
    const out = await this.call<{ deleted: Deleted }>("delete persisted value", "DELETE", "/v1/persisted-values", { key, configName }, undefined, options);
    return out.deleted;
  }

  // --- VWO FME ----------------------------------------------------------------------------

  /**
   * The record a VWO FME SDK saved for the user and feature, as it was saved; rejects with
   * `UssNotFoundError` when there is none.
   */
  getVwoFmeRecord(featureKey: string, userId: string, options?: CallOptions): Promise<JsonObject> {
    return this.call("get vwo fme record", "GET", "/v1/vwo-fme/storage", { featureKey, userId }, undefined, options);
  }

  /**
   * Replaces the user's record of a feature with record, a JSON object whose `featureKey`
   * and `userId` are strings, and returns it as stored.
   */
  saveVwoFmeRecord(record: JsonObject, options?: CallOptions): Promise<JsonObject> {
    return this.call("save vwo fme record", "POST", "/v1/vwo-fme/storage", undefined, record, options);
  }

  // --- GrowthBook -------------------------------------------------------------------------

  /** The document of one attribute; rejects with `UssNotFoundError` when it has no assignment. */
  getStickyBuckets(attributeName: string, attributeValue: string, options?: CallOptions): Promise<StickyBucketDocument> {
    return this.call("get sticky buckets", "GET", "/v1/growthbook/sticky-buckets", { attributeName, attributeValue }, undefined, options);
  }

  /**
   * The documents of several attributes (name to value, at most 1000) in one call, by
   * "<attributeName>||<attributeValue>"; attributes without assignments are absent.
   */
  async getAllStickyBuckets(attributes: Record<string, string>, options?: CallOptions): Promise<Record<string, StickyBucketDocument>> {
    const out = await this.call<{ documents: Record<string, StickyBucketDocument> }>(
      "get all sticky buckets", "POST", "/v1/growthbook/sticky-buckets/batch-get", undefined, { attributes }, options);
    return out.documents;
  }

  /** Stores every assignment of doc, keeping the document's other assignments, and returns the document as it then stands. */
  saveStickyBuckets(doc: StickyBucketDocument, options?: CallOptions): Promise<StickyBucketDocument> {
    const body = { attributeName: doc.attributeName, attributeValue: doc.attributeValue, assignments: doc.assignments ?? {} };
    return this.call("save sticky buckets", "PUT", "/v1/growthbook/sticky-buckets", undefined, body, options);
  }

  // --- Optimizely -------------------------------------------------------------------------

  /** The user's profile; a user never saved has an empty `experiment_bucket_map` (this is not an error). */
  lookupUserProfile(userId: string, options?: CallOptions): Promise<UserProfile> {
    return this.call("lookup user profile", "POST", "/v1/optimizely/profiles/lookup", undefined, { user_id: userId }, options);
  }

  /** Stores every experiment's variation of profile, keeping the user's other experiments, and returns the profile as it then stands. */
  saveUserProfile(profile: UserProfile, options?: CallOptions): Promise<UserProfile> {
    const body = { user_id: profile.user_id, experiment_bucket_map: profile.experiment_bucket_map ?? {} };
    return this.call("save user profile", "POST", "/v1/optimizely/profiles/save", undefined, body, options);
  }

  // --- transport --------------------------------------------------------------------------

  /**
   * call sends one request and resolves with the decoded 2xx JSON answer. op names the call
   * in errors; the query string stays out of them, since it holds user ids.
   */
  private call<T>(op: string, method: string, path: string, query: Query | undefined, body: unknown, options?: CallOptions): Promise<T> {
    const signal = options?.signal;
    if (signal?.aborted) {
      return Promise.reject(signal.reason);
    }
    let payload: Buffer | undefined;
    try {
      payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    } catch (err) {
      // A cycle or a BigInt: nothing was sent.
      return Promise.reject(new UssRequestError(op, `encode request: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
    }
    const headers: http.OutgoingHttpHeaders = { Authorization: this.auth, Accept: "application/json" };
    if (payload !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = payload.length;
    }
    const target: http.RequestOptions = {
      method,
      host: this.host,
      port: this.port || undefined,
      path: this.prefix + path + (query ? `?${new URLSearchParams(query).toString()}` : ""),
      headers,
      agent: this.agent,
    };

    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let req: http.ClientRequest | undefined;
      let timer: NodeJS.Timeout | undefined;
      const finish = (err: unknown, value?: T) => {
        if (settled) {
          return;
        }
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (err !== undefined) {
          req?.destroy();
          reject(err);
        } else {
          resolve(value as T);
        }
      };
      const onAbort = () => finish(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (this.timeoutMs > 0) {
        timer = setTimeout(() => finish(new UssUnavailableError(op, `no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      }

      const send = (retried: boolean) => {
        const r = this.transport.request(target);
        req = r;
        let answered = false;
        r.on("response", (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString("utf8");
            if (status < 200 || status > 299) {
              finish(answerError(op, status, text));
              return;
            }
            try {
              finish(undefined, JSON.parse(text) as T);
            } catch (err) {
              // A 2xx whose body did not arrive whole: the call's outcome is unknown, as
              // with a broken connection.
              finish(new UssUnavailableError(op, "decode answer: the body is not JSON", { status, cause: err }));
            }
          });
          res.on("error", (err) => finish(new UssUnavailableError(op, `read answer: ${err.message}`, { cause: err })));
          res.on("close", () => {
            if (!res.complete) {
              finish(new UssUnavailableError(op, "read answer: the connection closed before the answer was whole"));
            }
          });
        });
        r.on("error", (err: NodeJS.ErrnoException) => {
          // A kept-alive connection the server closed while idle fails the next request on
          // it before any answer. Every uss route is safe to send twice (upserts, merges,
          // deletes), so that request is sent once more, on a new connection.
          if (!settled && !retried && !answered && r.reusedSocket && (err.code === "ECONNRESET" || err.code === "EPIPE")) {
            send(true);
            return;
          }
          finish(new UssUnavailableError(op, err.message || String(err.code), { cause: err }));
        });
        r.end(payload);
      };
      send(false);
    });
  }
}

/** assignmentBody keeps the four fields uss's record has: uss refuses unknown fields. */
function assignmentBody(a: AssignmentInput): AssignmentInput {
  const body: AssignmentInput = { userId: a.userId, campaignKey: a.campaignKey, variationName: a.variationName };
  if (a.goalIdentifier != null) {
    body.goalIdentifier = a.goalIdentifier;
  }
  return body;
}
