/**
 * How multipart uploads are kept, as ring objects of kind 'upload' in the bucket:
 *
 *   u/<key>\x01<uploadId>                  one per upload in progress: its headers, metadata, initiator
 *   p/<key>\x01<uploadId>\x01<part, 5 digits>   one per uploaded part: size, ETag, checksum, chunk layout
 *
 * The two prefixes keep the records apart, so ListMultipartUploads scans only uploads and ListParts
 * only the parts of one upload, each in the order S3 lists them: \x01 sorts below any character a key
 * is made of, so uploads of `a` come before those of `a/b`, and zero-padded part numbers sort as
 * numbers. Part bodies are chunk objects under the object key (chunk-layout.ts), which is what lets
 * CompleteMultipartUpload reference them from the object without copying a byte.
 */
import { randomBytes } from 'node:crypto';

const UPLOAD_PREFIX = 'u/';
const PART_PREFIX = 'p/';
const SEPARATOR = '\u0001';
const UPLOAD_ID = /^[A-Za-z0-9_-]{32}$/;

export function newUploadId(random: (size: number) => Uint8Array = randomBytes): string {
  return Buffer.from(random(24)).toString('base64url');
}

/** Anything else cannot name an upload, so it is NoSuchUpload without a lookup. */
export function isUploadId(value: string): boolean {
  return UPLOAD_ID.test(value);
}

export function uploadRecordKey(key: string, uploadId: string): string {
  return `${UPLOAD_PREFIX}${key}${SEPARATOR}${uploadId}`;
}

/** The prefix of the upload records of every key starting with `keyPrefix`. */
export function uploadRecordPrefix(keyPrefix: string): string {
  return `${UPLOAD_PREFIX}${keyPrefix}`;
}

/** The record key below which every upload of `key` sorts, to resume a listing after them. */
export function afterUploadsOf(key: string): string {
  return `${UPLOAD_PREFIX}${key}${SEPARATOR}\u007f`;
}

export function parseUploadRecordKey(recordKey: string): { readonly key: string; readonly uploadId: string } | undefined {
  if (!recordKey.startsWith(UPLOAD_PREFIX)) return undefined;
  const cut = recordKey.lastIndexOf(SEPARATOR);
  if (cut < UPLOAD_PREFIX.length) return undefined;
  const uploadId = recordKey.slice(cut + 1);
  return isUploadId(uploadId) ? { key: recordKey.slice(UPLOAD_PREFIX.length, cut), uploadId } : undefined;
}

/** The prefix of the part records of every upload of `key`. */
export function partRecordsOfKeyPrefix(key: string): string {
  return `${PART_PREFIX}${key}${SEPARATOR}`;
}

/** The key, upload id and part number of any part record; undefined for anything else. */
export function parsePartRecord(recordKey: string): { readonly key: string; readonly uploadId: string; readonly partNumber: number } | undefined {
  if (!recordKey.startsWith(PART_PREFIX)) return undefined;
  const partCut = recordKey.lastIndexOf(SEPARATOR);
  const idCut = recordKey.lastIndexOf(SEPARATOR, partCut - 1);
  if (idCut < PART_PREFIX.length) return undefined;
  const uploadId = recordKey.slice(idCut + 1, partCut);
  const digits = recordKey.slice(partCut + 1);
  if (!isUploadId(uploadId) || !/^\d{5}$/.test(digits) || Number(digits) < 1) return undefined;
  return { key: recordKey.slice(PART_PREFIX.length, idCut), uploadId, partNumber: Number(digits) };
}

export function partRecordPrefix(key: string, uploadId: string): string {
  return `${PART_PREFIX}${key}${SEPARATOR}${uploadId}${SEPARATOR}`;
}

export function partRecordKey(key: string, uploadId: string, partNumber: number): string {
  return partRecordPrefix(key, uploadId) + String(partNumber).padStart(5, '0');
}

/** The part number of a part record listed under `prefix`, or undefined for anything else. */
export function parsePartRecordKey(recordKey: string, prefix: string): number | undefined {
  if (!recordKey.startsWith(prefix)) return undefined;
  const digits = recordKey.slice(prefix.length);
  if (!/^\d{5}$/.test(digits)) return undefined;
  const partNumber = Number(digits);
  return partNumber >= 1 ? partNumber : undefined;
}
