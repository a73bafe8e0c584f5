import type { StorageConnector } from "vwo-fme-node-sdk";

import type { JsonObject, UssClient } from "./client";
import { UssNotFoundError } from "./errors";
import { type AdapterOptions, type Entries, FailOpen, guardKey } from "./failopen";
import { sdkClass } from "./sdk";

/** What VwoFmeStorage adds to the SDK's storage connector. */
export interface VwoFmeStorage extends StorageConnector {
  /**
   * The stored record, or null when there is none or when uss cannot be read (the adapter
   * then drops this user's writes of the feature for a while). Never rejects: the SDK would
   * only log it, and the error handler has it.
   */
  get(featureKey: string, userId: string): Promise<JsonObject | null>;
  /** Replaces the user's record of the feature with data, whole. Never rejects: errors go to the error handler. */
  set(data: JsonObject): Promise<void>;
  /** Resolves once every write sent so far has finished: await it before the process exits. */
  flush(): Promise<void>;
}

export interface VwoFmeStorageConstructor {
  new (client: UssClient, options?: AdapterOptions): VwoFmeStorage;
  readonly prototype: VwoFmeStorage;
}

/**
 * defineVwoFmeStorage makes the class on the SDK's Connector as the program loads it: the
 * SDK's CommonJS and ES module builds each have their own.
 */
export function defineVwoFmeStorage(Connector: abstract new () => StorageConnector): VwoFmeStorageConstructor {
  class VwoFmeStorage extends Connector {
    private readonly client: UssClient;
    private readonly fo: FailOpen;

    constructor(client: UssClient, options?: AdapterOptions) {
      super();
      this.client = client;
      this.fo = new FailOpen("uss-client VwoFmeStorage", options);
    }

    async get(featureKey: string, userId: string): Promise<JsonObject | null> {
      const key = guardKey(userId, featureKey);
      await this.fo.written(key);
      try {
        const record = await this.client.getVwoFmeRecord(featureKey, userId);
        this.fo.guard.readSucceeded(key, fields(record));
        return record;
      } catch (err) {
        if (err instanceof UssNotFoundError) {
          this.fo.guard.readSucceeded(key, null);
        } else {
          this.fo.guard.readFailed(key);
          this.fo.report(err);
        }
        return null;
      }
    }

    set(data: JsonObject): Promise<void> {
      const key = guardKey(String(data.userId), String(data.featureKey));
      if (!this.fo.guard.replaceAllowed(key, fields(data))) {
        this.fo.skipped("save vwo fme record");
        return Promise.resolve();
      }
      return this.fo.write(key, () => this.client.saveVwoFmeRecord(data));
    }

    flush(): Promise<void> {
      return this.fo.flush();
    }
  }
  return VwoFmeStorage;
}

/**
 * VwoFmeStorage keeps the storage of VWO's FME Node SDK (`vwo-fme-node-sdk`) in uss, so
 * that every server running the SDK gives a user the variation stored the first time, even
 * after the flag's rules or traffic change. Pass an instance as the `storage` option of
 * `init`; the SDK keeps one storage for the whole process (the last `init` given one sets it
 * for every client), so give every client of a process the same one.
 *
 * The SDK saves a record per user and feature after each decision that enables the flag
 * (and one per user and mutually exclusive group, under the feature key
 * "_vwo_meta_meg_<groupId>"), replacing it whole; uss stores it whole.
 *
 * When uss cannot be read, get answers "nothing stored" and the SDK decides as it would
 * without storage (fail open). The adapter then drops, for the failed-read memory, every
 * set of that user and feature that could replace what could not be read: one goes through
 * only when a later, successful get shows that it keeps every field stored with its value
 * (adding fields is fine) or that nothing is stored.
 */
export const VwoFmeStorage: VwoFmeStorageConstructor = defineVwoFmeStorage(
  sdkClass<typeof StorageConnector>("vwo-fme-node-sdk", "StorageConnector"),
);

/**
 * fields is a record as the guard compares it: each field's JSON encoding. Fields JSON
 * leaves out (undefined) are not sent, so they are not compared either; a value that cannot
 * be encoded is a NUL, which no encoding holds, so it equals nothing stored.
 */
function fields(record: JsonObject): Entries {
  const out: Entries = {};
  for (const [k, v] of Object.entries(record)) {
    let encoded: string | undefined;
    try {
      encoded = JSON.stringify(v);
    } catch {
      encoded = "\u0000";
    }
    if (encoded !== undefined) {
      out[k] = encoded;
    }
  }
  return out;
}
