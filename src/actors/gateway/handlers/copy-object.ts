/**
 * CopyObject, and the copy source that UploadPartCopy shares. A copy writes the data again under the
 * destination's own chunks (streamed, never whole in memory): sharing the source's chunks would let a
 * delete of either object destroy the other's data.
 */
import { newVersionId } from '../../../core/chunk-layout.js';
import type { ChecksumAlgorithm, ComputedDigests } from '../../../protocol/s3/checksums.js';
import { conditionError, evaluateCopySourceConditions } from '../../../protocol/s3/conditionals.js';
import { S3Error } from '../../../protocol/s3/errors.js';
import type { ByteRange } from '../../../protocol/s3/range.js';
import type { CopySource } from '../../../protocol/s3/router.js';
import { buildCopyObjectResult } from '../../../protocol/s3/xml.js';
import type { ObjectFields } from '../../../protocol/cluster/storage-api.js';
import type { ObjectMeta } from '../../../core/object-meta.js';
import { authorizeAclOnWrite, authorizeAction, authorizeVersion } from '../authorization.js';
import { readBody } from '../body-reader.js';
import { recordBody, writeBody, type StoredBody } from '../body-writer.js';
import { deleteChunks } from '../../common/chunk-deletion.js';
import type { StreamHashes } from '../digest-pool.js';
import {
  descriptiveFields, descriptiveFieldsOf, requestedChecksumAlgorithm, storedChecksum, toMetaAlgorithm,
} from '../object-headers.js';
import { keepsBodiesInline, versionHeaders, writeObjectRecord, writtenVersionHeaders } from '../object-records.js';
import { parseTaggingDirective } from '../../../protocol/s3/headers.js';
import { requestedLock } from './object-lock.js';
import { requestedTags } from './tagging.js';
import { loadObject, type LoadedObject } from '../object-versions.js';
import { bucketOf, requesterId, type OperationOf, type RequestContext } from '../request-context.js';
import { writeAclOf } from '../acl-requests.js';
import { sendXml } from '../responses.js';
import { expectOk } from '../storage-errors.js';
import { afterObjectWrite, checkWriteHeaders, encryptedIfAsked, recordMayLand, writeConditionOf } from './put-object.js';
import { bodyDecryptor, encryptionForWrite, etagFor, oneWriteEncryption, encryptionHeaders, readDataKey, requestedEncryption, type WriteEncryption } from '../server-side-encryption.js';

/** S3 copies at most 5 GiB in one request; larger objects are copied part by part. */
export const MAX_COPY_BYTES = 5 * 1024 * 1024 * 1024;

/** A copy's source, with the data key that decrypts its body when it is encrypted. */
export interface CopySourceObject extends LoadedObject {
  readonly dataKey: Buffer | undefined;
}

/**
 * The source of a copy, readable by the requester, its x-amz-copy-source-if-* conditions met, and an
 * SSE-C source's key given in the x-amz-copy-source-server-side-encryption-customer-* headers.
 */
export async function openCopySource(ctx: RequestContext, source: CopySource): Promise<CopySourceObject> {
  const { bucket, pending } = authorizeAction(ctx.deps.authView, ctx, source.bucket, source.versionId === undefined ? 's3:GetObject' : 's3:GetObjectVersion', source.key);
  let loaded: LoadedObject;
  try {
    loaded = await loadObject(ctx.deps, source.bucket, source.key, true, source.versionId);
  } catch (error) {
    // A source the requester may not read is not told apart from one that is not there.
    if (pending !== undefined) authorizeVersion(ctx, bucket, pending, undefined);
    throw error;
  }
  if (pending !== undefined) authorizeVersion(ctx, bucket, pending, loaded.meta);
  const outcome = evaluateCopySourceConditions(ctx.headers, { etag: loaded.meta.etag, lastModified: loaded.meta.lastModifiedMs });
  if (outcome.type !== 'proceed') throw conditionError(outcome);
  return { ...loaded, dataKey: readDataKey(ctx.deps, loaded.meta.encryption, ctx.headers, true).dataKey };
}

export interface CopiedBody {
  readonly stored: StoredBody;
  /** The id of the body write the copy made (its chunks', and its encryption's counter nonce). */
  readonly runId: string;
  readonly md5Hex: string;
  readonly checksum: { readonly algorithm: ChecksumAlgorithm; readonly base64: string } | undefined;
}

/**
 * Writes `range` of the source (all of it when undefined) as a new body of `target`: decrypted with the
 * source's key, hashed as plaintext, encrypted as `target.encryption` says.
 */
export async function copyBody(
  ctx: RequestContext,
  source: CopySourceObject,
  range: ByteRange | undefined,
  target: { readonly bucket: string; readonly key: string; readonly allowInline: boolean; readonly encryption: WriteEncryption | undefined },
  checksumAlgorithm: ChecksumAlgorithm | undefined,
): Promise<CopiedBody> {
  const { deps } = ctx;
  const expectedBytes = range === undefined ? source.meta.sizeBytes : range.end - range.start + 1;
  // The source reader has an account of its own, outside the user's cap: its writer's account holds
  // the chunk buffers it fills, within the cap (see body-memory.ts).
  const readerMemory = deps.bodyMemory.account(requesterId(ctx), { capped: false });
  const decrypt = bodyDecryptor(source.meta, source.dataKey);
  const pieces = readBody({ storage: deps.storage, memory: readerMemory, meta: source.meta, inline: source.body, ...(decrypt === undefined ? {} : { decrypt }) }, range, deps.config);
  const versionId = newVersionId();
  const hashes = deps.digests.hashesFor({ sha256: false, checksum: checksumAlgorithm }, expectedBytes);
  let stored: StoredBody;
  try {
    stored = await writeBody({ ...deps, memory: ctx.memory }, { bucket: target.bucket, key: target.key, versionId }, encryptedIfAsked(hashing(pieces, hashes), target.encryption, versionId), {
      chunkSizeBytes: deps.config.chunkSizeBytes,
      maxChunksInFlight: deps.config.maxChunksInFlight,
      expectedBytes,
      allowInline: target.allowInline,
    });
  } catch (error) {
    hashes.abandon();
    throw error;
  }
  let digests: ComputedDigests;
  try {
    digests = await hashes.digests();
  } catch (error) {
    await deleteChunks(deps, target.bucket, target.key, stored.layout);
    throw error;
  }
  return {
    stored,
    runId: versionId,
    md5Hex: digests.md5.toString('hex'),
    checksum: digests.checksum === undefined || checksumAlgorithm === undefined ? undefined : { algorithm: checksumAlgorithm, base64: digests.checksum.toString('base64') },
  };
}

/** x-amz-copy-source-version-id: the version copied, where the source speaks of versions. */
export function sourceVersionHeaders(ctx: RequestContext, bucket: string, source: ObjectMeta): Record<string, string> {
  const headers = versionHeaders(ctx.deps.authView.bucket(bucket), source);
  return headers['x-amz-version-id'] === undefined ? {} : { 'x-amz-copy-source-version-id': headers['x-amz-version-id'] };
}

/** `source` as it passes, every byte fed to `hashes` (the copy's and NFS's stored bodies). */
export async function* hashing(source: AsyncIterable<Buffer>, hashes: StreamHashes): AsyncGenerator<Buffer> {
  for await (const piece of source) {
    const waiting = hashes.update(piece);
    if (waiting !== undefined) await waiting;
    yield piece;
  }
}

export async function copyObject(ctx: RequestContext, op: OperationOf<'CopyObject'>): Promise<void> {
  const { deps, headers } = ctx;
  checkWriteHeaders(headers);
  authorizeAclOnWrite(ctx, bucketOf(ctx), op.key, headers);
  const acl = writeAclOf(deps.authView, headers, bucketOf(ctx), ctx.user?.userId);
  const replaced = op.metadataDirective === 'REPLACE' ? descriptiveFields(headers) : undefined;
  const taggingDirective = parseTaggingDirective(headers);
  if (!taggingDirective.ok) throw taggingDirective.error;
  const replacedTags = taggingDirective.value === 'REPLACE' ? requestedTags(headers) : undefined;
  // A copy is a new version: its lock comes from the request or the bucket, never from the source.
  const lock = requestedLock(headers, ctx.bucket, deps.clock.now());
  const requested = requestedChecksumAlgorithm(headers);
  const source = await openCopySource(ctx, op.source);
  if (source.meta.sizeBytes > MAX_COPY_BYTES) {
    throw new S3Error('InvalidRequest', `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_COPY_BYTES}`);
  }
  // A full-object checksum carries over (recomputed over the copy); a composite one describes parts the copy does not have.
  const sourceChecksum = storedChecksum(source.meta.checksums);
  const algorithm = requested ?? (sourceChecksum !== undefined && !sourceChecksum.value.includes('-') ? sourceChecksum.algorithm : undefined);
  const encryption = encryptionForWrite(deps, ctx.bucket, requestedEncryption(headers));
  const copied = await copyBody(ctx, source, undefined, { bucket: op.bucket, key: op.key, allowInline: keepsBodiesInline(ctx.bucket), encryption }, algorithm);
  const tags = taggingDirective.value === 'REPLACE' ? replacedTags : source.meta.tags;
  let committed = false;
  let mayLand = false;
  try {
    const fields: ObjectFields = {
      bucket: op.bucket,
      key: op.key,
      sizeBytes: copied.stored.sizeBytes,
      etag: etagFor(encryption, copied.md5Hex),
      ...(replaced ?? descriptiveFieldsOf(source.meta)),
      ...(copied.checksum === undefined ? {} : { checksums: { [toMetaAlgorithm(copied.checksum.algorithm)]: copied.checksum.base64 } }),
      ...(copied.stored.layout === undefined ? {} : { chunks: copied.stored.layout }),
      ...(tags === undefined ? {} : { tags }),
      ...(encryption === undefined ? {} : { encryption: oneWriteEncryption(encryption, copied.runId) }),
      acl,
      ...lock,
    };
    const result = await writeObjectRecord(deps, ctx.bucket, fields, recordBody(copied.stored), writeConditionOf(headers));
    mayLand = recordMayLand(result);
    const { meta: written, replaced: previous } = expectOk(result);
    committed = true;
    afterObjectWrite(ctx, previous, written, copied.stored.inline);
    sendXml(ctx, 200, buildCopyObjectResult({
      etag: written.etag,
      lastModified: written.lastModifiedMs,
      ...(copied.checksum === undefined ? {} : { checksums: { [copied.checksum.algorithm]: copied.checksum.base64 } }),
    }), { ...writtenVersionHeaders(written), ...sourceVersionHeaders(ctx, op.source.bucket, source.meta), ...encryptionHeaders(written.encryption, encryption?.keyMd5) });
  } finally {
    if (!committed && !mayLand) await deleteChunks(deps, op.bucket, op.key, copied.stored.layout);
  }
}
