/**
 * Body integrity for uploads: incremental hashers for every algorithm S3 offers, the request
 * headers that declare them, the check that turns a mismatch into the right S3 error, and the
 * multipart ETag and composite checksum rules.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { crc32 } from '../../core/checksums/crc32.js';
import { crc32c } from '../../core/checksums/crc32c.js';
import { Crc64Nvme } from '../../core/checksums/crc64nvme.js';
import { S3Error } from './errors.js';
import { getHeader, type HeaderBag } from './headers.js';

export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];
export type DigestAlgorithm = ChecksumAlgorithm | 'MD5';

const DIGEST_BYTES: Readonly<Record<DigestAlgorithm, number>> = {
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
  MD5: 16,
};

export function digestLength(algorithm: DigestAlgorithm): number {
  return DIGEST_BYTES[algorithm];
}

/** `x-amz-checksum-crc32` for CRC32, and so on. */
export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

/** The algorithm a `x-amz-checksum-*` header (or trailer) name stands for. */
export function checksumAlgorithmFromHeaderName(name: string): ChecksumAlgorithm | undefined {
  const lower = name.trim().toLowerCase();
  if (!lower.startsWith('x-amz-checksum-')) return undefined;
  return parseChecksumAlgorithm(lower.slice('x-amz-checksum-'.length));
}

/** The value of x-amz-sdk-checksum-algorithm / x-amz-checksum-algorithm, case-insensitively. */
export function parseChecksumAlgorithm(value: string): ChecksumAlgorithm | undefined {
  const upper = value.trim().toUpperCase();
  return CHECKSUM_ALGORITHMS.find((a) => a === upper);
}

/** The element name of a checksum in XML bodies: ChecksumCRC32, ChecksumSHA256, ... */
export function checksumXmlName(algorithm: ChecksumAlgorithm): string {
  return `Checksum${algorithm}`;
}

// ---------------------------------------------------------------------------------------------
// Hashers

export interface Hasher {
  readonly algorithm: DigestAlgorithm;
  update(data: Uint8Array): void;
  /** The raw digest bytes; call once, after the last update. */
  digest(): Buffer;
}

class Crc32Hasher implements Hasher {
  private crc = 0;
  constructor(
    readonly algorithm: 'CRC32' | 'CRC32C',
    private readonly fn: (data: Uint8Array, previous?: number) => number,
  ) {}
  update(data: Uint8Array): void {
    this.crc = this.fn(data, this.crc);
  }
  digest(): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.crc >>> 0, 0);
    return out;
  }
}

class Crc64Hasher implements Hasher {
  readonly algorithm = 'CRC64NVME';
  private readonly crc = new Crc64Nvme();
  update(data: Uint8Array): void {
    this.crc.update(data);
  }
  digest(): Buffer {
    return this.crc.digest();
  }
}

class NodeHasher implements Hasher {
  private readonly hash: Hash;
  constructor(readonly algorithm: 'SHA1' | 'SHA256' | 'MD5') {
    this.hash = createHash(algorithm === 'SHA1' ? 'sha1' : algorithm === 'SHA256' ? 'sha256' : 'md5');
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  digest(): Buffer {
    return this.hash.digest();
  }
}

export function createHasher(algorithm: DigestAlgorithm): Hasher {
  switch (algorithm) {
    case 'CRC32':
      return new Crc32Hasher('CRC32', crc32);
    case 'CRC32C':
      return new Crc32Hasher('CRC32C', crc32c);
    case 'CRC64NVME':
      return new Crc64Hasher();
    case 'SHA1':
    case 'SHA256':
    case 'MD5':
      return new NodeHasher(algorithm);
  }
}

/** The base64 checksum of a whole buffer, as S3 writes it in headers. */
export function checksumBase64(algorithm: DigestAlgorithm, data: Uint8Array): string {
  const hasher = createHasher(algorithm);
  hasher.update(data);
  return hasher.digest().toString('base64');
}

/** A strict base64 decode: undefined unless `value` is canonical base64 of exactly `bytes` bytes. */
export function decodeBase64Digest(value: string, bytes: number): Buffer | undefined {
  const text = value.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const decoded = Buffer.from(text, 'base64');
  if (decoded.length !== bytes || decoded.toString('base64') !== text) return undefined;
  return decoded;
}

// ---------------------------------------------------------------------------------------------
// What the request declares

export type ExpectedChecksum =
  | { readonly algorithm: ChecksumAlgorithm; readonly source: 'header'; readonly value: Buffer }
  | { readonly algorithm: ChecksumAlgorithm; readonly source: 'trailer' };

export interface BodyExpectations {
  /** Decoded Content-MD5, when sent. */
  readonly contentMd5: Buffer | undefined;
  /** The hex SHA-256 the signature covered (x-amz-content-sha256), when it is a real hash. */
  readonly contentSha256: string | undefined;
  /** The flexible checksum: a header value now, or a trailer that arrives after the body. */
  readonly checksum: ExpectedChecksum | undefined;
}

/**
 * Reads Content-MD5, x-amz-checksum-*, x-amz-sdk-checksum-algorithm and x-amz-trailer.
 * `contentSha256` is the payload hash the signature verified, when it named one.
 */
export function parseBodyExpectations(
  headers: HeaderBag,
  contentSha256: string | undefined,
): { ok: true; value: BodyExpectations } | { ok: false; error: S3Error } {
  let contentMd5: Buffer | undefined;
  const md5Header = getHeader(headers, 'content-md5');
  if (md5Header !== undefined) {
    contentMd5 = decodeBase64Digest(md5Header, 16);
    if (contentMd5 === undefined) return { ok: false, error: new S3Error('InvalidDigest', undefined, { fields: { 'Content-MD5': md5Header } }) };
  }

  const declared: Array<{ algorithm: ChecksumAlgorithm; value: string }> = [];
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = getHeader(headers, checksumHeaderName(algorithm));
    if (value !== undefined) declared.push({ algorithm, value });
  }
  if (declared.length > 1) {
    return {
      ok: false,
      error: new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.'),
    };
  }

  const trailer = getHeader(headers, 'x-amz-trailer');
  let trailerAlgorithm: ChecksumAlgorithm | undefined;
  if (trailer !== undefined && trailer.trim() !== '') {
    const names = trailer.split(',').map((n) => n.trim()).filter((n) => n !== '');
    if (names.length !== 1) {
      return { ok: false, error: new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- trailer.') };
    }
    trailerAlgorithm = checksumAlgorithmFromHeaderName(names[0]!);
    if (trailerAlgorithm === undefined) {
      return { ok: false, error: new S3Error('InvalidRequest', 'The value specified in the x-amz-trailer header is not supported') };
    }
  }

  const sdkAlgorithmHeader = getHeader(headers, 'x-amz-sdk-checksum-algorithm');
  let sdkAlgorithm: ChecksumAlgorithm | undefined;
  if (sdkAlgorithmHeader !== undefined) {
    sdkAlgorithm = parseChecksumAlgorithm(sdkAlgorithmHeader);
    if (sdkAlgorithm === undefined) {
      return { ok: false, error: new S3Error('InvalidRequest', 'Value for x-amz-sdk-checksum-algorithm header is invalid.') };
    }
  }

  let checksum: ExpectedChecksum | undefined;
  const single = declared[0];
  if (single !== undefined) {
    if (trailerAlgorithm !== undefined) {
      return { ok: false, error: new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.') };
    }
    const value = decodeBase64Digest(single.value, digestLength(single.algorithm));
    if (value === undefined) {
      return { ok: false, error: new S3Error('InvalidRequest', `Value for ${checksumHeaderName(single.algorithm)} header is invalid.`) };
    }
    checksum = { algorithm: single.algorithm, source: 'header', value };
  } else if (trailerAlgorithm !== undefined) {
    checksum = { algorithm: trailerAlgorithm, source: 'trailer' };
  }
  if (sdkAlgorithm !== undefined && checksum !== undefined && sdkAlgorithm !== checksum.algorithm) {
    return { ok: false, error: new S3Error('InvalidRequest', 'Value for x-amz-sdk-checksum-algorithm header is invalid.') };
  }

  let sha256: string | undefined;
  if (contentSha256 !== undefined) {
    if (!/^[0-9a-fA-F]{64}$/.test(contentSha256)) {
      return { ok: false, error: new S3Error('InvalidArgument', 'x-amz-content-sha256 must be a valid SHA-256 value.') };
    }
    sha256 = contentSha256.toLowerCase();
  }
  return { ok: true, value: { contentMd5, contentSha256: sha256, checksum } };
}

// ---------------------------------------------------------------------------------------------
// Hashing a body as it streams

export interface BodyDigests {
  readonly size: number;
  readonly md5: Buffer;
  /** The stored ETag of a single-part object: the MD5 in hex. */
  readonly md5Hex: string;
  /** The flexible checksum, when the request declared one, in base64. */
  readonly checksum: { readonly algorithm: ChecksumAlgorithm; readonly base64: string } | undefined;
}

/** Which digests a body needs beyond MD5, which every body gets for its ETag. */
export interface HashPlan {
  readonly sha256: boolean;
  readonly checksum: ChecksumAlgorithm | undefined;
}

export function hashPlanOf(expectations: BodyExpectations): HashPlan {
  return { sha256: expectations.contentSha256 !== undefined, checksum: expectations.checksum?.algorithm };
}

/** A body's digests as computed, before they are checked against what the request declared. */
export interface ComputedDigests {
  readonly size: number;
  readonly md5: Buffer;
  readonly sha256: Buffer | undefined;
  readonly checksum: Buffer | undefined;
}

/** Hashes a body once for every digest of a plan. Feed it every decoded byte, then take `digests`. */
export class BodyHashes {
  private readonly md5 = createHasher('MD5');
  private readonly sha256: Hasher | undefined;
  private readonly checksum: Hasher | undefined;
  private size = 0;

  constructor(plan: HashPlan) {
    this.sha256 = plan.sha256 ? createHasher('SHA256') : undefined;
    this.checksum = plan.checksum === undefined ? undefined : createHasher(plan.checksum);
  }

  update(data: Uint8Array): void {
    this.size += data.length;
    this.md5.update(data);
    this.sha256?.update(data);
    this.checksum?.update(data);
  }

  /** Call once, after the last update. */
  digests(): ComputedDigests {
    return { size: this.size, md5: this.md5.digest(), sha256: this.sha256?.digest(), checksum: this.checksum?.digest() };
  }
}

export type DigestCheck = { ok: true; value: BodyDigests } | { ok: false; error: S3Error };

/**
 * Checks computed digests against what the request declared: BadDigest for Content-MD5 and flexible
 * checksums, XAmzContentSHA256Mismatch for the signed payload hash. `trailers` are the aws-chunked
 * trailer values, by lower-case name.
 */
export function checkBodyDigests(expectations: BodyExpectations, computed: ComputedDigests, trailers?: ReadonlyMap<string, string>): DigestCheck {
  const { md5 } = computed;
  const { contentMd5, contentSha256, checksum: expected } = expectations;
  if (computed.sha256 !== undefined && contentSha256 !== undefined) {
    const sha256 = computed.sha256.toString('hex');
    if (sha256 !== contentSha256) {
      return {
        ok: false,
        error: new S3Error('XAmzContentSHA256Mismatch', undefined, {
          fields: { ClientComputedContentSHA256: contentSha256, S3ComputedContentSHA256: sha256 },
        }),
      };
    }
  }
  if (contentMd5 !== undefined && !contentMd5.equals(md5)) {
    return {
      ok: false,
      error: new S3Error('BadDigest', undefined, {
        fields: { ExpectedDigest: contentMd5.toString('hex'), CalculatedDigest: md5.toString('base64') },
      }),
    };
  }
  let checksum: BodyDigests['checksum'];
  if (computed.checksum !== undefined && expected !== undefined) {
    let wanted: Buffer | undefined;
    if (expected.source === 'header') {
      wanted = expected.value;
    } else {
      const name = checksumHeaderName(expected.algorithm);
      const value = trailers?.get(name);
      if (value === undefined) {
        return { ok: false, error: new S3Error('MalformedTrailerError', `The ${name} trailer is missing.`) };
      }
      wanted = decodeBase64Digest(value, digestLength(expected.algorithm));
      if (wanted === undefined) {
        return { ok: false, error: new S3Error('InvalidRequest', `Value for ${name} trailing header is invalid.`) };
      }
    }
    if (!wanted.equals(computed.checksum)) {
      return {
        ok: false,
        error: new S3Error('BadDigest', `The ${expected.algorithm} you specified did not match the calculated checksum.`),
      };
    }
    checksum = { algorithm: expected.algorithm, base64: computed.checksum.toString('base64') };
  }
  return { ok: true, value: { size: computed.size, md5, md5Hex: md5.toString('hex'), checksum } };
}

/**
 * Hashes a body once for everything the request declared (MD5 always, for the ETag), and checks
 * the results (see checkBodyDigests). Feed it every decoded byte, then call `finish` with the trailers.
 */
export class BodyDigester {
  private readonly hashes: BodyHashes;

  constructor(private readonly expectations: BodyExpectations) {
    this.hashes = new BodyHashes(hashPlanOf(expectations));
  }

  update(data: Uint8Array): void {
    this.hashes.update(data);
  }

  /** `trailers` are the aws-chunked trailer values, by lower-case name. */
  finish(trailers?: ReadonlyMap<string, string>): DigestCheck {
    return checkBodyDigests(this.expectations, this.hashes.digests(), trailers);
  }
}

/** A pass-through stream that feeds a BodyDigester, for `pipeline(decoded, digestStream, sink)`. */
export function digestingStream(digester: BodyDigester): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      digester.update(chunk);
      callback(null, chunk);
    },
  });
}

// ---------------------------------------------------------------------------------------------
// ETags and multipart checksums

/** An ETag as S3 writes it in headers and XML: in double quotes. */
export function quoteEtag(etag: string): string {
  return etag.startsWith('"') && etag.endsWith('"') && etag.length >= 2 ? etag : `"${etag}"`;
}

/** An ETag without quotes or weak prefix, for comparing what clients send with what is stored. */
export function unquoteEtag(etag: string): string {
  let text = etag.trim();
  if (text.startsWith('W/')) text = text.slice(2);
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
  return text;
}

/**
 * The ETag of a completed multipart upload: MD5 of the concatenated binary part MD5s, in hex,
 * then `-` and the part count. Parts are given as MD5 bytes or their hex ETags (quotes allowed).
 */
export function multipartEtag(parts: ReadonlyArray<Uint8Array | string>): string {
  const hash = createHash('md5');
  for (const part of parts) {
    if (typeof part === 'string') {
      const hex = unquoteEtag(part);
      if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError('a part ETag must be an MD5 in hex');
      hash.update(Buffer.from(hex, 'hex'));
    } else {
      hash.update(part);
    }
  }
  return `${hash.digest('hex')}-${parts.length}`;
}

/**
 * A composite multipart checksum: the algorithm applied to the concatenated binary part checksums,
 * base64, then `-` and the part count. Part checksums are given in base64.
 */
export function compositeChecksum(algorithm: ChecksumAlgorithm, partChecksums: readonly string[]): string {
  const hasher = createHasher(algorithm);
  for (const part of partChecksums) {
    const bytes = decodeBase64Digest(part, digestLength(algorithm));
    if (bytes === undefined) throw new RangeError(`a part checksum is not a base64 ${algorithm} value`);
    hasher.update(bytes);
  }
  return `${hasher.digest().toString('base64')}-${partChecksums.length}`;
}
