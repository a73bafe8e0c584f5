/**
 * uss-client: a client of uss, the user storage service, and the sticky-storage adapters of
 * the Node SDKs of VWO (legacy and FME), Statsig and GrowthBook.
 */
export { DEFAULT_TIMEOUT_MS, UssClient } from "./client";
export type {
  Assignment,
  AssignmentInput,
  CallOptions,
  Deleted,
  JsonObject,
  StickyBucketDocument,
  UserProfile,
  UssClientOptions,
} from "./client";
export { UssError, UssNotFoundError, UssRequestError, UssUnavailableError, UssWriteSkippedError } from "./errors";
export { DEFAULT_FAILED_READ_MAX_KEYS, DEFAULT_FAILED_READ_MEMORY_MS } from "./failopen";
export type { AdapterOptions } from "./failopen";
export { vwoUserStorage } from "./vwo";
export type { VwoUserStorage, VwoUserStorageData } from "./vwo";
export { VwoFmeStorage } from "./vwofme";
export { statsigPersistentStorage } from "./statsig";
export type { StatsigPersistedValues, StatsigPersistentStorage, StatsigStickyValues } from "./statsig";
export { GrowthBookStickyBucketService } from "./growthbook";
