import type { JsonObject, UssClient } from "./client";
import { UssError, UssNotFoundError } from "./errors";
import { type AdapterOptions, FailOpen } from "./failopen";

/** A Statsig sticky evaluation (statsig-node's StickyValues), as stored. */
export type StatsigStickyValues = JsonObject;

/** Persisted values by config name (statsig-node's UserPersistedValues). */
export type StatsigPersistedValues = Record<string, StatsigStickyValues>;

/**
 * The persistent storage of `statsig-node`: its `userPersistentStorage` option.
 *
 * statsig-node declares `load` synchronous; this one returns a promise, which the SDK's
 * `getUserPersistedValues` hands back as it is: await it. (TypeScript: pass the storage as
 * `storage as unknown as StatsigOptions["userPersistentStorage"]`.)
 */
export interface StatsigPersistentStorage {
  /**
   * Every persisted value under key ("<unitID>:<idType>"), {} when there is none or when it
   * cannot be read (the adapter then drops this key's writes for a while). Never rejects.
   */
  load(key: string): Promise<StatsigPersistedValues>;
  /** Stores one experiment's sticky evaluation under key; the SDK does not wait for it. */
  save(key: string, configName: string, data: StatsigStickyValues): void;
  /** Removes one experiment's sticky evaluation under key; the SDK does not wait for it. */
  delete(key: string, configName: string): void;
  /** Resolves once every write sent so far has finished: await it before the process exits. */
  flush(): Promise<void>;
}

/**
 * statsigPersistentStorage keeps statsig-node's persisted values (sticky experiment
 * assignments) in uss, so that every server running the SDK gives a user the group saved
 * the first time, even after the experiment's allocation changes.
 *
 * The SDK never loads persisted values by itself: load them for each evaluation and pass
 * them in, and evaluate sticky experiments only that way:
 *
 *     const persisted = await statsig.getUserPersistedValues(user, "userID");
 *     const exp = statsig.getExperimentSync(user, "checkout_test", { userPersistedValues: persisted });
 *
 * The SDK deletes a user's persisted value whenever the experiment is evaluated without
 * persisted values and when the experiment is no longer active.
 *
 * When a load fails (uss unreachable, timed out, answering 5xx, or a stored value that is not
 * a sticky evaluation), it answers "nothing stored" and the SDK evaluates the user afresh
 * (fail open). The adapter then drops every save and delete of that key for the failed-read
 * memory, since they would replace or remove values that could not be read.
 */
export function statsigPersistentStorage(client: UssClient, options?: AdapterOptions): StatsigPersistentStorage {
  const fo = new FailOpen("uss-client statsigPersistentStorage", options);
  // Unlike VWO's storage, no write is let through early after a later successful load: the
  // SDK saves only for a config it found nothing for and deletes only on evaluations that
  // ignore persisted values, so neither is ever a rewrite of what was read.
  const writeAllowed = (key: string) => fo.guard.writeAllowed(key, null);
  return {
    async load(key) {
      await fo.written(key);
      let values: Record<string, JsonObject>;
      try {
        values = await client.loadPersistedValues(key);
      } catch (err) {
        if (!(err instanceof UssNotFoundError)) {
          fo.guard.readFailed(key);
          fo.report(err);
        }
        return {};
      }
      for (const [configName, value] of Object.entries(values)) {
        const problem = notStickyValues(value);
        if (problem !== "") {
          // Saving over it would lose what is there; leave it for a person to look at.
          fo.guard.readFailed(key);
          fo.report(new UssError("load persisted values", `config ${JSON.stringify(configName)}: ${problem}`));
          return {};
        }
      }
      return values;
    },
    save(key, configName, data) {
      if (!writeAllowed(key)) {
        fo.skipped("save persisted value");
        return;
      }
      void fo.write(key, () => client.savePersistedValue(key, configName, data));
    },
    delete(key, configName) {
      if (!writeAllowed(key)) {
        fo.skipped("delete persisted value");
        return;
      }
      void fo.write(key, () => client.deletePersistedValue(key, configName));
    },
    flush: () => fo.flush(),
  };
}

/** The type each field of a sticky evaluation must have when present. */
const stickyFields: Record<string, (v: unknown) => boolean> = {
  value: (v) => typeof v === "boolean",
  json_value: (v) => v === null || isObject(v),
  rule_id: (v) => typeof v === "string",
  group_name: (v) => v === null || typeof v === "string",
  secondary_exposures: (v) => v === null || Array.isArray(v),
  undelegated_secondary_exposures: (v) => v === null || Array.isArray(v),
  config_delegate: (v) => v === null || typeof v === "string",
  explicit_parameters: (v) => v === null || Array.isArray(v),
  time: (v) => typeof v === "number",
};

/** notStickyValues says why a stored value is not a sticky evaluation the SDK can read, "" when it is one. */
function notStickyValues(value: unknown): string {
  if (!isObject(value)) {
    return "the stored value is not an object";
  }
  for (const [field, ok] of Object.entries(stickyFields)) {
    if (Object.hasOwn(value, field) && !ok(value[field])) {
      return `field ${field} has the wrong type`;
    }
  }
  return "";
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
