import type { UssClient } from "./client";
import { UssNotFoundError } from "./errors";
import { type AdapterOptions, FailOpen, guardKey } from "./failopen";

/** What the VWO SDK reads from and writes to its user storage. */
export interface VwoUserStorageData {
  userId: string;
  campaignKey: string;
  variationName: string;
  /** The converted goals joined by "_vwo_". */
  goalIdentifier?: string | null;
  /** The SDK passes the caller's metaData along; uss does not store it. */
  metaData?: unknown;
}

/**
 * The user storage service of the legacy `vwo-node-sdk` in its asynchronous storage mode:
 * `get` returns a promise, `set` sends the write and the SDK goes on without waiting.
 */
export interface VwoUserStorage {
  /**
   * The stored assignment, or undefined when there is none or when uss cannot be read (the
   * adapter then drops this user's writes in this campaign for a while).
   */
  get(userId: string, campaignKey: string): Promise<VwoUserStorageData | undefined>;
  /**
   * Stores the user's variation and converted goals, never replacing a variation uss already
   * stores (ifAbsent: the first writer wins). uss adds the goals to the stored ones while the
   * variation is the same, so two servers tracking different goals at once lose neither.
   * Never rejects: errors go to the error handler.
   */
  set(data: VwoUserStorageData): Promise<void>;
  /** Resolves once every write sent so far has finished: await it before the process exits. */
  flush(): Promise<void>;
}

/**
 * vwoUserStorage keeps the legacy VWO Node SDK's user storage in uss, so that every server
 * running the SDK gives a user the variation stored the first time, even after the
 * campaign's settings change, and no goal is counted twice.
 *
 * Launch the SDK in its asynchronous storage mode, which makes every API return a promise:
 *
 *     vwoSdk.launch({ settingsFile, userStorageService: vwoUserStorage(client), asyncStorageConfig: {} })
 *
 * Its writes never replace a stored variation (uss's ifAbsent): when two servers decide a new
 * user at once, the first write wins and every later get returns it (the SDK takes no answer
 * from set, so the other server's one decision in flight keeps its own variation); a
 * whitelisted track, which the SDK stores with the whitelisted variation, leaves the stored
 * one alone too.
 *
 * When uss cannot be read, get answers "nothing stored" and the SDK decides as it would
 * without storage (fail open); the adapter then drops the writes of that user and campaign
 * for the failed-read memory, since they would carry a variation decided without the stored
 * one. The one write let through meanwhile is one of the variation that a later, successful
 * get found stored: it changes no variation, and uss merges its goals.
 */
export function vwoUserStorage(client: UssClient, options?: AdapterOptions): VwoUserStorage {
  const fo = new FailOpen("uss-client vwoUserStorage", options);
  return {
    async get(userId, campaignKey) {
      const key = guardKey(userId, campaignKey);
      await fo.written(key);
      try {
        const a = await client.getAssignment(userId, campaignKey);
        fo.guard.readSucceeded(key, { variationName: a.variationName });
        return a;
      } catch (err) {
        if (!(err instanceof UssNotFoundError)) {
          fo.guard.readFailed(key);
          fo.report(err);
        }
        return undefined;
      }
    },
    set(data) {
      const key = guardKey(data.userId, data.campaignKey);
      if (!fo.guard.writeAllowed(key, { variationName: data.variationName })) {
        fo.skipped("set assignment");
        return Promise.resolve();
      }
      return fo.write(key, () =>
        client.setAssignmentIfAbsent({
          userId: data.userId,
          campaignKey: data.campaignKey,
          variationName: data.variationName,
          goalIdentifier: data.goalIdentifier ?? undefined,
        }),
      );
    },
    flush: () => fo.flush(),
  };
}
