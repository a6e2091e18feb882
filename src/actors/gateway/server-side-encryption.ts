/**
 * Server-side encryption as requests ask for it: which encryption a new body gets (SSE-C from the
 * customer's key headers, SSE-S3 from `x-amz-server-side-encryption: AES256` or the bucket's default),
 * the data key a read needs (SSE-C refuses a read without the right key), the headers answers carry,
 * and the transforms that encrypt a body as it is stored and decrypt the bytes a read returns. The
 * ciphers are core/object-encryption.ts's.
 */
import { createHash, createHmac } from 'node:crypto';
import type { BucketRecord } from '../../core/auth-snapshot.js';
import {
  cryptRun, customerDataKey, runCipher, managedDataKey, newCustomerEncryption, newManagedEncryption, type ObjectEncryption,
} from '../../core/object-encryption.js';
import type { ChunkLayout } from '../../core/object-meta.js';
import { S3Error } from '../../protocol/s3/errors.js';
import { getHeader, type HeaderBag } from '../../protocol/s3/headers.js';
import type { GatewayDeps } from './request-context.js';

export type RequestedEncryption =
  | { readonly mode: 'SSE-S3' }
  /** `keyId` absent: the bucket's default KMS key, else the current master key. */
  | { readonly mode: 'SSE-KMS'; readonly keyId?: string }
  | { readonly mode: 'SSE-C'; readonly key: Buffer; readonly keyMd5: string };

/** A body's encryption as decided for a write, with the data key that encrypts it. */
export interface WriteEncryption {
  readonly encryption: ObjectEncryption;
  readonly dataKey: Buffer;
  /** The key MD5 an SSE-C answer echoes. */
  readonly keyMd5?: string;
}

const SSE = 'x-amz-server-side-encryption';
const SOURCE_SSE = 'x-amz-copy-source-server-side-encryption';

/**
 * The customer key a request sends for the object (`copySource`: for a copy's source), checked as S3
 * checks it: algorithm AES256, a 256-bit key, its MD5 matching. Undefined when none is sent.
 */
export function customerKey(headers: HeaderBag, copySource = false): { readonly key: Buffer; readonly keyMd5: string } | undefined {
  const prefix = copySource ? `${SOURCE_SSE}-customer` : `${SSE}-customer`;
  const algorithm = getHeader(headers, `${prefix}-algorithm`);
  const keyText = getHeader(headers, `${prefix}-key`);
  const md5 = getHeader(headers, `${prefix}-key-md5`);
  if (algorithm === undefined && keyText === undefined && md5 === undefined) return undefined;
  if (algorithm === undefined) {
    throw new S3Error('InvalidArgument', 'Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.', { fields: { ArgumentName: `${prefix}-algorithm` } });
  }
  if (algorithm !== 'AES256') {
    throw new S3Error('InvalidEncryptionAlgorithmError', 'The encryption request you specified is not valid. The valid value is AES256.', { fields: { ArgumentName: `${prefix}-algorithm`, ArgumentValue: algorithm } });
  }
  const key = keyText === undefined ? undefined : Buffer.from(keyText, 'base64');
  if (key === undefined || key.length !== 32 || key.toString('base64') !== keyText!.trim()) {
    throw new S3Error('InvalidArgument', 'The secret key was invalid for the specified algorithm.', { fields: { ArgumentName: `${prefix}-key` } });
  }
  const actualMd5 = createHash('md5').update(key).digest('base64');
  if (md5 === undefined || md5.trim() !== actualMd5) {
    throw new S3Error('InvalidArgument', 'The calculated MD5 hash of the key did not match the hash that was provided.', { fields: { ArgumentName: `${prefix}-key-md5` } });
  }
  return { key, keyMd5: actualMd5 };
}

/** The encryption a write asks for in its headers; undefined when it asks for none. */
export function requestedEncryption(headers: HeaderBag): RequestedEncryption | undefined {
  const customer = customerKey(headers);
  const algorithm = getHeader(headers, SSE)?.trim();
  if (customer !== undefined) {
    if (algorithm !== undefined) throw new S3Error('InvalidArgument', 'Server Side Encryption with Customer provided key is incompatible with the encryption method specified.', { fields: { ArgumentName: SSE } });
    return { mode: 'SSE-C', ...customer };
  }
  const keyId = getHeader(headers, `${SSE}-aws-kms-key-id`)?.trim();
  if (algorithm === undefined) {
    if (keyId !== undefined) throw new S3Error('InvalidArgument', 'x-amz-server-side-encryption-aws-kms-key-id needs x-amz-server-side-encryption: aws:kms.', { fields: { ArgumentName: `${SSE}-aws-kms-key-id` } });
    return undefined;
  }
  const mode = serverAlgorithm(algorithm);
  if (mode === 'SSE-S3' && keyId !== undefined) throw new S3Error('InvalidArgument', 'A KMS key id applies to aws:kms only.', { fields: { ArgumentName: `${SSE}-aws-kms-key-id` } });
  return mode === 'SSE-KMS' && keyId !== undefined ? { mode, keyId: kmsKeyName(keyId) } : { mode };
}

/** What x-amz-server-side-encryption (or a bucket default) names: AES256, or aws:kms; DSSE is not offered. */
export function serverAlgorithm(algorithm: string): 'SSE-S3' | 'SSE-KMS' {
  if (algorithm === 'AES256') return 'SSE-S3';
  if (algorithm === 'aws:kms') return 'SSE-KMS';
  if (algorithm === 'aws:kms:dsse') throw new S3Error('NotImplemented', 'Dual-layer encryption (aws:kms:dsse) is not supported; use aws:kms or AES256.');
  throw new S3Error('InvalidArgument', 'The encryption method specified is not supported', { fields: { ArgumentName: SSE, ArgumentValue: algorithm } });
}

/** A KMS key id as clients give it: the key's id, or an ARN ending in `key/<id>`. */
export function kmsKeyName(keyId: string): string {
  const arn = /^arn:[^:]*:kms:[^:]*:[^:]*:key\/(.+)$/.exec(keyId);
  return arn === null ? keyId : arn[1]!;
}

/**
 * The encryption of a new body: what the request asks for, else the bucket's default (SSE-S3), else
 * none. SSE-S3 without master keys configured is refused with 501.
 */
export function encryptionForWrite(deps: Pick<GatewayDeps, 'masterKeys'>, bucket: BucketRecord | undefined, requested: RequestedEncryption | undefined): WriteEncryption | undefined {
  const wanted = requested ?? bucketDefault(bucket);
  if (wanted === undefined) return undefined;
  if (wanted.mode === 'SSE-C') return { ...newCustomerEncryption(wanted.key), keyMd5: wanted.keyMd5 };
  const master = deps.masterKeys;
  if (master === undefined) throw new S3Error('NotImplemented', `${wanted.mode} is not available: this gateway has no master keys configured.`);
  if (wanted.mode === 'SSE-S3') return newManagedEncryption(master);
  const keyId = wanted.keyId ?? bucket?.defaultKmsKeyId ?? master.current;
  if (!master.keys.has(keyId)) throw kmsKeyNotFound(keyId);
  return newManagedEncryption(master, 'SSE-KMS', keyId);
}

function bucketDefault(bucket: BucketRecord | undefined): RequestedEncryption | undefined {
  if (bucket?.defaultEncryption === undefined) return undefined;
  return bucket.defaultEncryption === 'AES256' ? { mode: 'SSE-S3' } : { mode: 'SSE-KMS' };
}

/** A KMS key id that names none of the gateway's master keys. */
export function kmsKeyNotFound(keyId: string): S3Error {
  return new S3Error('KMS.NotFoundException', `Invalid keyId ${keyId}: it names none of this cluster's keys.`);
}

/**
 * The data key of an existing body for a read (or a copy's source, or a part of an upload): SSE-C
 * needs the customer's key, the right one; an unencrypted body takes no key headers.
 */
export function readDataKey(deps: Pick<GatewayDeps, 'masterKeys'>, encryption: ObjectEncryption | undefined, headers: HeaderBag, copySource = false): { readonly dataKey: Buffer | undefined; readonly keyMd5?: string } {
  const customer = customerKey(headers, copySource);
  if (encryption === undefined) {
    if (customer !== undefined) throw new S3Error('InvalidRequest', 'The encryption parameters are not applicable to this object.');
    return { dataKey: undefined };
  }
  if (encryption.mode === 'SSE-C') {
    if (customer === undefined) {
      throw new S3Error('InvalidRequest', 'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.');
    }
    const dataKey = customerDataKey(encryption, customer.key);
    if (dataKey === undefined) throw new S3Error('InvalidRequest', 'The provided encryption key does not match the key the object was stored with.');
    return { dataKey, keyMd5: customer.keyMd5 };
  }
  if (customer !== undefined) throw new S3Error('InvalidRequest', 'The encryption parameters are not applicable to this object.');
  if (deps.masterKeys === undefined) throw new S3Error('ServiceUnavailable', `This gateway has no master keys configured to read ${encryption.mode} objects.`);
  return { dataKey: managedDataKey(encryption, deps.masterKeys) };
}

/** A read (GET, HEAD) may not name x-amz-server-side-encryption: S3 refuses it. */
export function refuseEncryptionHeaderOnRead(headers: HeaderBag): void {
  if (getHeader(headers, SSE) !== undefined) {
    throw new S3Error('InvalidArgument', 'x-amz-server-side-encryption header is not supported for this operation.', { fields: { ArgumentName: SSE } });
  }
}

/** The headers an answer about a body with `encryption` carries. */
export function encryptionHeaders(encryption: ObjectEncryption | undefined, keyMd5?: string): Record<string, string> {
  if (encryption === undefined) return {};
  if (encryption.mode === 'SSE-S3') return { [SSE]: 'AES256' };
  if (encryption.mode === 'SSE-KMS') return { [SSE]: 'aws:kms', [`${SSE}-aws-kms-key-id`]: encryption.keyId };
  return { [`${SSE}-customer-algorithm`]: 'AES256', ...(keyMd5 === undefined ? {} : { [`${SSE}-customer-key-md5`]: keyMd5 }) };
}

/**
 * The ETag of a body: the MD5 of its plaintext, except under SSE-C and SSE-KMS, where (as in S3) it is
 * not, so that a listing does not let whoever may list confirm a guess at an encrypted body. It is
 * then a keyed digest of that MD5 under the body's data key: stable for the version, opaque without it.
 */
export function etagFor(encryption: WriteEncryption | undefined, md5Hex: string): string {
  if (encryption === undefined || encryption.encryption.mode === 'SSE-S3') return md5Hex;
  return createHmac('sha256', encryption.dataKey).update(md5Hex).digest('hex').slice(0, 32);
}

/** `source` encrypted as the body write `runId`, from its first byte. */
export async function* encryptedPieces(source: AsyncIterable<Buffer>, dataKey: Buffer, runId: string): AsyncGenerator<Buffer> {
  const cipher = runCipher(dataKey, runId, 0);
  for await (const piece of source) yield cipher.update(piece);
}

/** Decrypts bytes a read fetched: chunk `chunkIndex` of the body (0 for a body in its record), from `offsetInChunk`. */
export type ChunkDecryptor = (chunkIndex: number, offsetInChunk: number, bytes: Uint8Array) => Buffer;

/** The encryption a body written in one piece records: its write id counts its offsets. */
export function oneWriteEncryption(encryption: WriteEncryption, bodyRun: string): ObjectEncryption {
  return { ...encryption.encryption, bodyRun };
}

/** The decryptor of a version's encrypted body, undefined for one that is not encrypted or empty. */
export function bodyDecryptor(meta: { readonly encryption?: ObjectEncryption; readonly chunks?: ChunkLayout }, dataKey: Buffer | undefined): ChunkDecryptor | undefined {
  if (dataKey === undefined || meta.encryption === undefined) return undefined;
  const bodyRun = meta.encryption.bodyRun;
  if (bodyRun === undefined) return meta.chunks === undefined ? undefined : chunkDecryptor(meta.chunks, dataKey);
  const starts: number[] = [0];
  for (const size of meta.chunks?.chunkSizesBytes ?? []) starts.push(starts[starts.length - 1]! + size);
  return (chunkIndex, offsetInChunk, bytes) => cryptRun(dataKey, bodyRun, starts[chunkIndex]! + offsetInChunk, bytes);
}

/** The decryptor of a body written in parts: each chunk is placed in the body write (run) it belongs to. */
function chunkDecryptor(layout: ChunkLayout, dataKey: Buffer): ChunkDecryptor {
  if (layout.runs === undefined) throw new Error('an encrypted body is always stored in versioned chunk runs');
  const runOf: string[] = [];
  const startInRun: number[] = [];
  let index = 0;
  for (const run of layout.runs) {
    let offset = 0;
    for (let i = 0; i < run.chunkCount; i++, index++) {
      runOf.push(run.versionId);
      startInRun.push(offset);
      offset += layout.chunkSizesBytes[index]!;
    }
  }
  return (chunkIndex, offsetInChunk, bytes) => cryptRun(dataKey, runOf[chunkIndex]!, startInRun[chunkIndex]! + offsetInChunk, bytes);
}
