import type { StickyAssignmentsDocument, StickyBucketService } from "@growthbook/growthbook";

import type { StickyBucketDocument, UssClient } from "./client";
import { type AdapterOptions, FailOpen, guardKey } from "./failopen";
import { sdkClass } from "./sdk";

/** What GrowthBookStickyBucketService adds to the SDK's StickyBucketService. */
export interface GrowthBookStickyBucketService extends StickyBucketService {
  /** The document of one attribute, or null when it has no assignment or cannot be read. */
  getAssignments(attributeName: string, attributeValue: string): Promise<StickyAssignmentsDocument | null>;
  /**
   * The documents of several attributes (name to value) in one request, by
   * "<attributeName>||<attributeValue>"; attributes without assignments are absent, and so
   * are all of them when uss cannot be read. An empty value (a user without that attribute)
   * holds nothing and is not asked for.
   */
  getAllAssignments(attributes: Record<string, string>): Promise<Record<string, StickyAssignmentsDocument>>;
  /** Stores every assignment of doc; uss keeps the document's other assignments. Never rejects: errors go to the error handler. */
  saveAssignments(doc: StickyAssignmentsDocument): Promise<void>;
  /** Resolves once every save sent so far has finished: await it before the process exits. */
  flush(): Promise<void>;
}

export interface GrowthBookStickyBucketServiceConstructor {
  new (client: UssClient, options?: AdapterOptions): GrowthBookStickyBucketService;
  readonly prototype: GrowthBookStickyBucketService;
}

/**
 * defineGrowthBookStickyBucketService makes the class on the SDK's StickyBucketService as
 * the program loads it: the SDK's CommonJS and ES module builds each have their own.
 */
export function defineGrowthBookStickyBucketService(Base: typeof StickyBucketService): GrowthBookStickyBucketServiceConstructor {
  class GrowthBookStickyBucketService extends Base {
    private readonly client: UssClient;
    private readonly fo: FailOpen;

    constructor(client: UssClient, options?: AdapterOptions) {
      super();
      this.client = client;
      this.fo = new FailOpen("uss-client GrowthBookStickyBucketService", options);
    }

    async getAssignments(attributeName: string, attributeValue: string): Promise<StickyAssignmentsDocument | null> {
      const docs = await this.getAllAssignments({ [attributeName]: attributeValue });
      return docs[`${attributeName}||${attributeValue}`] ?? null;
    }

    override async getAllAssignments(attributes: Record<string, string>): Promise<Record<string, StickyAssignmentsDocument>> {
      const asked = Object.entries(attributes).filter(([, value]) => value !== "");
      if (asked.length === 0) {
        return {};
      }
      await Promise.all(asked.map(([name, value]) => this.fo.written(guardKey(name, value))));
      let docs: Record<string, StickyBucketDocument>;
      try {
        docs = await this.client.getAllStickyBuckets(Object.fromEntries(asked));
      } catch (err) {
        for (const [name, value] of asked) {
          this.fo.guard.readFailed(guardKey(name, value));
        }
        this.fo.report(err);
        return {};
      }
      const out: Record<string, StickyAssignmentsDocument> = {};
      for (const [name, value] of asked) {
        const doc = docs[`${name}||${value}`];
        this.fo.guard.readSucceeded(guardKey(name, value), doc ? { ...doc.assignments } : null);
        if (doc) {
          out[`${name}||${value}`] = doc;
        }
      }
      return out;
    }

    async saveAssignments(doc: StickyAssignmentsDocument): Promise<void> {
      const key = guardKey(doc.attributeName, doc.attributeValue);
      if (!this.fo.guard.writeAllowed(key, doc.assignments)) {
        this.fo.skipped("save sticky buckets");
        return;
      }
      await this.fo.write(key, () => this.client.saveStickyBuckets(doc));
    }

    flush(): Promise<void> {
      return this.fo.flush();
    }
  }
  return GrowthBookStickyBucketService;
}

/**
 * GrowthBookStickyBucketService keeps the sticky buckets of GrowthBook's JavaScript SDK
 * (`@growthbook/growthbook`) in uss, so that every server running the SDK gives a user the
 * variation stored the first time, even after the experiment's weights or coverage change.
 * Pass an instance as the `stickyBucketService` option of `GrowthBook` (or to
 * `GrowthBookClient.applyStickyBuckets`).
 *
 * The SDK reads every document of a user at once (`getAllAssignments`: one request here),
 * and after each new assignment saves the user's whole document merged in memory. uss keeps
 * the entries of documents: a save adds or changes the assignments it carries and keeps the
 * others, so two servers that assign the same user to different experiments at once both
 * keep theirs.
 *
 * When uss cannot be read, the read answers "nothing stored" (the SDK would otherwise fail
 * the whole evaluation) and the SDK decides as it would without storage (fail open). The
 * adapter then drops, for the failed-read memory, every save of that document that could
 * replace what could not be read: one goes through only when a later, successful read shows
 * that it changes no stored assignment (adding experiments is fine). Saves never reject: the
 * SDK does not wait for them.
 */
export const GrowthBookStickyBucketService: GrowthBookStickyBucketServiceConstructor = defineGrowthBookStickyBucketService(
  sdkClass<typeof StickyBucketService>("@growthbook/growthbook", "StickyBucketService"),
);
