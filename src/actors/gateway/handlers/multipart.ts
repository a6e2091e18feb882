/**
 * Multipart uploads (record layout in core/upload-records.ts). Each part's body is written as chunks under
 * the object key with a version id of its own; completing the upload writes the object's record with
 * the parts' chunks concatenated, so no part is read or copied again. Concurrent uploads of one key,
 * and a part uploaded twice, never share a chunk.
 */
import { concatLayouts, newVersionId, versionIdsOf } from '../../../core/chunk-layout.js';
import type { ListingEntry } from '../../../core/listing.js';
import type { ChunkLayout, ObjectMeta } from '../../../core/object-meta.js';
import { compositeChecksum, multipartEtag, quoteEtag, type ChecksumAlgorithm } from '../../../protocol/s3/checksums.js';
import { S3Error } from '../../../protocol/s3/errors.js';
import { getHeader } from '../../../protocol/s3/headers.js';
import { parseCopySourceRange, type ByteRange } from '../../../protocol/s3/range.js';
import {
  MAX_XML_BODY_BYTES, buildCompleteMultipartUploadResult, buildCopyPartResult, buildInitiateMultipartUploadResult,
  buildListMultipartUploadsResult, buildListPartsResult, parseCompleteMultipartUpload, type ChecksumValues,
  type CompletedPart, type UploadSummary,
} from '../../../protocol/s3/xml.js';
import type { ObjectFields } from '../../../protocol/cluster/storage-api.js';
import { writeBody, type StoredBody } from '../body-writer.js';
import { deleteChunks } from '../../common/chunk-deletion.js';
import {
  checksumHeaders, descriptiveFields, descriptiveFieldsOf, fromMetaAlgorithm, requestedChecksumAlgorithm, storedChecksum,
  toMetaAlgorithm,
} from '../object-headers.js';
import { writeObjectRecord, writtenVersionHeaders } from '../object-records.js';
import { mapBounded } from '../../../runtime/bounded.js';
import { requestedLock } from './object-lock.js';
import { requestedTags } from './tagging.js';
import { currentObject, retireReplaced } from '../object-versions.js';
import { MAX_UPLOAD_BYTES, openBody, readSmallBody } from '../request-body.js';
import { bucketOf, requesterId, type GatewayDeps, type OperationOf, type RequestContext } from '../request-context.js';
import { sendEmpty, sendXml } from '../responses.js';
import { expectOk, storageFailureError } from '../storage-errors.js';
import {
  afterUploadsOf, isUploadId, newUploadId, parsePartRecordKey, parseUploadRecordKey, partRecordKey, partRecordPrefix,
  uploadRecordKey, uploadRecordPrefix,
} from '../../../core/upload-records.js';
import { copyBody, openCopySource } from './copy-object.js';
import { bodyToStore } from '../object-writes.js';
import { afterObjectWrite, checkWriteHeaders, writeConditionOf } from './put-object.js';
import { encryptionForWrite, encryptionHeaders, etagFor, readDataKey, requestedEncryption, type WriteEncryption } from '../server-side-encryption.js';
import { writeAclOf } from '../acl-requests.js';
import { authorizeAclOnWrite } from '../authorization.js';

/** Part records read at once when completing or discarding an upload. */
const PART_READ_CONCURRENCY = 8;
const LIST_PAGE_KEYS = 1000;
/** Sorts above any character of a key, to resume a scan after everything under a prefix. */
const AFTER_ALL = '\u{10FFFF}';

export async function createMultipartUpload(ctx: RequestContext, op: OperationOf<'CreateMultipartUpload'>): Promise<void> {
  const { deps, headers } = ctx;
  checkWriteHeaders(headers);
  authorizeAclOnWrite(ctx, bucketOf(ctx), op.key, headers);
  const acl = writeAclOf(deps.authView, headers, bucketOf(ctx), ctx.user?.userId);
  const described = descriptiveFields(headers);
  const tags = requestedTags(headers);
  const lock = requestedLock(headers, ctx.bucket, deps.clock.now());
  const algorithm = requestedChecksumAlgorithm(headers);
  const checksumType = getHeader(headers, 'x-amz-checksum-type')?.trim().toUpperCase();
  if (checksumType !== undefined && checksumType !== 'COMPOSITE') {
    throw new S3Error('NotImplemented', 'Only COMPOSITE checksums are supported for multipart uploads.');
  }
  const encryption = encryptionForWrite(deps, ctx.bucket, requestedEncryption(headers));
  const uploadId = newUploadId();
  expectOk(await deps.storage.put('upload', {
    bucket: op.bucket,
    key: uploadRecordKey(op.key, uploadId),
    sizeBytes: 0,
    etag: '',
    ...described,
    ...(tags === undefined ? {} : { tags }),
    ...(encryption === undefined ? {} : { encryption: encryption.encryption }),
    acl,
    ...lock,
    multipart: {
      parts: [],
      uploadId,
      initiator: requesterId(ctx),
      ...(algorithm === undefined ? {} : { checksumAlgorithm: toMetaAlgorithm(algorithm) }),
    },
  }));
  sendXml(
    ctx,
    200,
    buildInitiateMultipartUploadResult({ bucket: op.bucket, key: op.key, uploadId, ...(algorithm === undefined ? {} : { checksumAlgorithm: algorithm }) }),
    { ...(algorithm === undefined ? {} : { 'x-amz-checksum-algorithm': algorithm }), ...encryptionHeaders(encryption?.encryption, encryption?.keyMd5) },
  );
}

export async function uploadPart(ctx: RequestContext, op: OperationOf<'UploadPart'>): Promise<void> {
  const { deps } = ctx;
  const upload = await requireUpload(deps, op.bucket, op.key, op.uploadId);
  const partKey = uploadDataKey(ctx, upload);
  const body = openBody(ctx, { requireLength: true, maxBytes: MAX_UPLOAD_BYTES, tooLarge: 'EntityTooLarge' });
  const versionId = newVersionId();
  const source = bodyToStore(body.pieces(), () => body.unhashedPieces(), body.declaredBytes, partKey, versionId);
  const stored = await writeBody({ ...deps, memory: ctx.memory }, { bucket: op.bucket, key: op.key, versionId }, source.pieces, {
    chunkSizeBytes: deps.config.chunkSizeBytes,
    maxChunksInFlight: deps.config.maxChunksInFlight,
    expectedBytes: body.declaredBytes,
    allowInline: false,
    hashes: source.hashes,
  });
  const written = await commitPart(ctx, op, upload, stored, async () => {
    const digests = await body.finish();
    return { md5Hex: etagFor(partKey, digests.md5Hex), checksum: digests.checksum };
  });
  sendEmpty(ctx, 200, { ETag: quoteEtag(written.etag), ...checksumHeaders(written.checksums), ...encryptionHeaders(upload.encryption, partKey?.keyMd5) });
}

/**
 * How the parts of `upload` are encrypted: with its data key (an SSE-C upload's parts each carry the
 * customer's key, which must be the one the upload was started with); undefined for a plain upload.
 */
function uploadDataKey(ctx: RequestContext, upload: ObjectMeta): WriteEncryption | undefined {
  const { dataKey, keyMd5 } = readDataKey(ctx.deps, upload.encryption, ctx.headers);
  if (dataKey === undefined || upload.encryption === undefined) return undefined;
  return { encryption: upload.encryption, dataKey, ...(keyMd5 === undefined ? {} : { keyMd5 }) };
}

export async function uploadPartCopy(ctx: RequestContext, op: OperationOf<'UploadPartCopy'>): Promise<void> {
  const { deps, headers } = ctx;
  const upload = await requireUpload(deps, op.bucket, op.key, op.uploadId);
  const source = await openCopySource(ctx, op.source);
  const rangeHeader = getHeader(headers, 'x-amz-copy-source-range');
  let range: ByteRange | undefined;
  if (rangeHeader !== undefined) {
    const parsed = parseCopySourceRange(rangeHeader, source.meta.sizeBytes);
    if (!parsed.ok) throw parsed.error;
    range = parsed.range;
  }
  const length = range === undefined ? source.meta.sizeBytes : range.end - range.start + 1;
  if (length > MAX_UPLOAD_BYTES) throw new S3Error('InvalidRequest', 'The specified copy range is larger than the maximum part size.');
  const uploadAlgorithm = upload.multipart?.checksumAlgorithm;
  const partKey = uploadDataKey(ctx, upload);
  const copied = await copyBody(ctx, source, range, { bucket: op.bucket, key: op.key, allowInline: false, encryption: partKey }, uploadAlgorithm === undefined ? undefined : fromMetaAlgorithm(uploadAlgorithm));
  const written = await commitPart(ctx, op, upload, copied.stored, () => ({ md5Hex: etagFor(partKey, copied.md5Hex), checksum: copied.checksum }));
  const part = storedChecksum(written.checksums);
  sendXml(ctx, 200, buildCopyPartResult({
    etag: written.etag,
    lastModified: written.lastModifiedMs,
    ...(part === undefined ? {} : { checksums: { [part.algorithm]: part.value } }),
  }), encryptionHeaders(upload.encryption, partKey?.keyMd5));
}

interface PartDigests {
  readonly md5Hex: string;
  readonly checksum: { readonly algorithm: ChecksumAlgorithm; readonly base64: string } | undefined;
}

/**
 * Writes a part's record over any earlier upload of the same part number, then makes sure the upload
 * was not completed or aborted meanwhile; if it was, the part is taken back.
 */
async function commitPart(
  ctx: RequestContext,
  op: OperationOf<'UploadPart' | 'UploadPartCopy'>,
  upload: ObjectMeta,
  stored: StoredBody,
  digest: () => PartDigests | Promise<PartDigests>,
): Promise<ObjectMeta> {
  const { deps } = ctx;
  const recordKey = partRecordKey(op.key, op.uploadId, op.partNumber);
  let committed = false;
  try {
    const digests = await digest();
    const uploadAlgorithm = upload.multipart?.checksumAlgorithm;
    if (uploadAlgorithm !== undefined && digests.checksum !== undefined && toMetaAlgorithm(digests.checksum.algorithm) !== uploadAlgorithm) {
      throw new S3Error('InvalidRequest', `This upload's parts are checksummed with ${fromMetaAlgorithm(uploadAlgorithm)}.`);
    }
    const fields: ObjectFields = {
      bucket: op.bucket,
      key: recordKey,
      sizeBytes: stored.sizeBytes,
      etag: digests.md5Hex,
      contentType: '',
      userMeta: {},
      chunks: stored.layout ?? { chunkSizesBytes: [], runs: [] },
      ...(digests.checksum === undefined ? {} : { checksums: { [toMetaAlgorithm(digests.checksum.algorithm)]: digests.checksum.base64 } }),
    };
    const { meta: written, replaced: previous } = expectOk(await deps.storage.put('upload', fields));
    committed = true;
    const still = await deps.storage.get('upload', op.bucket, uploadRecordKey(op.key, op.uploadId), { withBody: false });
    if (!still.ok && still.code === 'NotFound') {
      await deps.storage.delete('upload', op.bucket, recordKey);
      await deleteChunks(deps, op.bucket, op.key, stored.layout);
      throw noSuchUpload(op.uploadId);
    }
    retireReplaced(deps, previous, written, op.key);
    return written;
  } finally {
    if (!committed) await deleteChunks(deps, op.bucket, op.key, stored.layout);
  }
}

export async function completeMultipartUpload(ctx: RequestContext, op: OperationOf<'CompleteMultipartUpload'>): Promise<void> {
  const { deps, headers } = ctx;
  const upload = await findUpload(deps, op.bucket, op.key, op.uploadId);
  const parsed = parseCompleteMultipartUpload(await readSmallBody(ctx, MAX_XML_BODY_BYTES.completeMultipartUpload));
  if (!parsed.ok) throw parsed.error;
  const requested = parsed.value.parts;
  if (upload === undefined) {
    // A client that lost the answer to its completion asks again; S3 answers it as before, as long as
    // the object is still the one that upload made.
    const current = await currentObject(deps, op.bucket, op.key);
    if (current === undefined || !completedBy(current, op.uploadId, requested)) throw noSuchUpload(op.uploadId);
    sendCompletion(ctx, op, current);
    return;
  }
  // An SSE-C upload is completed only by whom holds its key, as S3 requires.
  const keyMd5 = uploadDataKey(ctx, upload)?.keyMd5;

  const records = await mapBounded(requested, PART_READ_CONCURRENCY, (part) =>
    readRecord(deps, op.bucket, partRecordKey(op.key, op.uploadId, part.partNumber)),
  );
  const parts = requested.map((part, i) => {
    const record = records[i];
    if (record === undefined || record.etag !== part.etag) throw invalidPart(part.partNumber, part.etag);
    for (const [algorithm, value] of Object.entries(part.checksums) as Array<[ChecksumAlgorithm, string]>) {
      if (record.checksums?.[toMetaAlgorithm(algorithm)] !== value) throw invalidPart(part.partNumber, part.etag);
    }
    return { partNumber: part.partNumber, record };
  });
  parts.forEach(({ partNumber, record }, i) => {
    if (i < parts.length - 1 && record.sizeBytes < deps.config.minPartSizeBytes) {
      throw new S3Error('EntityTooSmall', undefined, {
        fields: {
          ProposedSize: String(record.sizeBytes),
          MinSizeAllowed: String(deps.config.minPartSizeBytes),
          PartNumber: String(partNumber),
          ETag: record.etag,
        },
      });
    }
  });

  const checksum = completedChecksum(upload, parts.map((p) => p.record));
  const layout = concatLayouts(parts.map((p) => p.record.chunks ?? { chunkSizesBytes: [], runs: [] }));
  const fields: ObjectFields = {
    bucket: op.bucket,
    key: op.key,
    sizeBytes: parts.reduce((sum, p) => sum + p.record.sizeBytes, 0),
    etag: multipartEtag(parts.map((p) => p.record.etag)),
    ...descriptiveFieldsOf(upload),
    ...(upload.tags === undefined ? {} : { tags: upload.tags }),
    ...(upload.retention === undefined ? {} : { retention: upload.retention }),
    ...(upload.legalHold ? { legalHold: upload.legalHold } : {}),
    ...(upload.encryption === undefined ? {} : { encryption: upload.encryption }),
    ...(upload.acl === undefined ? {} : { acl: upload.acl }),
    ...(checksum === undefined ? {} : { checksums: { [toMetaAlgorithm(checksum.algorithm)]: checksum.value } }),
    chunks: layout,
    multipart: {
      parts: parts.map((p) => ({ partNumber: p.partNumber, sizeBytes: p.record.sizeBytes, etag: p.record.etag })),
      uploadId: op.uploadId,
    },
  };
  const { meta: written, replaced } = expectOk(await writeObjectRecord(deps, ctx.bucket, fields, undefined, writeConditionOf(headers)));
  afterObjectWrite(ctx, replaced, written, undefined);
  const closed = await deps.storage.delete('upload', op.bucket, uploadRecordKey(op.key, op.uploadId));
  if (!closed.ok) ctx.log.warn('a completed upload is still listed', { bucket: op.bucket, key: op.key, uploadId: op.uploadId, code: closed.code });
  void deps.background.start('discard the part records of a completed upload', () =>
    discardParts(deps, op.bucket, op.key, op.uploadId, versionIdsOf(layout)),
  );
  sendCompletion(ctx, op, written, keyMd5);
}

/** Whether `meta` is the object that completing `uploadId` with exactly these parts wrote. */
function completedBy(meta: ObjectMeta, uploadId: string, requested: readonly CompletedPart[]): boolean {
  const parts = meta.multipart?.parts;
  if (meta.multipart?.uploadId !== uploadId || parts === undefined || parts.length !== requested.length) return false;
  return requested.every((part, i) => parts[i]!.partNumber === part.partNumber && parts[i]!.etag === part.etag);
}

function sendCompletion(ctx: RequestContext, op: OperationOf<'CompleteMultipartUpload'>, written: ObjectMeta, keyMd5?: string): void {
  const checksum = storedChecksum(written.checksums);
  const checksumValues: ChecksumValues = checksum === undefined ? {} : { [checksum.algorithm]: checksum.value };
  sendXml(ctx, 200, buildCompleteMultipartUploadResult({
    location: `http://${ctx.req.headers.host ?? 'localhost'}/${encodeURIComponent(op.bucket)}/${op.key.split('/').map(encodeURIComponent).join('/')}`,
    bucket: op.bucket,
    key: op.key,
    etag: written.etag,
    ...(checksum === undefined ? {} : { checksums: checksumValues, checksumType: 'COMPOSITE' as const }),
  }), { ...checksumHeaders(written.checksums), ...writtenVersionHeaders(written), ...encryptionHeaders(written.encryption, keyMd5) });
}

/** The composite checksum of a completed upload, when every part carries one of the same algorithm. */
function completedChecksum(upload: ObjectMeta, parts: readonly ObjectMeta[]): { algorithm: ChecksumAlgorithm; value: string } | undefined {
  const first = parts[0] === undefined ? undefined : storedChecksum(parts[0].checksums);
  const algorithm = upload.multipart?.checksumAlgorithm === undefined ? first?.algorithm : fromMetaAlgorithm(upload.multipart.checksumAlgorithm);
  if (algorithm === undefined) return undefined;
  const values: string[] = [];
  for (const part of parts) {
    const value = part.checksums?.[toMetaAlgorithm(algorithm)];
    if (value === undefined || value.includes('-')) return undefined;
    values.push(value);
  }
  return { algorithm, value: compositeChecksum(algorithm, values) };
}

export async function abortMultipartUpload(ctx: RequestContext, op: OperationOf<'AbortMultipartUpload'>): Promise<void> {
  await requireUpload(ctx.deps, op.bucket, op.key, op.uploadId);
  await discardUpload(ctx.deps, op.bucket, op.key, op.uploadId);
  sendEmpty(ctx, 204);
}

export async function listParts(ctx: RequestContext, op: OperationOf<'ListParts'>): Promise<void> {
  const { deps } = ctx;
  const upload = await requireUpload(deps, op.bucket, op.key, op.uploadId);
  const prefix = partRecordPrefix(op.key, op.uploadId);
  const marker = op.partNumberMarker === undefined || op.partNumberMarker === 0 ? undefined : partRecordKey(op.key, op.uploadId, op.partNumberMarker);
  const page = expectOk(await deps.storage.list('upload', op.bucket, { prefix, maxKeys: op.maxParts, ...(marker === undefined ? {} : { marker }) })).result;
  const parts = page.contents.flatMap((entry) => {
    const partNumber = parsePartRecordKey(entry.key, prefix);
    return partNumber === undefined ? [] : [{ partNumber, lastModified: entry.lastModifiedMs, etag: entry.etag, size: entry.sizeBytes }];
  });
  // The object the upload makes will be owned as its ACL says (its writer, or the bucket's owner).
  const owner = upload.acl?.owner ?? bucketOf(ctx).owner;
  const initiator = upload.multipart?.initiator ?? owner;
  const algorithm = upload.multipart?.checksumAlgorithm;
  const last = parts[parts.length - 1];
  sendXml(ctx, 200, buildListPartsResult({
    bucket: op.bucket,
    key: op.key,
    uploadId: op.uploadId,
    partNumberMarker: op.partNumberMarker ?? 0,
    nextPartNumberMarker: page.isTruncated && last !== undefined ? last.partNumber : undefined,
    maxParts: op.maxParts,
    isTruncated: page.isTruncated,
    parts,
    initiator: { id: initiator, displayName: ctx.deps.authView.displayName(initiator) },
    owner: { id: owner, displayName: ctx.deps.authView.displayName(owner) },
    ...(algorithm === undefined ? {} : { checksumAlgorithm: fromMetaAlgorithm(algorithm) }),
  }));
}

type UploadItem = { readonly kind: 'upload'; readonly summary: UploadSummary } | { readonly kind: 'prefix'; readonly prefix: string };

/**
 * ListMultipartUploads. The delimiter is applied here rather than by the storage listing: it must cut
 * the key, and the record key carries the upload id after it, where a delimiter could also match.
 */
export async function listMultipartUploads(ctx: RequestContext, op: OperationOf<'ListMultipartUploads'>): Promise<void> {
  const { deps } = ctx;
  const ownerId = bucketOf(ctx).owner;
  const owner = { id: ownerId, displayName: deps.authView.displayName(ownerId) };
  const { prefix, delimiter, keyMarker, uploadIdMarker } = op;
  let marker: string | undefined;
  if (keyMarker !== undefined && keyMarker !== '') {
    if (uploadIdMarker !== undefined && uploadIdMarker !== '') marker = uploadRecordKey(keyMarker, uploadIdMarker);
    else if (delimiter !== undefined && keyMarker.endsWith(delimiter)) marker = uploadRecordPrefix(keyMarker) + AFTER_ALL;
    else marker = afterUploadsOf(keyMarker);
  }
  const items: UploadItem[] = [];
  let truncated = false;
  let lastPrefix: string | undefined;
  scan: for (;;) {
    const page = expectOk(await deps.storage.list('upload', op.bucket, {
      prefix: uploadRecordPrefix(prefix),
      maxKeys: LIST_PAGE_KEYS,
      ...(marker === undefined ? {} : { marker }),
    })).result;
    for (const entry of page.contents) {
      const parsed = parseUploadRecordKey(entry.key);
      if (parsed === undefined) continue;
      const cut = delimiter === undefined ? -1 : parsed.key.indexOf(delimiter, prefix.length);
      if (cut >= 0) {
        const common = parsed.key.slice(0, cut + delimiter!.length);
        if (common === lastPrefix) continue;
        if (items.length >= op.maxUploads) {
          truncated = true;
          break scan;
        }
        items.push({ kind: 'prefix', prefix: common });
        lastPrefix = common;
        continue;
      }
      if (items.length >= op.maxUploads) {
        truncated = true;
        break scan;
      }
      items.push({ kind: 'upload', summary: uploadSummary(parsed, entry, owner) });
    }
    if (!page.isTruncated || page.nextMarker === undefined) break;
    marker = page.nextMarker;
    const jump = lastPrefix === undefined ? undefined : uploadRecordPrefix(lastPrefix) + AFTER_ALL;
    if (jump !== undefined && jump > marker) marker = jump;
  }
  const initiators = await uploadInitiators(deps, op.bucket, items);
  const last = items[items.length - 1];
  sendXml(ctx, 200, buildListMultipartUploadsResult({
    bucket: op.bucket,
    keyMarker,
    uploadIdMarker,
    nextKeyMarker: truncated && last !== undefined ? (last.kind === 'upload' ? last.summary.key : last.prefix) : undefined,
    nextUploadIdMarker: truncated && last?.kind === 'upload' ? last.summary.uploadId : undefined,
    delimiter,
    prefix,
    maxUploads: op.maxUploads,
    isTruncated: truncated,
    encodingType: op.encodingType,
    uploads: items.flatMap((item) => {
      if (item.kind !== 'upload') return [];
      const initiator = initiators.get(item.summary.uploadId);
      return [initiator === undefined ? item.summary : { ...item.summary, initiator: { id: initiator, displayName: deps.authView.displayName(initiator) } }];
    }),
    commonPrefixes: items.flatMap((item) => (item.kind === 'prefix' ? [item.prefix] : [])),
  }));
}

/**
 * Who started each listed upload, from its record (the listing itself carries only sizes and dates);
 * an upload whose record is gone by now keeps the bucket owner.
 */
async function uploadInitiators(deps: GatewayDeps, bucket: string, items: readonly UploadItem[]): Promise<Map<string, string>> {
  const uploads = items.flatMap((item) => (item.kind === 'upload' ? [item.summary] : []));
  const records = await mapBounded(uploads, PART_READ_CONCURRENCY, (upload) => readRecord(deps, bucket, uploadRecordKey(upload.key, upload.uploadId)));
  const initiators = new Map<string, string>();
  uploads.forEach((upload, i) => {
    const initiator = records[i]?.multipart?.initiator;
    if (initiator !== undefined) initiators.set(upload.uploadId, initiator);
  });
  return initiators;
}

function uploadSummary(parsed: { key: string; uploadId: string }, entry: ListingEntry, owner: { id: string; displayName: string }): UploadSummary {
  return { key: parsed.key, uploadId: parsed.uploadId, initiator: owner, owner, initiated: entry.lastModifiedMs };
}

// ---------------------------------------------------------------------------------------------
// Records

async function requireUpload(deps: GatewayDeps, bucket: string, key: string, uploadId: string): Promise<ObjectMeta> {
  const upload = await findUpload(deps, bucket, key, uploadId);
  if (upload === undefined) throw noSuchUpload(uploadId);
  return upload;
}

/** The record of an upload in progress; undefined when there is none by that id. */
async function findUpload(deps: GatewayDeps, bucket: string, key: string, uploadId: string): Promise<ObjectMeta | undefined> {
  if (!isUploadId(uploadId)) return undefined;
  const result = await deps.storage.get('upload', bucket, uploadRecordKey(key, uploadId), { withBody: false });
  if (result.ok) return result.meta;
  if (result.code === 'NotFound') return undefined;
  throw storageFailureError(result);
}

async function readRecord(deps: GatewayDeps, bucket: string, recordKey: string): Promise<ObjectMeta | undefined> {
  const result = await deps.storage.get('upload', bucket, recordKey, { withBody: false });
  if (result.ok) return result.meta;
  if (result.code === 'NotFound') return undefined;
  throw storageFailureError(result);
}

function noSuchUpload(uploadId: string): S3Error {
  return new S3Error('NoSuchUpload', undefined, { fields: { UploadId: uploadId } });
}

function invalidPart(partNumber: number, etag: string): S3Error {
  return new S3Error('InvalidPart', undefined, { fields: { PartNumber: String(partNumber), ETag: etag } });
}

/** Removes an upload: its record first, so no part can be added or the upload completed meanwhile. */
async function discardUpload(deps: GatewayDeps, bucket: string, key: string, uploadId: string): Promise<void> {
  const removed = await deps.storage.delete('upload', bucket, uploadRecordKey(key, uploadId));
  if (!removed.ok && removed.code !== 'NotFound') throw storageFailureError(removed);
  await discardParts(deps, bucket, key, uploadId, new Set());
}

/** Deletes an upload's part records and the chunks of every part not in `kept`. */
async function discardParts(deps: GatewayDeps, bucket: string, key: string, uploadId: string, kept: ReadonlySet<string>): Promise<void> {
  const prefix = partRecordPrefix(key, uploadId);
  let marker: string | undefined;
  for (;;) {
    const listed = await deps.storage.list('upload', bucket, { prefix, maxKeys: LIST_PAGE_KEYS, ...(marker === undefined ? {} : { marker }) });
    if (!listed.ok) {
      deps.log.warn('cannot list the parts of an upload to discard them', { bucket, key, uploadId, code: listed.code });
      return;
    }
    await mapBounded(listed.result.contents, PART_READ_CONCURRENCY, async (entry) => {
      const record = await deps.storage.get('upload', bucket, entry.key, { withBody: false });
      if (record.ok && !isKept(record.meta.chunks, kept)) await deleteChunks(deps, bucket, key, record.meta.chunks);
      const removed = await deps.storage.delete('upload', bucket, entry.key);
      if (!removed.ok) deps.log.warn('a part record could not be deleted', { bucket, key, uploadId, code: removed.code });
    });
    if (!listed.result.isTruncated || listed.result.nextMarker === undefined) return;
    marker = listed.result.nextMarker;
  }
}

function isKept(layout: ChunkLayout | undefined, kept: ReadonlySet<string>): boolean {
  return (layout?.runs ?? []).some((run) => kept.has(run.versionId));
}
