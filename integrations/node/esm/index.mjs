// The ES module entry point. The client, the errors and the function adapters are the
// CommonJS build's own objects, so a program that both imports and requires uss-client gets
// one copy of each (instanceof works across both). The two adapters that extend an SDK's
// class extend that SDK's ES module build here, as the program's imports see it.
import cjs from "../dist/index.js";
import define from "../dist/define.js";

export const {
  DEFAULT_FAILED_READ_MAX_KEYS,
  DEFAULT_FAILED_READ_MEMORY_MS,
  DEFAULT_TIMEOUT_MS,
  UssClient,
  UssError,
  UssNotFoundError,
  UssRequestError,
  UssUnavailableError,
  UssWriteSkippedError,
  statsigPersistentStorage,
  vwoUserStorage,
} = cjs;

/** sdk imports an optional SDK package, or answers null when it is not installed. */
async function sdk(name) {
  try {
    return await import(name);
  } catch (err) {
    if (err?.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes(name)) {
      return null;
    }
    throw err;
  }
}

const fme = await sdk("vwo-fme-node-sdk");
const growthbook = await sdk("@growthbook/growthbook");

export const VwoFmeStorage = fme ? define.defineVwoFmeStorage(fme.StorageConnector) : cjs.VwoFmeStorage;
export const GrowthBookStickyBucketService = growthbook
  ? define.defineGrowthBookStickyBucketService(growthbook.StickyBucketService)
  : cjs.GrowthBookStickyBucketService;
