/**
 * The cluster's object API as the gateway (and tests, and benchmarks) use it: put, get, head, delete
 * and list of ring objects, routed to the first available replica. Implemented over the cluster
 * transport by actors/common/storage-client.ts; a test may substitute an in-memory implementation.
 */
import type { BodySlice } from '../../core/body-slice.js';
import type { BodyFileRef } from '../../core/body-file-ref.js';
import type { ListingEntry, ListingRequest, ListingResult } from '../../core/listing.js';
import type { ObjectKind, ObjectMeta } from '../../core/object-meta.js';
import type { WriteCondition } from '../../core/write-condition.js';
import type { Hlc } from '../../core/hlc.js';
import type { VersionedOutcome, VersionedWrite } from '../../core/object-versioning.js';

/** What the writer decides; the coordinator adds the clock, ring checksum and modification time. */
export type ObjectFields = Omit<ObjectMeta, 'clock' | 'ringChecksum' | 'deleted' | 'lastModifiedMs' | 'versionId' | 'deleteMarker' | 'noncurrent'>;

export type StorageFailureCode =
  /** No such object, or its newest version is a tombstone. */
  | 'NotFound'
  /** Fewer than W (or D) replicas acknowledged; nothing of the write stays visible. */
  | 'QuorumFailed'
  /** No replica of the key could be reached, or the cluster has no ring yet. */
  | 'Unavailable'
  | 'Timeout'
  /** A replica's disk is full or over its capacity. */
  | 'InsufficientStorage'
  /** The cluster refuses work for now (overload); retry later. */
  | 'SlowDown'
  /** The bucket the key belongs to was deleted (its incarnation ended). */
  | 'NoSuchBucket'
  /** The bucket is being deleted: writes are refused until that finishes or is given up. */
  | 'BucketBusy'
  /** A conditional write's condition does not hold for the key's current version; nothing was written. */
  | 'PreconditionFailed'
  /** Concurrent conditional writes to the key kept this one from being decided; nothing was written. */
  | 'ConditionalConflict'
  /** A versioned delete named a version the key does not have; nothing was written. */
  | 'NoSuchVersion'
  /**
   * A versioned write would keep a version whose body is in its record (`inlineClock`: the record's
   * clock); the writer copies that body into chunks and sends the write again with `rechunked`.
   */
  | 'InlineBody'
  /** The write would remove a locked version or loosen its retention (core/object-lock.ts); nothing was written. */
  | 'ObjectLocked'
  /** The key keeps as many versions as its record holds; nothing was written. */
  | 'TooManyVersions'
  /**
   * The coordinator cannot take the body staged for it (store/staged-bodies.ts); the writer sends the
   * bytes. `everyStagedBody`: nor any other from this writer.
   */
  | 'StagedBodyRefused'
  | 'InternalError';

export interface StorageFailure {
  readonly ok: false;
  readonly code: StorageFailureCode;
  readonly message: string;
  /** With PreconditionFailed: the header whose condition failed. */
  readonly condition?: 'If-Match' | 'If-None-Match';
  /** With InlineBody. */
  readonly inlineClock?: Hlc;
  /** With StagedBodyRefused. */
  readonly everyStagedBody?: boolean;
}

/** A failure with nothing more to tell than its code and message. */
export function storageFailure(code: StorageFailureCode, message: string): StorageFailure {
  return { ok: false, code, message };
}

/**
 * `replaced`: the newest version the write replaced on the replicas that acknowledged it (none for a
 * new key), so that the writer can retire what it referenced (the chunks of a large object) without
 * reading the key first.
 */
/**
 * `resent`: the write was sent on to another coordinator after the first went down with it in hand; the
 * lost link may still be reading the body it was given, which is therefore not to be reused.
 */
export type PutResult = { readonly ok: true; readonly meta: ObjectMeta; readonly replaced?: ObjectMeta; readonly resent?: true } | StorageFailure;
/** `bodyFile`, asked for with `fileOnMachine`: the body is to be read from there, and is not in `body`. */
export type GetResult = { readonly ok: true; readonly meta: ObjectMeta; readonly body?: Uint8Array; readonly bodyFile?: BodyFileRef } | StorageFailure;
/** `written`: the record a versioned delete left (a delete marker's, or what remains of the key). */
export type DeleteResult = { readonly ok: true; readonly replaced?: ObjectMeta; readonly written?: ObjectMeta } | StorageFailure;
export type ListResult = { readonly ok: true; readonly result: ListingResult<ListingEntry> } | StorageFailure;

export interface GetOptions {
  /** Fetch the body too. */
  readonly withBody?: boolean;
  /** With `withBody`: only these bytes of it. A slice past the body's end is an InternalError. */
  readonly bodySlice?: BodySlice;
  /**
   * With `withBody`: the identity of the reader's machine (store/same-machine.ts). A replica on that
   * machine that keeps the body in a file answers with where it lies (`bodyFile`) instead of the bytes.
   */
  readonly fileOnMachine?: string;
  /**
   * With `withBody`: where a reader in this process that reads the body itself (the gateway's reads of
   * files on its machine) gets the buffer it reads into, asked for only when it is about to read; the
   * result's body is then that buffer. A buffer lent for a read that failed is dropped, never handed
   * back: the read may still be writing into it. Never sent.
   */
  readonly lendBuffer?: (lengthBytes: number) => Buffer | undefined;
}

export interface StorageApi {
  /**
   * Writes a new version with quorum W. A body larger than one chunk (5 MiB) must be cut by the caller.
   * With a `condition`, the write happens only if the key's current version satisfies it, decided once
   * and atomically on the key's replicas: of concurrent conditional writers at most one succeeds.
   * If-Match on a key without a live version fails with NotFound. With `versioning` (a put), the key's
   * versions are kept as core/object-versioning.ts says, decided like a conditional write.
   */
  put(kind: ObjectKind, fields: ObjectFields, body?: Uint8Array, condition?: WriteCondition, versioning?: VersionedWrite): Promise<PutResult>;
  /** The newest version among R replicas, with its body (or part of it) when asked. */
  get(kind: ObjectKind, bucket: string, key: string, options?: GetOptions): Promise<GetResult>;
  /**
   * Writes a tombstone with quorum D; a `condition` as for put. With `versioning` (a marker or a
   * removal), writes the record that leaves, decided like a conditional write.
   */
  delete(kind: ObjectKind, bucket: string, key: string, condition?: WriteCondition, versioning?: VersionedWrite): Promise<DeleteResult>;
  /** One page of keys merged from every storage node (tombstones hidden unless asked for). */
  list(kind: ObjectKind, bucket: string, request: ListingRequest): Promise<ListResult>;
}

/** The failure a replica answers for a versioned write that its rule refused. */
export function versionedWriteFailure(outcome: Extract<VersionedOutcome, { ok: false }>, key: string, write: VersionedWrite): StorageFailure {
  switch (outcome.code) {
    case 'NoSuchVersion':
      return { ok: false, code: 'NoSuchVersion', message: `${key} has no version ${write.versionId ?? 'current'}` };
    case 'InlineBody':
      return { ok: false, code: 'InlineBody', message: `the current version of ${key} keeps its body in its record`, inlineClock: outcome.clock };
    case 'ObjectLocked':
      return { ok: false, code: 'ObjectLocked', message: `${key}: ${outcome.reason}` };
    case 'TooManyVersions':
      return { ok: false, code: 'TooManyVersions', message: `${key}: ${outcome.reason}` };
  }
}
