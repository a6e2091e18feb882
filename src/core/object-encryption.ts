/**
 * Server-side encryption of object bodies at rest, the gateway encrypting as a body arrives and
 * decrypting as it is read, so storage nodes, replicas, repair, rebalance and anti-entropy only ever
 * hold and carry ciphertext.
 *
 *   Cipher     AES-256 in counter mode. Every body write (a PUT, or one part of a multipart upload) has
 *              an id of 96 random bits (its chunks are stored under it); that id is the counter block's
 *              nonce, and the byte offset within the write its counter. Ciphertext is exactly as long
 *              as plaintext, so chunk layouts, ranges and parts need nothing new, and a ranged read
 *              decrypts only the bytes it returns.
 *   SSE-S3     each object (each multipart upload) gets a random 256-bit data key, kept wrapped
 *              (AES-256-GCM) by one of the operator's master keys, named by its id so master keys
 *              can be rotated: new writes use the current one, older ones stay readable while their
 *              key is kept.
 *   SSE-KMS    the same, under the master key the request (or the bucket's default) names by id: the
 *              gateways' key file is the key service, each of its keys a KMS key.
 *   SSE-C      the customer sends the key with every request; the data key is derived from it and a
 *              random salt (HMAC-SHA256), and only a check value of the derived key is kept, never the
 *              customer's key, so a wrong key is told apart from a right one without storing either.
 *
 * Counter mode gives confidentiality, not tamper evidence: a body's integrity stands on the
 * checksums and ETag its record keeps, as it does unencrypted.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const DATA_KEY_BYTES = 32;
const SALT_BYTES = 16;
const GCM_NONCE_BYTES = 12;
const GCM_TAG_BYTES = 16;
const AES_BLOCK_BYTES = 16;
/** The counter is the low 32 bits of the counter block: 2^32 blocks, 64 GiB per body write, above S3's 5 GiB. */
const MAX_RUN_BYTES = 2 ** 32 * AES_BLOCK_BYTES;

export type ObjectEncryption =
  /**
   * SSE-S3, and SSE-KMS whose key ids name the same master keys: the data key wrapped by the master
   * key `keyId` (nonce, ciphertext and tag, base64).
   */
  | ({ readonly mode: 'SSE-S3' | 'SSE-KMS'; readonly keyId: string; readonly wrappedKey: string } & BodyRun)
  /** SSE-C: the salt the data key was derived with, and a check value of that key. */
  | ({ readonly mode: 'SSE-C'; readonly salt: string; readonly keyCheck: string } & BodyRun);

interface BodyRun {
  /**
   * A body written in one piece (not a multipart upload): its write id, from which offsets count
   * through the whole body wherever its bytes are kept (in the record, or later moved into a chunk).
   */
  readonly bodyRun?: string;
}

export function isObjectEncryption(value: unknown): value is ObjectEncryption {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  if (record.bodyRun !== undefined && (typeof record.bodyRun !== 'string' || !/^[0-9a-f]{24}$/.test(record.bodyRun))) return false;
  if (record.mode === 'SSE-S3' || record.mode === 'SSE-KMS') return typeof record.keyId === 'string' && typeof record.wrappedKey === 'string';
  if (record.mode === 'SSE-C') return typeof record.salt === 'string' && typeof record.keyCheck === 'string';
  return false;
}

/**
 * Encrypts or decrypts (the same operation in counter mode) `bytes` found at `offsetInRun` of the body
 * write `runId` (its 24 hex digits of version id).
 */
export function cryptRun(dataKey: Uint8Array, runId: string, offsetInRun: number, bytes: Uint8Array): Buffer {
  return runCipher(dataKey, runId, offsetInRun).update(bytes);
}

/**
 * The keystream of the body write `runId` from `offsetInRun` on, for bytes that follow one another:
 * a whole body is encrypted with one cipher, not one per piece.
 */
export function runCipher(dataKey: Uint8Array, runId: string, offsetInRun: number): { update(bytes: Uint8Array): Buffer } {
  const nonce = Buffer.from(runId, 'hex');
  if (nonce.length !== 12) throw new RangeError(`not a body write id: ${JSON.stringify(runId)}`);
  const counter = Buffer.alloc(AES_BLOCK_BYTES);
  nonce.copy(counter, 0);
  counter.writeUInt32BE(Math.floor(offsetInRun / AES_BLOCK_BYTES), 12);
  const cipher = createCipheriv('aes-256-ctr', dataKey, counter);
  const skip = offsetInRun % AES_BLOCK_BYTES;
  if (skip > 0) cipher.update(Buffer.alloc(skip));
  let offset = offsetInRun;
  return {
    update(bytes) {
      offset += bytes.length;
      if (offset > MAX_RUN_BYTES) throw new RangeError('a body write is too large to encrypt');
      return cipher.update(bytes);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// SSE-S3

/** The operator's master keys: each 256 bits under an id; `current` wraps new data keys. */
export interface MasterKeys {
  readonly current: string;
  readonly keys: ReadonlyMap<string, Uint8Array>;
}

/**
 * A new object's encryption under a master key (the current one unless `keyId` names another, as
 * SSE-KMS does), and its data key.
 */
export function newManagedEncryption(master: MasterKeys, mode: 'SSE-S3' | 'SSE-KMS' = 'SSE-S3', keyId: string = master.current): { readonly encryption: ObjectEncryption; readonly dataKey: Buffer } {
  const masterKey = master.keys.get(keyId);
  if (masterKey === undefined) throw new Error(`the master key ${keyId} is not among the master keys`);
  const dataKey = randomBytes(DATA_KEY_BYTES);
  const nonce = randomBytes(GCM_NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', masterKey, nonce);
  cipher.setAAD(Buffer.from(keyId));
  const wrapped = Buffer.concat([nonce, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
  return { encryption: { mode, keyId, wrappedKey: wrapped.toString('base64') }, dataKey };
}

/** The data key of an SSE-S3 object; throws when its master key is not kept or the wrapping was damaged. */
export function managedDataKey(encryption: Extract<ObjectEncryption, { mode: 'SSE-S3' | 'SSE-KMS' }>, master: MasterKeys): Buffer {
  const masterKey = master.keys.get(encryption.keyId);
  if (masterKey === undefined) throw new Error(`the master key ${encryption.keyId} that wrapped this object's key is not configured`);
  const wrapped = Buffer.from(encryption.wrappedKey, 'base64');
  const nonce = wrapped.subarray(0, GCM_NONCE_BYTES);
  const tag = wrapped.subarray(wrapped.length - GCM_TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', masterKey, nonce);
  decipher.setAAD(Buffer.from(encryption.keyId));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(wrapped.subarray(GCM_NONCE_BYTES, wrapped.length - GCM_TAG_BYTES)), decipher.final()]);
}

// ---------------------------------------------------------------------------------------------
// SSE-C

function deriveCustomerDataKey(customerKey: Uint8Array, salt: Uint8Array): Buffer {
  return createHmac('sha256', customerKey).update(salt).update('leofs sse-c data key').digest();
}

function keyCheckOf(dataKey: Uint8Array): Buffer {
  return createHmac('sha256', dataKey).update('leofs sse-c key check').digest();
}

/** A new object's encryption with the customer's key, and its data key. */
export function newCustomerEncryption(customerKey: Uint8Array): { readonly encryption: ObjectEncryption; readonly dataKey: Buffer } {
  const salt = randomBytes(SALT_BYTES);
  const dataKey = deriveCustomerDataKey(customerKey, salt);
  return { encryption: { mode: 'SSE-C', salt: salt.toString('base64'), keyCheck: keyCheckOf(dataKey).toString('base64') }, dataKey };
}

/** The data key of an SSE-C object from the key the customer sent; undefined when it is not the object's key. */
export function customerDataKey(encryption: Extract<ObjectEncryption, { mode: 'SSE-C' }>, customerKey: Uint8Array): Buffer | undefined {
  const dataKey = deriveCustomerDataKey(customerKey, Buffer.from(encryption.salt, 'base64'));
  const expected = Buffer.from(encryption.keyCheck, 'base64');
  const actual = keyCheckOf(dataKey);
  return expected.length === actual.length && timingSafeEqual(expected, actual) ? dataKey : undefined;
}
