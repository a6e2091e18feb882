/**
 * The object store's tombstones by the wall time of their clock, so the reaper reads only the
 * tombstones old enough to purge, a batch at a time, instead of every record of the store:
 *
 *   tombstones:  wallMs(8, big-endian) metaKey  ->  encoded clock
 *
 * The store keeps it inside the transactions that write, revert and purge records, so an entry and its
 * record change together. An entry whose record went another way (its bucket purged) is found stale
 * when the reaper reads it, and removed then. Tombstones written before the index existed are indexed
 * once by a bounded background scan whose progress lives here too, under a key no entry can have.
 */
import type { Database } from 'lmdb';
import { decodeHlc, encodeHlc, type Hlc } from '../core/hlc.js';
import type { ObjectMeta } from '../core/object-meta.js';
import { parseMetaKey, type ObjectAddress } from './store-keys.js';

const WALL_BYTES = 8;
/** Entries start with two zero bytes (wall times stay below 2^48); this key sorts after all of them. */
const BUILD_STATE_KEY = Buffer.from([0xff, 0x62]);

export interface TombstoneEntry {
  readonly indexKey: Buffer;
  readonly metaKey: Buffer;
  /** Undefined when the entry does not decode (it is then stale by definition). */
  readonly address: ObjectAddress | undefined;
  readonly clock: Hlc | undefined;
}

/** How far the index of tombstones written before it existed has been built. */
export type IndexBuildState = { readonly done: true } | { readonly done: false; readonly after?: Buffer };

export class TombstoneIndex {
  constructor(
    /** The table now: the store's tables may be replaced whole (as a compaction would). */
    private readonly table: () => Database<unknown, Buffer>,
  ) {}

  private get db(): Database<unknown, Buffer> {
    return this.table();
  }

  /** Inside a write transaction: the record at `metaKey` went from `before` to `after` (absent: none). */
  note(metaKey: Buffer, before: ObjectMeta | undefined, after: ObjectMeta | undefined): void {
    if (before?.deleted) this.db.remove(entryKey(before.clock.wallMs, metaKey));
    if (after?.deleted) this.db.put(entryKey(after.clock.wallMs, metaKey), encodeHlc(after.clock));
  }

  /** Inside a write transaction: drops an entry as `before` returned it. */
  remove(indexKey: Buffer): void {
    this.db.remove(indexKey);
  }

  /** Up to `limit` entries with wall time before `beforeWallMs`, oldest first, after the entry `after`. */
  before(beforeWallMs: number, after: Buffer | undefined, limit: number): TombstoneEntry[] {
    const entries: TombstoneEntry[] = [];
    const range = { ...(after ? { start: justAfter(after) } : {}), end: wallBytes(beforeWallMs) };
    for (const { key, value } of this.db.getRange(range)) {
      if (entries.length >= limit) break;
      const indexKey = Buffer.from(key);
      const metaKey = indexKey.subarray(WALL_BYTES);
      const clock = typeof value === 'string' ? decodeHlc(value) : undefined;
      entries.push({ indexKey, metaKey, address: parseMetaKey(metaKey), clock });
    }
    return entries;
  }

  buildState(): IndexBuildState {
    const value = this.db.get(BUILD_STATE_KEY) as { done?: unknown; after?: unknown } | undefined;
    if (value?.done === true) return { done: true };
    return value?.after instanceof Uint8Array ? { done: false, after: Buffer.from(value.after) } : { done: false };
  }

  /** Inside a write transaction. */
  setBuildState(state: IndexBuildState): void {
    this.db.put(BUILD_STATE_KEY, state.done ? { done: true } : { done: false, ...(state.after ? { after: state.after } : {}) });
  }
}

function entryKey(wallMs: number, metaKey: Buffer): Buffer {
  return Buffer.concat([wallBytes(wallMs), metaKey]);
}

function wallBytes(wallMs: number): Buffer {
  const out = Buffer.alloc(WALL_BYTES);
  out.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(wallMs))));
  return out;
}

/** The smallest key greater than `key`. */
export function justAfter(key: Buffer): Buffer {
  return Buffer.concat([key, Buffer.from([0])]);
}
