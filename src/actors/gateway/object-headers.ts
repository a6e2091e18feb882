/**
 * An object's HTTP face: the fields a write request stores with the object, and the response headers
 * a read returns from them.
 */
import type { ChecksumAlgorithm as MetaChecksumAlgorithm, ObjectChecksums, ObjectMeta } from '../../core/object-meta.js';
import {
  CHECKSUM_ALGORITHMS, checksumHeaderName, parseChecksumAlgorithm, quoteEtag, type ChecksumAlgorithm,
} from '../../protocol/s3/checksums.js';
import { S3Error } from '../../protocol/s3/errors.js';
import {
  extractStoredHeaders, extractUserMetadata, formatHttpDate, getHeader, responseOverrideHeaders, userMetadataHeaders,
  type HeaderBag, type ResponseOverrides,
} from '../../protocol/s3/headers.js';
import type { ObjectFields } from '../../protocol/cluster/storage-api.js';

/** What a write request says about the object besides its body. */
export type DescriptiveFields = Pick<
  ObjectFields,
  'contentType' | 'contentEncoding' | 'contentDisposition' | 'contentLanguage' | 'cacheControl' | 'expires' | 'userMeta'
>;

/** Content-Type and friends plus x-amz-meta-*, from a write request (MetadataTooLarge past 2 KiB). */
export function descriptiveFields(headers: HeaderBag): DescriptiveFields {
  const user = extractUserMetadata(headers);
  if (!user.ok) throw user.error;
  const stored = extractStoredHeaders(headers);
  return {
    contentType: stored.contentType,
    userMeta: user.metadata,
    ...(stored.contentEncoding === undefined ? {} : { contentEncoding: stored.contentEncoding }),
    ...(stored.contentDisposition === undefined ? {} : { contentDisposition: stored.contentDisposition }),
    ...(stored.contentLanguage === undefined ? {} : { contentLanguage: stored.contentLanguage }),
    ...(stored.cacheControl === undefined ? {} : { cacheControl: stored.cacheControl }),
    ...(stored.expires === undefined ? {} : { expires: stored.expires }),
  };
}

/** The same fields copied from a stored record. */
export function descriptiveFieldsOf(meta: ObjectMeta): DescriptiveFields {
  return {
    contentType: meta.contentType,
    userMeta: meta.userMeta,
    ...(meta.contentEncoding === undefined ? {} : { contentEncoding: meta.contentEncoding }),
    ...(meta.contentDisposition === undefined ? {} : { contentDisposition: meta.contentDisposition }),
    ...(meta.contentLanguage === undefined ? {} : { contentLanguage: meta.contentLanguage }),
    ...(meta.cacheControl === undefined ? {} : { cacheControl: meta.cacheControl }),
    ...(meta.expires === undefined ? {} : { expires: meta.expires }),
  };
}

export function toMetaAlgorithm(algorithm: ChecksumAlgorithm): MetaChecksumAlgorithm {
  return algorithm.toLowerCase() as MetaChecksumAlgorithm;
}

export function fromMetaAlgorithm(algorithm: MetaChecksumAlgorithm): ChecksumAlgorithm {
  return algorithm.toUpperCase() as ChecksumAlgorithm;
}

/** The one checksum a record carries, if any, with its protocol name. */
export function storedChecksum(checksums: ObjectChecksums | undefined): { readonly algorithm: ChecksumAlgorithm; readonly value: string } | undefined {
  if (checksums === undefined) return undefined;
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = checksums[toMetaAlgorithm(algorithm)];
    if (value !== undefined) return { algorithm, value };
  }
  return undefined;
}

/** x-amz-checksum-algorithm (CreateMultipartUpload, CopyObject), undefined when absent. */
export function requestedChecksumAlgorithm(headers: HeaderBag): ChecksumAlgorithm | undefined {
  const value = getHeader(headers, 'x-amz-checksum-algorithm');
  if (value === undefined) return undefined;
  const algorithm = parseChecksumAlgorithm(value);
  if (algorithm === undefined) throw new S3Error('InvalidRequest', 'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]');
  return algorithm;
}

/** A composite checksum (of a multipart object's parts) is stored as `...-N`. */
export function checksumTypeOf(value: string): 'COMPOSITE' | 'FULL_OBJECT' {
  return /-\d+$/.test(value) ? 'COMPOSITE' : 'FULL_OBJECT';
}

/** The checksum headers of a stored checksum, with its type. */
export function checksumHeaders(checksums: ObjectChecksums | undefined): Record<string, string> {
  const stored = storedChecksum(checksums);
  if (stored === undefined) return {};
  return { [checksumHeaderName(stored.algorithm)]: stored.value, 'x-amz-checksum-type': checksumTypeOf(stored.value) };
}

export interface ReadHeaderOptions {
  readonly overrides: ResponseOverrides;
  /** x-amz-checksum-mode: ENABLED, and the response carries the whole object. */
  readonly withChecksum: boolean;
}

/** The headers of a GET or HEAD response, response-* overrides applied last. */
export function readHeaders(meta: ObjectMeta, options: ReadHeaderOptions): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': meta.contentType,
    ETag: quoteEtag(meta.etag),
    'Last-Modified': formatHttpDate(meta.lastModifiedMs),
    'Accept-Ranges': 'bytes',
  };
  if (meta.contentEncoding !== undefined) headers['Content-Encoding'] = meta.contentEncoding;
  if (meta.contentDisposition !== undefined) headers['Content-Disposition'] = meta.contentDisposition;
  if (meta.contentLanguage !== undefined) headers['Content-Language'] = meta.contentLanguage;
  if (meta.cacheControl !== undefined) headers['Cache-Control'] = meta.cacheControl;
  if (meta.expires !== undefined) headers.Expires = meta.expires;
  Object.assign(headers, userMetadataHeaders(meta.userMeta));
  if (options.withChecksum) Object.assign(headers, checksumHeaders(meta.checksums));
  for (const [name, value] of Object.entries(responseOverrideHeaders(options.overrides))) headers[name] = headerSafe(name, value);
  return headers;
}

/**
 * A value from the query string made fit for a header: characters beyond latin1 go out as their
 * UTF-8 bytes (as S3 sends them); control characters cannot go out at all.
 */
function headerSafe(name: string, value: string): string {
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) {
    throw new S3Error('InvalidArgument', `The value of the ${name} override is not a valid header value.`);
  }
  return /[^\u0000-\u00ff]/.test(value) ? Buffer.from(value, 'utf8').toString('latin1') : value;
}

/** Whether the client asked for checksums on a read. */
export function checksumModeEnabled(headers: HeaderBag): boolean {
  return getHeader(headers, 'x-amz-checksum-mode')?.trim().toUpperCase() === 'ENABLED';
}
