/**
 * PutObject: the body is stored as it arrives (whole, or as chunks), its digests are checked once it
 * has all arrived, and only then is the object's record written, which is the moment it becomes
 * visible. Any failure before that deletes what was stored.
 */
import { newVersionId } from '../../../core/chunk-layout.js';
import type { ObjectMeta } from '../../../core/object-meta.js';
import type { WriteCondition } from '../../../core/write-condition.js';
import { quoteEtag } from '../../../protocol/s3/checksums.js';
import { S3Error } from '../../../protocol/s3/errors.js';
import { getHeader, parseStorageClass, type HeaderBag } from '../../../protocol/s3/headers.js';
import type { ObjectFields } from '../../../protocol/cluster/storage-api.js';
import { recordBody, writeBody } from '../body-writer.js';
import { deleteChunks } from '../../common/chunk-deletion.js';
import { checksumHeaders, descriptiveFields, toMetaAlgorithm } from '../object-headers.js';
import { keepsBodiesInline, writeObjectRecord, writtenVersionHeaders } from '../object-records.js';
import { requestedLock } from './object-lock.js';
import { writeAclOf } from '../acl-requests.js';
import { authorizeAclOnWrite } from '../authorization.js';
import { encryptedPieces, encryptionForWrite, encryptionHeaders, etagFor, oneWriteEncryption, requestedEncryption, type WriteEncryption } from '../server-side-encryption.js';
import { requestedTags } from './tagging.js';
import { retireReplaced } from '../object-versions.js';
import { MAX_UPLOAD_BYTES, openBody } from '../request-body.js';
import { bucketOf, type GatewayDeps, type OperationOf, type RequestContext } from '../request-context.js';
import { sendEmpty } from '../responses.js';
import { expectOk } from '../storage-errors.js';

export async function putObject(ctx: RequestContext, op: OperationOf<'PutObject'>): Promise<void> {
  const { deps, headers } = ctx;
  checkWriteHeaders(headers);
  authorizeAclOnWrite(ctx, bucketOf(ctx), op.key, headers);
  const acl = writeAclOf(deps.authView, headers, bucketOf(ctx), ctx.user?.userId);
  const described = descriptiveFields(headers);
  const tags = requestedTags(headers);
  const lock = requestedLock(headers, ctx.bucket, deps.clock.now());
  const encryption = encryptionForWrite(deps, ctx.bucket, requestedEncryption(headers));
  const body = openBody(ctx, { requireLength: true, maxBytes: MAX_UPLOAD_BYTES, tooLarge: 'EntityTooLarge' });

  const versionId = newVersionId();
  const stored = await writeBody({ ...deps, memory: ctx.memory }, { bucket: op.bucket, key: op.key, versionId }, encryptedIfAsked(body.pieces(), encryption, versionId), {
    chunkSizeBytes: deps.config.chunkSizeBytes,
    maxChunksInFlight: deps.config.maxChunksInFlight,
    expectedBytes: body.declaredBytes,
    allowInline: keepsBodiesInline(ctx.bucket),
  });
  let committed = false;
  let mayLand = false;
  try {
    const digests = await body.finish();
    const fields: ObjectFields = {
      bucket: op.bucket,
      key: op.key,
      sizeBytes: stored.sizeBytes,
      etag: etagFor(encryption, digests.md5Hex),
      ...described,
      ...(digests.checksum === undefined ? {} : { checksums: { [toMetaAlgorithm(digests.checksum.algorithm)]: digests.checksum.base64 } }),
      ...(stored.layout === undefined ? {} : { chunks: stored.layout }),
      ...(tags === undefined ? {} : { tags }),
      ...(encryption === undefined ? {} : { encryption: oneWriteEncryption(encryption, versionId) }),
      acl,
      ...lock,
    };
    // A condition is decided by the key's replicas as the record is written, never by a separate read.
    const result = await writeObjectRecord(deps, ctx.bucket, fields, recordBody(stored), writeConditionOf(headers));
    mayLand = recordMayLand(result);
    const { meta: written, replaced } = expectOk(result);
    committed = true;
    afterObjectWrite(ctx, replaced, written, stored.inline);
    sendEmpty(ctx, 200, {
      ETag: quoteEtag(written.etag), ...checksumHeaders(written.checksums), ...writtenVersionHeaders(written), ...encryptionHeaders(written.encryption, encryption?.keyMd5),
    });
  } finally {
    if (!committed && !mayLand) await deleteChunks(deps, op.bucket, op.key, stored.layout);
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
export function afterObjectWrite(ctx: RequestContext, replaced: ObjectMeta | undefined, written: ObjectMeta, inline: Uint8Array | undefined): void {
  afterRecordWrite(ctx.deps, replaced, written, inline);
}

/** The same, for writers outside an S3 request (the NFS gateway). */
export function afterRecordWrite(deps: GatewayDeps, replaced: ObjectMeta | undefined, written: ObjectMeta, inline: Uint8Array | undefined): void {
  deps.cache.invalidate(written.bucket, written.key);
  if (inline !== undefined) deps.cache.offer(written, inline);
  retireReplaced(deps, replaced, written);
}

/**
 * Headers of a write this store cannot honour are refused before any byte is stored (object lock
 * headers are judged by object-lock.ts, ACLs by acl-requests.ts, against the bucket).
 */
export function checkWriteHeaders(headers: HeaderBag): void {
  const storageClass = parseStorageClass(headers);
  if (!storageClass.ok) throw storageClass.error;
  for (const name of Object.keys(headers)) {
    const refusal = UNHONOURED_WRITE_HEADERS.find(([pattern]) => pattern.test(name));
    if (refusal) throw refusal[1](name);
  }
}

/**
 * A body encrypted as `encryption` says (a write to be stored as the body write `versionId`), or as it
 * came when it is not to be encrypted.
 */
export function encryptedIfAsked(source: AsyncIterable<Buffer>, encryption: WriteEncryption | undefined, versionId: string): AsyncIterable<Buffer> {
  return encryption === undefined ? source : encryptedPieces(source, encryption.dataKey, versionId);
}

/** Write headers of features this store does not have, with the answer S3 gives where it has one. */
const UNHONOURED_WRITE_HEADERS: ReadonlyArray<readonly [RegExp, (header: string) => S3Error]> = [
  [/^x-amz-website-redirect-location$/, (header) => new S3Error('NotImplemented', 'Website redirects are not supported.', { fields: { Header: header } })],
];

/** If-Match and If-None-Match of a write, for the storage cluster to decide atomically. */
export function writeConditionOf(headers: HeaderBag): WriteCondition | undefined {
  const ifMatch = getHeader(headers, 'if-match');
  const ifNoneMatch = getHeader(headers, 'if-none-match');
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
  return { ...(ifMatch === undefined ? {} : { ifMatch }), ...(ifNoneMatch === undefined ? {} : { ifNoneMatch }) };
}
