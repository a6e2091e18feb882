/**
 * The metadata record kept per key on every replica. It is the unit that replicas compare and
 * repair, so it carries everything a read needs besides the body, and the clock that decides which
 * copy wins.
 */
import type { ObjectEncryption } from './object-encryption.js';
import type { ObjectAcl } from './acl.js';
import { createHash } from 'node:crypto';
import { compareHlc, type Hlc } from './hlc.js';
import type { Retention } from './object-lock.js';

/**
 * Objects are what S3 lists; chunks are the pieces of large objects and parts, ring objects of their
 * own; uploads are the records of multipart uploads in progress and of their parts.
 */
export type ObjectKind = 'object' | 'chunk' | 'upload';

export const OBJECT_KINDS: readonly ObjectKind[] = ['object', 'chunk', 'upload'];

export type ChecksumAlgorithm = 'crc32' | 'crc32c' | 'crc64nvme' | 'sha1' | 'sha256';

/** Base64 digests as S3 returns them in x-amz-checksum-*; only the algorithms the client asked for. */
export type ObjectChecksums = { readonly [algorithm in ChecksumAlgorithm]?: string };

/**
 * Present when the body is stored as chunk objects. Sizes are listed one by one because a
 * multipart object's chunks are its parts, and parts may differ in size.
 */
export interface ChunkLayout {
  readonly chunkSizesBytes: readonly number[];
  /**
   * Which writes stored the chunks, in order: the first `chunkCount` chunks belong to the first run, and
   * so on. A single upload is one run; a completed multipart upload has one run per part. Absent on
   * layouts whose chunks are keyed by index alone (see chunk-layout.ts).
   */
  readonly runs?: readonly ChunkRun[];
}

/** Chunks written by one body upload, keyed under that upload's version id. */
export interface ChunkRun {
  readonly versionId: string;
  readonly chunkCount: number;
}

export interface MultipartPart {
  readonly partNumber: number;
  readonly sizeBytes: number;
  /** MD5 hex of the part, without quotes. */
  readonly etag: string;
}

export interface MultipartInfo {
  readonly parts: readonly MultipartPart[];
  /** On the record of an upload in progress: its id, who started it, and the checksum its parts carry. */
  readonly uploadId?: string;
  readonly initiator?: string;
  readonly checksumAlgorithm?: ChecksumAlgorithm;
}

export interface ObjectMeta {
  readonly bucket: string;
  readonly key: string;
  readonly sizeBytes: number;
  /** MD5 hex of the whole body, or `md5-of-part-md5s-N` for a completed multipart upload; no quotes. */
  readonly etag: string;
  readonly contentType: string;
  readonly contentEncoding?: string;
  readonly contentDisposition?: string;
  readonly cacheControl?: string;
  readonly expires?: string;
  readonly contentLanguage?: string;
  /** x-amz-meta-* headers, names lower-cased and without the prefix. */
  readonly userMeta: Readonly<Record<string, string>>;
  readonly checksums?: ObjectChecksums;
  readonly clock: Hlc;
  readonly lastModifiedMs: number;
  /** Checksum of the ring the coordinator routed by: tells a rebalance which records predate it. */
  readonly ringChecksum: number;
  /** A tombstone: the key was deleted at `clock`; kept until every replica has it so the key stays deleted. */
  readonly deleted: boolean;
  readonly chunks?: ChunkLayout;
  readonly multipart?: MultipartInfo;
  /**
   * The conditional write that made this version: a coordinator that retries the write elsewhere (its
   * first one went down) recognises the version as its own by it.
   */
  readonly writeId?: string;
  /**
   * In a bucket that has had versioning enabled: the S3 version id of the version the record describes;
   * absent for the null version (every version of a bucket that never had versioning).
   */
  readonly versionId?: string;
  /** The version the record describes is a delete marker: listed among versions, never read. */
  readonly deleteMarker?: true;
  /** Object lock (core/object-lock.ts): the version's retention and legal hold, when it has them. */
  readonly retention?: Retention;
  readonly legalHold?: true;
  /** The version's tags (core/object-tags.ts); absent when it has none. */
  readonly tags?: Readonly<Record<string, string>>;
  /** How the version's body is encrypted at rest (core/object-encryption.ts); absent: it is not. */
  readonly encryption?: ObjectEncryption;
  /** The version's owner and ACL (core/acl.ts); absent on versions written before objects had ACLs. */
  readonly acl?: ObjectAcl;
  /** The key's older versions, newest first (see core/object-versioning.ts). */
  readonly noncurrent?: readonly VersionFields[];
}

/** What describes one version of a key apart from the record holding it. */
export type VersionFields = Omit<ObjectMeta, 'bucket' | 'key' | 'clock' | 'ringChecksum' | 'deleted' | 'writeId' | 'noncurrent'>;

/**
 * Whether a version has bytes stored with its record: not a tombstone, not empty, and not cut into
 * chunks (those are ring objects of their own). A reader asks a replica for a body only then.
 */
export function carriesBody(meta: Pick<ObjectMeta, 'deleted' | 'sizeBytes' | 'chunks'>): boolean {
  return !meta.deleted && meta.sizeBytes > 0 && meta.chunks === undefined;
}

/** S3 measures user metadata as the UTF-8 bytes of every name and value. */
export const USER_META_LIMIT_BYTES = 2 * 1024;

export function userMetaSizeBytes(userMeta: Readonly<Record<string, string>>): number {
  let sizeBytes = 0;
  for (const [name, value] of Object.entries(userMeta)) {
    sizeBytes += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value, 'utf8');
  }
  return sizeBytes;
}

export function exceedsUserMetaLimit(userMeta: Readonly<Record<string, string>>): boolean {
  return userMetaSizeBytes(userMeta) > USER_META_LIMIT_BYTES;
}

/** True when `a` was written after `b`; anything with a clock compares, so listing entries do too. */
export function isNewer(a: { readonly clock: Hlc }, b: { readonly clock: Hlc }): boolean {
  return compareHlc(a.clock, b.clock) > 0;
}

/** The version that wins under last-writer-wins; a missing copy loses to any version. */
export function newerOf<T extends { readonly clock: Hlc }>(a: T, b: T): T;
export function newerOf<T extends { readonly clock: Hlc }>(a: T | undefined, b: T | undefined): T | undefined;
export function newerOf<T extends { readonly clock: Hlc }>(a: T | undefined, b: T | undefined): T | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return isNewer(b, a) ? b : a;
}

/** The record a delete writes: it must win over every older version, so it carries the delete's clock. */
export function tombstoneOf(
  target: { readonly bucket: string; readonly key: string },
  clock: Hlc,
  lastModifiedMs: number,
  ringChecksum: number,
): ObjectMeta {
  return {
    bucket: target.bucket,
    key: target.key,
    sizeBytes: 0,
    etag: '',
    contentType: '',
    userMeta: {},
    clock,
    lastModifiedMs,
    ringChecksum,
    deleted: true,
  };
}

/** The ETag AWS gives a completed multipart upload: MD5 of the parts' binary MD5s, then `-` and the part count. */
export function multipartEtag(partEtags: readonly string[]): string {
  const hash = createHash('md5');
  for (const etag of partEtags) {
    const hex = etag.replace(/^"|"$/g, '');
    if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError(`part ETag is not an MD5 hex digest: ${etag}`);
    hash.update(Buffer.from(hex, 'hex'));
  }
  return `${hash.digest('hex')}-${partEtags.length}`;
}
