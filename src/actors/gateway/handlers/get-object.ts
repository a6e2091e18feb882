/**
 * GetObject and HeadObject: conditional requests (304/412), a single byte range or one part of a
 * multipart object, response-* overrides, and checksums on request. The body streams chunk by chunk
 * with a bounded read-ahead, fetching only the chunks the range touches. GetObjectAttributes answers
 * the same questions as a document.
 */
import type { ObjectMeta } from '../../../core/object-meta.js';
import { conditionError, evaluateReadConditions } from '../../../protocol/s3/conditionals.js';
import { S3Error } from '../../../protocol/s3/errors.js';
import { quoteEtag } from '../../../protocol/s3/checksums.js';
import { formatHttpDate, getHeader } from '../../../protocol/s3/headers.js';
import { contentRange, parseRange, rangeLength, type ByteRange } from '../../../protocol/s3/range.js';
import { readBody } from '../body-reader.js';
import type { ObjectAttribute } from '../../../protocol/s3/router.js';
import { buildGetObjectAttributesResult, type ObjectPartsPage } from '../../../protocol/s3/xml.js';
import { checksumModeEnabled, checksumTypeOf, readHeaders, storedChecksum } from '../object-headers.js';
import { versionHeaders } from '../object-records.js';
import { lockHeaders } from './object-lock.js';
import { tagCountHeaders } from './tagging.js';
import { loadObject, type LoadedObject } from '../object-versions.js';
import { copyWhileSending, readCachedBody } from '../disk-cache.js';
import { freshForMs } from '../object-cache.js';
import type { FileHandle } from 'node:fs/promises';
import { recheckVersion } from '../authorization.js';
import { bodyDecryptor, encryptionHeaders, readDataKey, refuseEncryptionHeaderOnRead } from '../server-side-encryption.js';
import type { OperationOf, RequestContext } from '../request-context.js';
import { sendBody } from '../response-body.js';
import { sendXml } from '../responses.js';

export async function getObject(ctx: RequestContext, op: OperationOf<'GetObject' | 'HeadObject'>): Promise<void> {
  const withBody = op.type === 'GetObject';
  refuseEncryptionHeaderOnRead(ctx.headers);
  const partial = op.partNumber !== undefined || getHeader(ctx.headers, 'range') !== undefined;
  const loaded = await loadObject(ctx.deps, op.bucket, op.key, withBody, op.versionId, { fromDisk: withBody, partial });
  // A cached file not handed to a reader is closed whatever happens.
  const file = { handle: loaded.file };
  try {
    await answer(ctx, op, loaded, file);
  } finally {
    await file.handle?.close().catch(() => undefined);
  }
}

async function answer(ctx: RequestContext, op: OperationOf<'GetObject' | 'HeadObject'>, loaded: LoadedObject, file: { handle: FileHandle | undefined }): Promise<void> {
  const { deps, headers, res } = ctx;
  const withBody = op.type === 'GetObject';
  const { meta, body } = loaded;
  // The version served is the version allowed, even if another became current since the decision.
  recheckVersion(ctx, meta);
  const { dataKey, keyMd5 } = readDataKey(deps, meta.encryption, headers);

  const outcome = evaluateReadConditions(headers, { etag: meta.etag, lastModified: meta.lastModifiedMs });
  if (outcome.type === 'not-modified') {
    res.writeHead(304, { ETag: quoteEtag(meta.etag), 'Last-Modified': formatHttpDate(meta.lastModifiedMs) });
    res.end();
    return;
  }
  if (outcome.type === 'precondition-failed') throw conditionError(outcome);

  let range: ByteRange | undefined;
  const extra: Record<string, string> = {};
  if (op.partNumber !== undefined) {
    const part = partRange(meta, op.partNumber);
    range = part.range;
    if (part.partsCount !== undefined) extra['x-amz-mp-parts-count'] = String(part.partsCount);
  } else {
    const parsed = parseRange(getHeader(headers, 'range'), meta.sizeBytes);
    if (parsed.type === 'unsatisfiable') throw parsed.error;
    if (parsed.type === 'range') range = parsed.range;
  }
  const decrypt = bodyDecryptor(meta, dataKey);
  let pieces: AsyncIterable<Buffer> | undefined;
  let cachedAtMs = loaded.cachedAtMs;
  if (withBody && file.handle !== undefined) {
    pieces = readCachedBody(file.handle, meta.sizeBytes, range, deps.config.readPieceBytes, ctx.memory, deps.pieceBuffers);
    file.handle = undefined;
  } else if (withBody) {
    pieces = readBody({ storage: deps.storage, memory: ctx.memory, meta, inline: body, pieceBuffers: deps.pieceBuffers, ...(decrypt === undefined ? {} : { decrypt }) }, range, deps.config);
    // A whole read of the current version leaves a copy in the disk tier, if the object belongs there.
    const fill = range === undefined && op.versionId === undefined ? deps.diskCache.fill(meta) : undefined;
    if (fill !== undefined) {
      pieces = copyWhileSending(pieces, fill, deps.pieceBuffers, (complete) => void deps.background.start('fill the disk cache', complete));
      cachedAtMs = deps.clock.now();
    }
  }
  const responseHeaders: Record<string, string | number> = {
    ...httpCacheHeaders(ctx, cachedAtMs),
    ...readHeaders(meta, { overrides: op.overrides, withChecksum: range === undefined && checksumModeEnabled(headers) }),
    ...versionHeaders(ctx.bucket, meta),
    ...tagCountHeaders(meta.tags),
    ...lockHeaders(meta),
    ...encryptionHeaders(meta.encryption, keyMd5),
    ...extra,
    'Content-Length': range === undefined ? meta.sizeBytes : rangeLength(range),
  };
  if (range !== undefined) responseHeaders['Content-Range'] = contentRange(range, meta.sizeBytes);
  res.writeHead(range === undefined ? 200 : 206, responseHeaders);
  if (pieces === undefined) {
    res.end();
    return;
  }
  await sendBody(ctx, pieces);
}

/**
 * In HTTP-cache mode, a response from a cached copy tells clients and proxies they may keep it for what
 * is left of its TTL here (an object's own Cache-Control and Expires, and response-* overrides, win).
 */
function httpCacheHeaders(ctx: RequestContext, cachedAtMs: number | undefined): Record<string, string> {
  const { config, clock } = ctx.deps;
  if (config.cacheMode !== 'http' || cachedAtMs === undefined) return {};
  const nowMs = clock.now();
  const maxAgeSeconds = Math.max(0, Math.floor(freshForMs(config, cachedAtMs, nowMs) / 1000));
  return { 'Cache-Control': `max-age=${maxAgeSeconds}`, Expires: formatHttpDate(nowMs + maxAgeSeconds * 1000) };
}

/**
 * GetObjectAttributes: what a HEAD would tell, as an XML document of the attributes asked for, with the
 * parts of a multipart object paged by part number.
 */
export async function getObjectAttributes(ctx: RequestContext, op: OperationOf<'GetObjectAttributes'>): Promise<void> {
  const { meta } = await loadObject(ctx.deps, op.bucket, op.key, false, op.versionId);
  recheckVersion(ctx, meta);
  // What is known of an SSE-C object is told only to whom holds its key, as for HEAD.
  readDataKey(ctx.deps, meta.encryption, ctx.headers);
  const wants = (attribute: ObjectAttribute): boolean => op.attributes.has(attribute);
  const checksum = storedChecksum(meta.checksums);
  const parts = meta.multipart?.parts ?? [];
  let objectParts: ObjectPartsPage | undefined;
  if (wants('ObjectParts') && parts.length > 0) {
    const marker = op.partNumberMarker ?? 0;
    const after = parts.filter((part) => part.partNumber > marker);
    const page = after.slice(0, op.maxParts);
    const isTruncated = after.length > page.length;
    objectParts = {
      totalPartsCount: parts.length,
      partNumberMarker: marker,
      nextPartNumberMarker: isTruncated ? page[page.length - 1]?.partNumber : undefined,
      maxParts: op.maxParts,
      isTruncated,
      parts: page.map((part) => ({ partNumber: part.partNumber, size: part.sizeBytes })),
    };
  }
  sendXml(ctx, 200, buildGetObjectAttributesResult({
    etag: wants('ETag') ? meta.etag : undefined,
    checksum: wants('Checksum') && checksum !== undefined
      ? { values: { [checksum.algorithm]: checksum.value }, type: checksumTypeOf(checksum.value) }
      : undefined,
    objectParts,
    storageClass: wants('StorageClass') ? 'STANDARD' : undefined,
    objectSize: wants('ObjectSize') ? meta.sizeBytes : undefined,
  }), { 'Last-Modified': formatHttpDate(meta.lastModifiedMs), ...versionHeaders(ctx.bucket, meta) });
}

/** The bytes of part `partNumber`: of a multipart object its part, of any other object part 1 is all of it. */
function partRange(meta: ObjectMeta, partNumber: number): { range: ByteRange | undefined; partsCount: number | undefined } {
  const parts = meta.multipart?.parts;
  if (parts === undefined || parts.length === 0) {
    if (partNumber !== 1) throw invalidPartNumber(partNumber, 1);
    return { range: meta.sizeBytes === 0 ? undefined : { start: 0, end: meta.sizeBytes - 1 }, partsCount: undefined };
  }
  if (partNumber > parts.length) throw invalidPartNumber(partNumber, parts.length);
  let start = 0;
  for (let i = 0; i < partNumber - 1; i++) start += parts[i]!.sizeBytes;
  const size = parts[partNumber - 1]!.sizeBytes;
  if (size === 0) throw invalidPartNumber(partNumber, parts.length);
  return { range: { start, end: start + size - 1 }, partsCount: parts.length };
}

/** S3 tells how many parts there are, so a client probing part by part knows where to stop. */
function invalidPartNumber(requested: number, actual: number): S3Error {
  return new S3Error('InvalidPartNumber', undefined, { fields: { ActualPartCount: String(actual), PartNumberRequested: String(requested) } });
}
