/**
 * The rule every adapter follows when uss cannot be read: the SDK decides as if nothing were
 * stored (fail open), but no write reaches uss that could replace what could not be read,
 * since that write would come from a decision made without the stored one.
 *
 * The SDKs call the adapter's read and then its writes from one decision, with no way to
 * pass anything between them, so the guard remembers the keys whose reads failed for a
 * while: a small set with a bounded size whose entries expire.
 *
 * A key holds entries (a VWO variation; a GrowthBook document's assignments; the fields of a
 * VWO FME record). The writes let through meanwhile are those a later successful read of the
 * key shows to replace nothing: a write that changes none of the entries that read found
 * (and, for a write that replaces the stored value whole, keeps them all).
 */

import { UssWriteSkippedError } from "./errors";

/**
 * Defaults sized for the gap they must cover, between an SDK's read and its writes in the
 * same call (microseconds, a client timeout at worst), with a wide margin.
 */
export const DEFAULT_FAILED_READ_MEMORY_MS = 60_000;
export const DEFAULT_FAILED_READ_MAX_KEYS = 10_000;

/** Options every adapter takes. */
export interface AdapterOptions {
  /**
   * Receives every error the SDK is not told about: failed reads (the SDK went on as if
   * nothing were stored), failed writes, and writes dropped with `UssWriteSkippedError`. It is
   * called inline and must not throw. Default: a warning on the console; null: none.
   */
  onError?: ((err: Error) => void) | null;
  /** How long a failed read keeps the writes of its key away from uss, in ms. Default one minute. */
  failedReadMemoryMs?: number;
  /**
   * How many keys whose read failed are remembered. When more fail within the memory, every
   * write is dropped until a memory has passed, rather than forget a key. Default 10,000.
   */
  failedReadMaxKeys?: number;
  /** The clock, in ms (Date.now outside tests). */
  now?: () => number;
}

/** guardKey joins two ids with NUL, which uss refuses in ids, so no two pairs share a key. */
export function guardKey(a: string, b: string): string {
  return `${a}\u0000${b}`;
}

/** The entries of a key: entry name to its value. */
export type Entries = Record<string, string>;

interface Remembered {
  until: number;
  /** What the last successful read since the failure found, when read is set; null: nothing stored. */
  found: Entries | null;
  read: boolean;
}

/** Guard remembers the keys whose reads failed. */
export class Guard {
  /** Keys in expiry order, soonest first: every key is remembered for the same time, and re-inserted when it fails again. */
  private readonly byKey = new Map<string, Remembered>();
  /** When full: every key counts as failed until then. */
  private allUntil = -Infinity;

  constructor(
    private readonly memoryMs: number,
    private readonly maxKeys: number,
    private readonly now: () => number,
  ) {}

  /**
   * Records that a read of key failed now. A later successful read does not clear it: a
   * concurrent decision for the same key may still be about to write what it decided without
   * the stored value.
   */
  readFailed(key: string): void {
    const now = this.now();
    this.expire(now);
    const until = now + this.memoryMs;
    if (this.byKey.has(key)) {
      this.byKey.delete(key);
    } else if (this.byKey.size >= this.maxKeys) {
      // Forgetting a key could let its write through; refusing every write for a while
      // cannot replace anything. Many distinct failed keys means uss is down anyway.
      this.allUntil = until;
      return;
    }
    this.byKey.set(key, { until, found: null, read: false });
  }

  /**
   * Records what a successful read of key found stored (null: nothing), when a read of key
   * failed within the memory; otherwise does nothing. found must not change afterwards.
   */
  readSucceeded(key: string, found: Entries | null): void {
    this.expire(this.now());
    const e = this.byKey.get(key);
    if (e) {
      e.found = found;
      e.read = true;
    }
  }

  /**
   * Whether a write of key that upserts entries (keeping the stored entries it does not
   * carry) may be sent: no read of key failed within the memory, or a read since then
   * succeeded and the write changes no entry that read found.
   */
  writeAllowed(key: string, entries: Entries | null): boolean {
    return this.allowed(key, (found) => changesNone(entries ?? {}, found));
  }

  /** writeAllowed for a write that replaces the stored value whole: it must also keep every entry the read found. */
  replaceAllowed(key: string, entries: Entries): boolean {
    return this.allowed(key, (found) => keepsAll(entries, found));
  }

  /** How many keys the guard remembers now. */
  get size(): number {
    this.expire(this.now());
    return this.byKey.size;
  }

  private allowed(key: string, safe: (found: Entries) => boolean): boolean {
    const now = this.now();
    if (now < this.allUntil) {
      return false;
    }
    this.expire(now);
    const e = this.byKey.get(key);
    if (!e) {
      return true;
    }
    return e.read && safe(e.found ?? {});
  }

  private expire(now: number): void {
    for (const [key, e] of this.byKey) {
      if (now < e.until) {
        return;
      }
      this.byKey.delete(key);
    }
  }
}

/** changesNone: every entry of written that found holds has the same value there. */
function changesNone(written: Entries, found: Entries): boolean {
  return Object.entries(written).every(([k, v]) => !Object.hasOwn(found, k) || found[k] === v);
}

/** keepsAll: written holds every entry of found, with the same value. */
function keepsAll(written: Entries, found: Entries): boolean {
  return Object.entries(found).every(([k, v]) => Object.hasOwn(written, k) && written[k] === v);
}

/**
 * FailOpen is what each adapter holds: its guard, its error handler, and the writes it has
 * sent that the SDK does not wait for.
 */
export class FailOpen {
  readonly guard: Guard;
  private readonly onError: (err: Error) => void;
  private readonly pending = new Set<Promise<void>>();
  /** The writes in flight, by key. */
  private readonly writing = new Map<string, Promise<void>>();

  constructor(name: string, options: AdapterOptions = {}) {
    this.guard = new Guard(
      options.failedReadMemoryMs ?? DEFAULT_FAILED_READ_MEMORY_MS,
      options.failedReadMaxKeys ?? DEFAULT_FAILED_READ_MAX_KEYS,
      options.now ?? Date.now,
    );
    const onError = options.onError === undefined ? (err: Error) => console.warn(`${name}: ${err.message}`) : options.onError;
    this.onError = onError ?? (() => {});
  }

  /** report hands err to the error handler; a handler that throws is ignored, as SDKs call the adapter where a throw would go unhandled. */
  report(err: unknown): void {
    try {
      this.onError(err instanceof Error ? err : new Error(String(err)));
    } catch {
      // the handler's own failure cannot be reported anywhere
    }
  }

  /** skipped reports a write dropped by the guard. */
  skipped(op: string): UssWriteSkippedError {
    const err = new UssWriteSkippedError(op);
    this.report(err);
    return err;
  }

  /**
   * write runs a write of key that must not reject (the SDK does not wait for it, or would
   * treat a rejection as a crash): its error goes to the handler. flush waits for it, and so
   * do reads of the same key (see written).
   */
  write(key: string, send: () => Promise<unknown>): Promise<void> {
    const p = send().then(
      () => undefined,
      (err: unknown) => this.report(err),
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    const before = this.writing.get(key);
    const all = before ? Promise.all([before, p]).then(() => undefined) : p;
    this.writing.set(key, all);
    void all.finally(() => {
      if (this.writing.get(key) === all) {
        this.writing.delete(key);
      }
    });
    return p;
  }

  /**
   * written resolves once the writes of key in flight have finished. The SDKs do not wait
   * for their writes, so a read right after a decision (VWO's track after activate) would
   * otherwise miss what the same process has just decided.
   */
  async written(key: string): Promise<void> {
    await this.writing.get(key);
  }

  /** flush resolves once every write sent so far (and those they lead to) has finished. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) {
      await Promise.all(this.pending);
    }
  }
}
