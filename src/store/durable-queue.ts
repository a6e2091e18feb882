/**
 * A durable work queue inside the object store's LMDB environment (LeoFS's leo_mq): items survive
 * restarts, an item key coalesces repeated work on the same thing, and failed items come back after a
 * capped exponential backoff. Two key families share one database:
 *
 *   'i' name 0x00 itemKey                     -> the item
 *   'd' name 0x00 dueMs(8, big-endian) itemKey  -> '' (the due-time index)
 *
 * An item that no longer decodes is reported and dropped, so it cannot wedge the queue.
 */
import type { Database } from 'lmdb';
import type { Logger } from '../runtime/logger.js';

export interface QueueItem<T> {
  readonly itemKey: string;
  readonly payload: T;
  readonly attempts: number;
  readonly dueMs: number;
  readonly enqueuedMs: number;
  readonly lastError?: string;
}

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_QUEUE_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 60_000 };

type Write = (action: () => void) => Promise<void>;

export class DurableQueue<T> {
  private readonly itemPrefix: Buffer;
  private readonly duePrefix: Buffer;
  /** Items queued: counted in the store when the queue is opened, then kept by its own writes (see `length`). */
  private counted: number;

  constructor(
    /** The database now: the store may switch to a compacted copy of its environment. */
    private readonly database: () => Database<unknown, Buffer>,
    readonly name: string,
    private readonly validate: (payload: unknown) => payload is T,
    private readonly write: Write,
    private readonly log: Logger,
  ) {
    this.itemPrefix = Buffer.concat([Buffer.from('i' + name, 'utf8'), Buffer.from([0])]);
    this.duePrefix = Buffer.concat([Buffer.from('d' + name, 'utf8'), Buffer.from([0])]);
    // Counted before this queue writes anything: a count taken later, while one of its writes had run
    // but not yet committed, would miss that item for good.
    this.counted = this.size;
  }

  /**
   * Adds work, or refreshes the item already queued under `itemKey` (its payload is replaced and it
   * becomes due no later than `dueMs`; `merge` decides the payload from the queued and the new one);
   * attempts carry over so a flapping target keeps backing off.
   */
  async enqueue(itemKey: string, payload: T, nowMs: number, dueMs = nowMs, merge: (queued: T, incoming: T) => T = (_queued, incoming) => incoming): Promise<void> {
    await this.write(() => {
      const existing = this.read(itemKey);
      const item: QueueItem<T> = existing
        ? { ...existing, payload: merge(existing.payload, payload), dueMs: Math.min(existing.dueMs, dueMs) }
        : { itemKey, payload, attempts: 0, dueMs, enqueuedMs: nowMs };
      if (!existing) this.counted++;
      this.store(existing, item);
    });
  }

  /** Up to `limit` items due at `nowMs`, earliest first. */
  due(nowMs: number, limit: number): QueueItem<T>[] {
    const items: QueueItem<T>[] = [];
    const end = Buffer.concat([this.duePrefix, bigEndian(nowMs + 1)]);
    for (const key of this.db().getKeys({ start: this.duePrefix, end })) {
      const itemKey = key.subarray(this.duePrefix.length + 8).toString('utf8');
      const item = this.read(itemKey);
      if (item) items.push(item);
      else void this.write(() => this.db().remove(key));
      if (items.length >= limit) break;
    }
    return items;
  }

  /** Removes the item; with `unless`, keeps it when that holds for it (it was refreshed with newer work meanwhile). */
  async complete(itemKey: string, unless?: (item: QueueItem<T>) => boolean): Promise<void> {
    await this.write(() => {
      const existing = this.read(itemKey);
      if (!existing || unless?.(existing)) return;
      this.counted--;
      this.db().remove(this.itemKeyOf(itemKey));
      this.db().remove(this.dueKeyOf(existing.dueMs, itemKey));
    });
  }

  /** Removes every item, a bounded number per transaction so that other writes get their turn between them. */
  async clear(batchItems = 10_000): Promise<void> {
    for (;;) {
      const keys = [...this.db().getKeys({ start: this.itemPrefix, end: prefixEnd(this.itemPrefix), limit: batchItems })];
      if (keys.length === 0) break;
      await this.write(() => {
        for (const key of keys) {
          if (!this.db().doesExist(key)) continue;
          const item = this.read(key.subarray(this.itemPrefix.length).toString('utf8'));
          this.db().remove(key);
          this.counted--;
          if (item) this.db().remove(this.dueKeyOf(item.dueMs, item.itemKey));
        }
      });
    }
  }

  /** The item failed: due again after a backoff that doubles with each attempt, up to the cap. */
  async retry(itemKey: string, nowMs: number, error: string, backoff: BackoffPolicy = DEFAULT_QUEUE_BACKOFF): Promise<void> {
    await this.write(() => {
      const existing = this.read(itemKey);
      if (!existing) return;
      const delayMs = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(existing.attempts, 30));
      this.store(existing, { ...existing, attempts: existing.attempts + 1, dueMs: nowMs + delayMs, lastError: error.slice(0, 500) });
    });
  }

  /** Makes every item matching `predicate` due now (its target came back). Returns how many. */
  async wake(nowMs: number, predicate: (item: QueueItem<T>) => boolean): Promise<number> {
    let woken = 0;
    await this.write(() => {
      for (const item of this.items()) {
        if (item.dueMs > nowMs && predicate(item)) {
          this.store(item, { ...item, dueMs: nowMs });
          woken++;
        }
      }
    });
    return woken;
  }

  /** Items queued, counted in the store: a walk of the whole queue (for mq-stats). */
  get size(): number {
    return this.db().getKeysCount({ start: this.itemPrefix, end: prefixEnd(this.itemPrefix) });
  }

  /**
   * Items queued, as counted when the queue was opened and kept up to date by its own writes since:
   * cheap enough for every metrics scrape and watchdog sample, where `size` would walk millions of
   * items on the event loop while a long outage fills the queue.
   */
  get length(): number {
    return this.counted;
  }

  /** Every item, in key order (for mq-stats and tests). */
  *items(): Generator<QueueItem<T>> {
    for (const key of this.db().getKeys({ start: this.itemPrefix, end: prefixEnd(this.itemPrefix) })) {
      const item = this.read(key.subarray(this.itemPrefix.length).toString('utf8'));
      if (item) yield item;
    }
  }

  private db(): Database<unknown, Buffer> {
    return this.database();
  }

  private store(previous: QueueItem<T> | undefined, item: QueueItem<T>): void {
    if (previous && previous.dueMs !== item.dueMs) this.db().remove(this.dueKeyOf(previous.dueMs, item.itemKey));
    this.db().put(this.itemKeyOf(item.itemKey), item);
    this.db().put(this.dueKeyOf(item.dueMs, item.itemKey), '');
  }

  private read(itemKey: string): QueueItem<T> | undefined {
    const key = this.itemKeyOf(itemKey);
    let value: unknown;
    try {
      value = this.db().get(key);
    } catch (error) {
      value = { undecodable: String(error) };
    }
    if (value === undefined) return undefined;
    const item = value as Partial<QueueItem<T>>;
    if (typeof item === 'object' && item !== null && item.itemKey === itemKey && Number.isFinite(item.dueMs) && Number.isFinite(item.attempts) && this.validate(item.payload)) {
      return item as QueueItem<T>;
    }
    this.log.error('queue item does not decode; dropping it', { queue: this.name, itemKey });
    void this.write(() => {
      if (!this.db().doesExist(key)) return;
      this.counted--;
      this.db().remove(key);
    });
    return undefined;
  }

  private itemKeyOf(itemKey: string): Buffer {
    return Buffer.concat([this.itemPrefix, Buffer.from(itemKey, 'utf8')]);
  }

  private dueKeyOf(dueMs: number, itemKey: string): Buffer {
    return Buffer.concat([this.duePrefix, bigEndian(dueMs), Buffer.from(itemKey, 'utf8')]);
  }
}

function bigEndian(ms: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(ms))));
  return out;
}

function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1] = end[end.length - 1]! + 1;
  return end;
}
