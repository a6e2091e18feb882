/**
 * NFS file handles: what a client holds for a file or directory, valid across gateway restarts.
 *
 *   byte 0       handle format version (1)
 *   byte 1       0: the key follows in the handle itself; 1: the MD5 of the key follows
 *   bytes 2-9    the first 8 bytes of MD5 of the bucket's namespace (its name and incarnation)
 *   bytes 10-    the key in UTF-8 (at most 54 bytes), or its 16-byte MD5
 *
 * A directory's key ends with `/`; a bucket's root is the empty key. Most keys fit in the handle, so a
 * handle needs no state to be read. A longer key is named by its hash, and the hash → key pair is kept in
 * a table on the gateway's own disk (its node state), written before the handle is given out: such a
 * handle stays valid across restarts of this gateway, not on another gateway.
 *
 * That table is bounded: it keeps at most `maxEntries` pairs and none unused for `maxAgeMs`, the least
 * recently used going first, and a handle of a pair gone answers NFS3ERR_STALE. A pair's time of use is
 * stored again only once it is `maxAgeMs / 10` old, so a handle in use costs a disk write now and then,
 * not one per call, and stays valid as long as it is used.
 *
 * READDIRPLUS hands out a handle for every entry it lists, most never used: such pairs are kept apart,
 * as minted, and go before any pair a client has used, so one large listing cannot push out the handles
 * clients hold. Pairs the gateway knows to be held (a mounted root, a file open for writing: `holders`)
 * are never dropped. A clock that jumps ahead would age every pair at once: a stretch of over a day in
 * which no pair was used (the gateway down, the clock set forward) does not count toward any age.
 *
 * A bucket deleted and created again has a new incarnation, so handles into the old one answer
 * NFS3ERR_STALE, as do handles of keys that no longer exist.
 */
import { createHash } from 'node:crypto';
import type { AuthSnapshot, BucketRecord } from '../../../core/auth-snapshot.js';
import { namespaceOf } from '../../../core/bucket-namespace.js';
import { NFS3_FHSIZE } from '../../../protocol/nfs/nfs3-types.js';
import type { Clock } from '../../../runtime/clock.js';
import type { AuthView } from '../../common/auth-view.js';

const VERSION = 1;
const INLINE = 0;
const HASHED = 1;
const HEADER_BYTES = 10;
export const MAX_INLINE_KEY_BYTES = NFS3_FHSIZE - HEADER_BYTES;

export type ParsedHandle =
  | { readonly ok: true; readonly bucketTag: string; readonly key: string; readonly hashed: false }
  | { readonly ok: true; readonly bucketTag: string; readonly keyHash: string; readonly hashed: true }
  | { readonly ok: false; readonly status: 'NFS3ERR_BADHANDLE' };

function md5(text: string): Buffer {
  return createHash('md5').update(text, 'utf8').digest();
}

/** 8 bytes that name a bucket's incarnation, in hex: the handle's and the file system id's. */
export function bucketTagOf(bucket: { readonly name: string; readonly incarnation?: string }): string {
  return md5(namespaceOf(bucket)).subarray(0, 8).toString('hex');
}

/** The handle of `key` in the bucket tagged `bucketTag`; `keyHash` is set when the handle names the key by hash. */
export function encodeHandle(bucketTag: string, key: string): { readonly handle: Buffer; readonly keyHash: string | undefined } {
  const keyBytes = Buffer.from(key, 'utf8');
  const tag = Buffer.from(bucketTag, 'hex');
  if (keyBytes.length <= MAX_INLINE_KEY_BYTES) {
    return { handle: Buffer.concat([Buffer.from([VERSION, INLINE]), tag, keyBytes]), keyHash: undefined };
  }
  const hash = md5(key);
  return { handle: Buffer.concat([Buffer.from([VERSION, HASHED]), tag, hash]), keyHash: hash.toString('hex') };
}

/** Reads a handle's fields; anything this gateway did not make is NFS3ERR_BADHANDLE. Never throws. */
export function parseHandle(handle: Buffer): ParsedHandle {
  if (handle.length < HEADER_BYTES || handle[0] !== VERSION) return { ok: false, status: 'NFS3ERR_BADHANDLE' };
  const bucketTag = handle.subarray(2, HEADER_BYTES).toString('hex');
  const rest = handle.subarray(HEADER_BYTES);
  if (handle[1] === HASHED) {
    if (rest.length !== 16) return { ok: false, status: 'NFS3ERR_BADHANDLE' };
    return { ok: true, bucketTag, keyHash: rest.toString('hex'), hashed: true };
  }
  if (handle[1] !== INLINE) return { ok: false, status: 'NFS3ERR_BADHANDLE' };
  const key = new TextDecoder('utf-8', { fatal: false }).decode(rest);
  if (Buffer.byteLength(key, 'utf8') !== rest.length) return { ok: false, status: 'NFS3ERR_BADHANDLE' };
  return { ok: true, bucketTag, key, hashed: false };
}

/** A 64-bit number for a key, the same on every gateway: NFS's fileid (the inode number clients show). */
export function fileIdOf(bucketTag: string, key: string): bigint {
  const id = md5(`${bucketTag}\0${key}`).readBigUInt64BE(0);
  // 0 is not a valid inode number to many clients.
  return id === 0n ? 1n : id;
}

/** A long key's pair in the table, with when it was last used (absent in pairs written before that was kept). */
export interface HandleRecord {
  readonly key: string;
  readonly usedAtMs?: number;
}

/** Where the hash → key pairs of long keys are kept (the gateway's node state; a Map in tests). */
export interface HandleStore {
  get(keyHash: string): HandleRecord | undefined;
  put(keyHash: string, value: HandleRecord): Promise<void>;
  remove(keyHash: string): Promise<void>;
  entries(): Array<[string, HandleRecord]>;
}

/** Whether the pair of `keyHash` (for `key`) is held: a mounted root, an open file. */
export type HandleHolders = (keyHash: string, key: string) => boolean;

/** A stretch without any use longer than this is taken as time the table was not in use, not as age. */
const MAX_IDLE_GAP_MS = 24 * 60 * 60 * 1000;

export interface HandleTableLimits {
  readonly clock: Clock;
  readonly maxEntries: number;
  readonly maxAgeMs: number;
}

export function isHandleRecord(value: unknown): value is HandleRecord {
  if (typeof value !== 'object' || value === null) return false;
  const { key, usedAtMs } = value as { key?: unknown; usedAtMs?: unknown };
  return typeof key === 'string' && (usedAtMs === undefined || (typeof usedAtMs === 'number' && Number.isFinite(usedAtMs)));
}

export type ResolvedHandle =
  | { readonly ok: true; readonly bucket: BucketRecord; readonly bucketTag: string; readonly key: string }
  | { readonly ok: false; readonly status: 'NFS3ERR_BADHANDLE' | 'NFS3ERR_STALE' };

export class FileHandles {
  private indexedSnapshot: AuthSnapshot | undefined;
  private bucketsByTag = new Map<string, BucketRecord>();
  /** When each long key's pair used by a client was last used, least recently first. */
  private readonly usedAtMs = new Map<string, number>();
  /** Pairs only handed out in a listing, never resolved, least recently first: dropped before any used one. */
  private readonly minted = new Map<string, number>();
  /** The latest time of use recorded, on the table's own time line. */
  private newestUseMs = Number.NEGATIVE_INFINITY;
  /** Added to the clock's time to make the table's: the idle stretches left out of every age. */
  private skippedMs = 0;
  private holders: HandleHolders = () => false;

  constructor(
    private readonly view: AuthView,
    private readonly store: HandleStore,
    private readonly limits: HandleTableLimits,
  ) {
    const nowMs = limits.clock.now();
    const loaded = store.entries().map(([hash, record]) => [hash, record.usedAtMs ?? nowMs] as const);
    for (const [hash, atMs] of loaded.sort((a, b) => a[1] - b[1])) {
      this.usedAtMs.set(hash, atMs);
      this.newestUseMs = Math.max(this.newestUseMs, atMs);
    }
  }

  /** Pairs of long keys kept. */
  get longKeys(): number {
    return this.usedAtMs.size + this.minted.size;
  }

  /** Tells the table which pairs are held and must not be dropped. */
  holdWith(holders: HandleHolders): void {
    this.holders = holders;
  }

  /**
   * A handle for `key`, its hash → key pair stored first when the handle needs one. A handle only
   * `minted` (listed by READDIRPLUS) counts as used once a client resolves it.
   */
  async handleFor(bucketTag: string, key: string, minted = false): Promise<Buffer> {
    const { handle, keyHash } = encodeHandle(bucketTag, key);
    if (keyHash !== undefined) await this.used(keyHash, key, minted);
    return handle;
  }

  /** The table's time now: the clock's, less the idle stretches (MAX_IDLE_GAP_MS) before it. */
  private tableNowMs(): number {
    const nowMs = this.limits.clock.now() + this.skippedMs;
    if (Number.isFinite(this.newestUseMs) && nowMs - this.newestUseMs > MAX_IDLE_GAP_MS) {
      this.skippedMs -= nowMs - this.newestUseMs;
      return this.newestUseMs;
    }
    return nowMs;
  }

  /** Marks a long key's pair used now, stores it when new or its stored time is old, and prunes the table. */
  private async used(keyHash: string, key: string, minted: boolean): Promise<void> {
    const nowMs = this.tableNowMs();
    this.newestUseMs = Math.max(this.newestUseMs, nowMs);
    // A listing of a pair a client already uses leaves it where it is.
    if (minted && this.usedAtMs.has(keyHash)) return;
    const generation = minted ? this.minted : this.usedAtMs;
    if (!minted) this.minted.delete(keyHash);
    generation.delete(keyHash);
    generation.set(keyHash, nowMs);
    const stored = this.store.get(keyHash);
    const stale = stored?.usedAtMs === undefined || nowMs - stored.usedAtMs >= this.limits.maxAgeMs / 10;
    if (stored?.key !== key || stale) await this.store.put(keyHash, { key, usedAtMs: nowMs });
    await this.prune(nowMs);
  }

  /** Drops pairs over the count, minted ones first, and pairs too old; never a held one. */
  private async prune(nowMs: number): Promise<void> {
    for (const generation of [this.minted, this.usedAtMs]) {
      for (const [hash, atMs] of generation) {
        const over = this.longKeys > this.limits.maxEntries;
        if (!over && nowMs - atMs < this.limits.maxAgeMs) break;
        const key = this.store.get(hash)?.key;
        if (key !== undefined && this.holders(hash, key)) continue;
        generation.delete(hash);
        await this.store.remove(hash);
      }
    }
  }

  /** The bucket and key a handle names; STALE when the bucket (this incarnation of it) is gone or the key unknown. */
  resolve(handle: Buffer): ResolvedHandle {
    const parsed = parseHandle(handle);
    if (!parsed.ok) return parsed;
    const bucket = this.bucketByTag(parsed.bucketTag);
    if (bucket === undefined) return { ok: false, status: 'NFS3ERR_STALE' };
    const key = parsed.hashed ? this.store.get(parsed.keyHash)?.key : parsed.key;
    if (key === undefined) return { ok: false, status: 'NFS3ERR_STALE' };
    // A failed write of the time of use costs nothing but an earlier prune of this pair.
    if (parsed.hashed) void this.used(parsed.keyHash, key, false).catch(() => undefined);
    return { ok: true, bucket, bucketTag: parsed.bucketTag, key };
  }

  private bucketByTag(tag: string): BucketRecord | undefined {
    const snapshot = this.view.current;
    if (snapshot !== this.indexedSnapshot) {
      this.indexedSnapshot = snapshot;
      this.bucketsByTag = new Map((snapshot?.buckets ?? []).map((bucket) => [bucketTagOf(bucket), bucket]));
    }
    return this.bucketsByTag.get(tag);
  }
}
