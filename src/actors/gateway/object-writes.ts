/**
 * Writing a new object from its plaintext, the one path of PutObject and the NFS gateway: the body is
 * encrypted as decided, stored as it arrives (whole, or as chunks), its digests taken once it has all
 * arrived, and only then is the object's record written, which is the moment it becomes visible. Any
 * failure before that deletes what was stored.
 */
import type { BucketRecord } from '../../core/auth-snapshot.js';
import { newVersionId } from '../../core/chunk-layout.js';
import type { ObjectChecksums, ObjectMeta } from '../../core/object-meta.js';
import type { WriteCondition } from '../../core/write-condition.js';
import type { ObjectFields } from '../../protocol/cluster/storage-api.js';
import { deleteChunks } from '../common/chunk-deletion.js';
import type { BodyMemoryAccount } from './body-memory.js';
import type { BodyHashFeed } from './digest-pool.js';
import { recordBody, writeBody } from './body-writer.js';
import { keepsBodiesInline, writeObjectRecord } from './object-records.js';
import type { UnhashedBody } from './request-body.js';
import type { GatewayDeps } from './request-context.js';
import { retireReplaced } from './object-versions.js';
import { encryptedPieces, etagFor, oneWriteEncryption, type WriteEncryption } from './server-side-encryption.js';
import { expectOk } from './storage-errors.js';

/** What a new object's record says besides its body: descriptive fields, tags, ACL, lock. */
export type ObjectDescription = Omit<ObjectFields, 'bucket' | 'key' | 'sizeBytes' | 'etag' | 'chunks' | 'encryption' | 'checksums'>;

export interface NewObject {
  readonly bucket: string;
  readonly key: string;
  /** The bucket's record: its versioning decides how the record is written. */
  readonly bucketRecord: BucketRecord | undefined;
  /** The plaintext, in pieces. */
  readonly pieces: AsyncIterable<Buffer>;
  /**
   * The plaintext unhashed, read instead of `pieces` when the body is stored as it came and its size is
   * declared: the writer feeds the hashes itself, sparing a copy (body-writer.ts).
   */
  readonly unhashed?: () => UnhashedBody;
  readonly expectedBytes: number | undefined;
  readonly encryption: WriteEncryption | undefined;
  readonly description: ObjectDescription;
  readonly condition: WriteCondition | undefined;
  /** The plaintext's digests once every piece has passed (and been checked, where the writer checks them). */
  finish(): Promise<{ readonly md5Hex: string; readonly checksums?: ObjectChecksums }>;
  /** Called when the body could not be stored, before the failure is thrown on. */
  abandon?(): void;
}

export interface WrittenObject {
  readonly written: ObjectMeta;
  readonly replaced: ObjectMeta | undefined;
  /** The body when it was kept in the record (the cache may take it). */
  readonly inline: Uint8Array | undefined;
}

/** Stores `object` as a new version of its key; the cache learns of it and the version it replaced is retired. */
export async function writeNewObject(deps: GatewayDeps, memory: BodyMemoryAccount, object: NewObject): Promise<WrittenObject> {
  const { bucket, key, encryption } = object;
  const versionId = newVersionId();
  const source = bodyToStore(object.pieces, object.unhashed, object.expectedBytes, encryption, versionId);
  let stored;
  try {
    stored = await writeBody({ ...deps, memory }, { bucket, key, versionId }, source.pieces, {
      chunkSizeBytes: deps.config.chunkSizeBytes,
      maxChunksInFlight: deps.config.maxChunksInFlight,
      expectedBytes: object.expectedBytes,
      allowInline: keepsBodiesInline(object.bucketRecord),
      hashes: source.hashes,
    });
  } catch (error) {
    object.abandon?.();
    throw error;
  }
  let committed = false;
  let mayLand = false;
  try {
    const digests = await object.finish();
    const fields: ObjectFields = {
      ...object.description,
      bucket,
      key,
      sizeBytes: stored.sizeBytes,
      etag: etagFor(encryption, digests.md5Hex),
      ...(digests.checksums === undefined ? {} : { checksums: digests.checksums }),
      ...(stored.layout === undefined ? {} : { chunks: stored.layout }),
      ...(encryption === undefined ? {} : { encryption: oneWriteEncryption(encryption, versionId) }),
    };
    // A condition is decided by the key's replicas as the record is written, never by a separate read.
    const result = await writeObjectRecord(deps, object.bucketRecord, fields, recordBody(stored), object.condition);
    mayLand = recordMayLand(result);
    const { meta: written, replaced } = expectOk(result);
    committed = true;
    afterRecordWrite(deps, replaced, written, stored.inline);
    return { written, replaced, inline: stored.inline };
  } finally {
    if (!committed && !mayLand) await deleteChunks(deps, bucket, key, stored.layout);
  }
}

/**
 * Whether a record write that failed may still land: a timeout leaves its outcome open, so the chunks it
 * names are left to the orphan sweep, which removes them only once no record names them.
 */
export function recordMayLand(result: { readonly ok: boolean; readonly code?: string }): boolean {
  return !result.ok && result.code === 'Timeout';
}

/** What every write of an object's record is followed by: the cache learns, the replaced version goes. */
export function afterRecordWrite(deps: GatewayDeps, replaced: ObjectMeta | undefined, written: ObjectMeta, inline: Uint8Array | undefined): void {
  // Offered first, so that a cached object's new version replaces it at once; one not taken in drops it.
  if (inline === undefined || !deps.cache.offer(written, inline)) deps.cache.invalidate(written.bucket, written.key);
  retireReplaced(deps, replaced, written);
}

/**
 * What a writer stores from. A body stored as it came, of declared size, is read unhashed when the
 * request offers that (`unhashed`): the writer feeds the hashes from its chunks, sparing a copy
 * (body-writer.ts). Any other is `pieces`, encrypted as asked, hashed as they are read.
 */
export function bodyToStore(
  pieces: AsyncIterable<Buffer>,
  unhashed: (() => UnhashedBody) | undefined,
  expectedBytes: number | undefined,
  encryption: WriteEncryption | undefined,
  versionId: string,
): { readonly pieces: AsyncIterable<Buffer>; readonly hashes: BodyHashFeed | undefined } {
  if (encryption === undefined && expectedBytes !== undefined && unhashed !== undefined) return unhashed();
  return { pieces: encryptedIfAsked(pieces, encryption, versionId), hashes: undefined };
}

/**
 * A body encrypted as `encryption` says (a write to be stored as the body write `versionId`), or as it
 * came when it is not to be encrypted.
 */
export function encryptedIfAsked(source: AsyncIterable<Buffer>, encryption: WriteEncryption | undefined, versionId: string): AsyncIterable<Buffer> {
  return encryption === undefined ? source : encryptedPieces(source, encryption.dataKey, versionId);
}
