// The legacy VWO Node SDK as the tests run it: offline, in its asynchronous storage mode.
import assert from "node:assert/strict";

import vwoSdk from "vwo-node-sdk";
import { UssClient, vwoUserStorage } from "uss-client";

import { ErrorLog } from "./errors.mjs";

export const campaign = "checkout-test";

/** settings is a VWO settings file with one running A/B campaign; a new object each time, as the SDK keeps and changes it. */
export function settings(controlWeight, variationWeight) {
  return {
    sdkKey: "offline-sdk-key", accountId: 123456, version: 1,
    campaigns: [{
      id: 7, key: campaign, status: "RUNNING", type: "VISUAL_AB", percentTraffic: 100, segments: {},
      goals: [{ id: 1, identifier: "signup", type: "CUSTOM_GOAL" }, { id: 2, identifier: "purchase", type: "REVENUE_TRACKING" }],
      variations: [
        { id: 1, name: "Control", changes: {}, weight: controlWeight },
        { id: 2, name: "Variation-1", changes: {}, weight: variationWeight },
      ],
    }],
  };
}

// The SDK's own logger: what instances log without one of their own (a track's errors).
vwoSdk.setLogger({ log() {} });

/**
 * launch runs the real SDK offline (development mode sends nothing) with storage in its
 * asynchronous storage mode (unless asynchronous is false), or synchronously without storage
 * when storage is undefined.
 * The SDK logs every step of every decision (the logger given quiets it), and launch prints
 * the options it was given with console.info whatever the logger: quieted here.
 */
export function launch(settingsFile, storage, { asynchronous = true } = {}) {
  const config = { settingsFile, isDevelopmentMode: true, logger: { log() {} } };
  if (storage !== undefined) {
    Object.assign(config, { userStorageService: storage }, asynchronous ? { asyncStorageConfig: {} } : {});
  }
  const info = console.info;
  console.info = () => {};
  try {
    return vwoSdk.launch(config);
  } finally {
    console.info = info;
  }
}

/**
 * usersIn returns n user ids (prefix and a number) that VWO's bucketing puts in the
 * variation, found by asking the SDK without storage.
 */
export function usersIn(settingsFile, variation, n, prefix = "user-") {
  const inst = launch(structuredClone(settingsFile));
  const users = [];
  for (let i = 0; users.length < n; i++) {
    assert.ok(i < 10000, `no users found in ${variation}`);
    if (inst.getVariationName(campaign, `${prefix}${i}`) === variation) {
      users.push(`${prefix}${i}`);
    }
  }
  return users;
}

/**
 * newStorage is an adapter over its own client, with an error log. The tests' clients wait
 * up to 5 s a call: a read that timed out would fail open and fail the test, and the machine
 * running them may be busy with other work.
 */
export function newStorage(url, apiKey, options = {}) {
  const log = new ErrorLog();
  const client = new UssClient({ url, apiKey, timeoutMs: 5000 });
  return { storage: vwoUserStorage(client, { onError: log.handle, ...options }), log, client };
}

