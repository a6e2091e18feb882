/**
 * The gateway's side of the storage cluster's failures: one function that turns each into the S3 error
 * a client sees, and a wrapper that puts a deadline on every call so a request never hangs on storage.
 */
import type { ObjectKind } from '../../core/object-meta.js';
import type { ListingRequest } from '../../core/listing.js';
import type { WriteCondition } from '../../core/write-condition.js';
import { MAX_VERSIONS_PER_KEY, type VersionedWrite } from '../../core/object-versioning.js';
import type { Clock } from '../../runtime/clock.js';
import { S3Error, type S3ErrorCode } from '../../protocol/s3/errors.js';
import type {
  DeleteResult, GetOptions, GetResult, ListResult, ObjectFields, PutResult, StorageApi, StorageFailure,
} from '../../protocol/cluster/storage-api.js';

/**
 * QuorumFailed, Unavailable and Timeout are 503 ServiceUnavailable, which every SDK retries with
 * backoff. A full disk is 507 InsufficientStorage: SDKs do not retry it, which is right, since
 * retrying cannot free space and would only hold the client for minutes before failing anyway.
 */
export function storageFailureError(failure: Pick<StorageFailure, 'code' | 'condition'>, notFound: S3ErrorCode = 'NoSuchKey'): S3Error {
  switch (failure.code) {
    case 'NotFound':
      return new S3Error(notFound);
    case 'QuorumFailed':
    case 'Unavailable':
    case 'Timeout':
      return new S3Error('ServiceUnavailable');
    case 'SlowDown':
      return new S3Error('SlowDown');
    case 'InsufficientStorage':
      return new S3Error('InsufficientStorage');
    case 'NoSuchBucket':
      return new S3Error('NoSuchBucket');
    // A 503, which every SDK retries: the deletion either ends the bucket (the retry gets NoSuchBucket)
    // or finds it not empty and lifts its seal within moments (the retry succeeds).
    case 'BucketBusy':
      return new S3Error('ServiceUnavailable', 'A deletion of this bucket is in progress; try again.');
    case 'PreconditionFailed':
      return new S3Error('PreconditionFailed', undefined, { fields: { Condition: failure.condition ?? 'If-Match' } });
    // A 409 that tells the client to retry: the key's conditional writes are decided one at a time.
    case 'ConditionalConflict':
      return new S3Error('ConditionalRequestConflict');
    case 'NoSuchVersion':
      return new S3Error('NoSuchVersion');
    // What S3 answers for a delete or retention change that object lock forbids.
    case 'ObjectLocked':
      return new S3Error('AccessDenied', 'The object is protected by object lock and cannot be changed this way.');
    // Not an S3 limit: this store keeps a key's versions in one record. A retry cannot help.
    case 'TooManyVersions':
      return new S3Error('InvalidRequest', `This key keeps the most versions this store holds for one key (${MAX_VERSIONS_PER_KEY}, or their metadata is too large); delete older versions, or let a lifecycle rule expire them.`);
    // The writer moves the body (or sends it) and writes again; reaching a client, it is the store's own failure.
    case 'InlineBody':
    case 'StagedBodyRefused':
    case 'InternalError':
      return new S3Error('InternalError');
  }
}

/** Throws the S3 error of a failed result, so handlers read as a straight line. */
export function expectOk<T extends { readonly ok: true }>(result: T | StorageFailure, notFound?: S3ErrorCode): T {
  if (result.ok) return result;
  throw storageFailureError(result, notFound);
}

/**
 * Every call to the wrapped storage either settles or fails with Timeout after `timeoutMs`. A call that
 * settles later is ignored. A chunk that lands after its deadline is one nobody points at, which the
 * clean-up of the failed request deletes, or, landing after that clean-up too (it may still be on its
 * way to a second coordinator), the orphan sweep; a record that may land after its deadline keeps the
 * chunks it names (handlers/put-object.ts), and the orphan sweep removes them if it never did.
 */
export class DeadlineStorage implements StorageApi {
  constructor(
    private readonly inner: StorageApi,
    private readonly clock: Clock,
    private readonly timeoutMs: number,
  ) {}

  put(kind: ObjectKind, fields: ObjectFields, body?: Uint8Array, condition?: WriteCondition, versioning?: VersionedWrite): Promise<PutResult> {
    return this.bounded(`put ${kind}`, () => this.inner.put(kind, fields, body, condition, versioning));
  }

  get(kind: ObjectKind, bucket: string, key: string, options?: GetOptions): Promise<GetResult> {
    return this.bounded(`get ${kind}`, () => this.inner.get(kind, bucket, key, options));
  }

  delete(kind: ObjectKind, bucket: string, key: string, condition?: WriteCondition, versioning?: VersionedWrite): Promise<DeleteResult> {
    return this.bounded(`delete ${kind}`, () => this.inner.delete(kind, bucket, key, condition, versioning));
  }

  list(kind: ObjectKind, bucket: string, request: ListingRequest): Promise<ListResult> {
    return this.bounded(`list ${kind}`, () => this.inner.list(kind, bucket, request));
  }

  private bounded<T>(what: string, call: () => Promise<T>): Promise<T | StorageFailure> {
    return new Promise((resolve) => {
      let settled = false;
      const timer = this.clock.setTimeout(() => {
        if (settled) return;
        settled = true;
        resolve({ ok: false, code: 'Timeout', message: `${what} did not answer within ${this.timeoutMs} ms` });
      }, this.timeoutMs);
      const finish = (value: T | StorageFailure): void => {
        if (settled) return;
        settled = true;
        timer.cancel();
        resolve(value);
      };
      let pending: Promise<T>;
      try {
        pending = call();
      } catch (error) {
        finish(internal(what, error));
        return;
      }
      pending.then(finish, (error: unknown) => finish(internal(what, error)));
    });
  }
}

function internal(what: string, error: unknown): StorageFailure {
  return { ok: false, code: 'InternalError', message: `${what} failed: ${error instanceof Error ? error.message : String(error)}` };
}
