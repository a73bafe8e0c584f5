// Compiled (not run) by npm test: the declarations uss-client ships, as an ES module program
// written in TypeScript sees them. Each line must type-check.
import { GrowthBook, GrowthBookClient, StickyBucketService } from "@growthbook/growthbook";
import type { StatsigOptions } from "statsig-node";
import { StorageConnector, init } from "vwo-fme-node-sdk";
import {
  type Assignment,
  GrowthBookStickyBucketService,
  UssClient,
  UssError,
  UssNotFoundError,
  type UserProfile,
  VwoFmeStorage,
  statsigPersistentStorage,
  vwoUserStorage,
} from "uss-client";

const client = new UssClient({ url: "http://127.0.0.1:8080", apiKey: "key", timeoutMs: 300 });
export const assignment: Promise<Assignment> = client.getAssignment("u", "c", { signal: AbortSignal.timeout(100) });
export const profile: Promise<UserProfile> = client.lookupUserProfile("u");
export const isNotFound = (err: unknown): boolean => err instanceof UssNotFoundError && err instanceof UssError && err.status === 404;

// The adapters are the SDKs' own types.
const service: StickyBucketService = new GrowthBookStickyBucketService(client);
export const gb = new GrowthBook({ stickyBucketService: service });
export const user = new GrowthBookClient({}).applyStickyBuckets({ attributes: { id: "u" } }, new GrowthBookStickyBucketService(client));
const connector: StorageConnector = new VwoFmeStorage(client, { onError: (err) => console.warn(err.message) });
export const fme = init({ sdkKey: "k", accountId: "1", storage: connector });
export const options: Partial<StatsigOptions> = {
  userPersistentStorage: statsigPersistentStorage(client) as unknown as StatsigOptions["userPersistentStorage"],
};
export const vwo = vwoUserStorage(client, { failedReadMemoryMs: 30_000, failedReadMaxKeys: 100, onError: null });
export const stored: Promise<{ variationName: string } | undefined> = vwo.get("u", "c");

// @ts-expect-error: setAssignment needs a variation
client.setAssignment({ userId: "u", campaignKey: "c" });
