/**
 * The class factories the ES module entry point needs to build the adapters that extend an
 * SDK's class on that SDK's ES module build. Not part of the public API.
 */
export { defineGrowthBookStickyBucketService } from "./growthbook";
export { defineVwoFmeStorage } from "./vwofme";
