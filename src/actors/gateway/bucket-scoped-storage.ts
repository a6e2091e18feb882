/**
 * The storage cluster as one request sees it: handlers name buckets, storage nodes keep namespaces
 * (core/bucket-namespace.ts). Each bucket a request touches is resolved to its namespace once, when
 * first used, and stays so for the rest of the request, its background clean-up included: a request
 * that spans a deletion and re-creation of its bucket keeps writing to the incarnation it started in,
 * whose writes storage nodes refuse and whose leftovers they purge, and never mixes two incarnations.
 * Records come back with the bucket's name, so nothing above this sees a namespace.
 */
import type { BucketRecord } from '../../core/auth-snapshot.js';
import { namespaceOf } from '../../core/bucket-namespace.js';
import type { ListingRequest } from '../../core/listing.js';
import type { ObjectKind, ObjectMeta } from '../../core/object-meta.js';
import type { WriteCondition } from '../../core/write-condition.js';
import type { VersionedWrite } from '../../core/object-versioning.js';
import type { AuthView } from '../common/auth-view.js';
import type { DeleteResult, GetOptions, GetResult, ListResult, ObjectFields, PutResult, StorageApi, StorageFailure } from '../../protocol/cluster/storage-api.js';

export class BucketScopedStorage implements StorageApi {
  private readonly namespaces = new Map<string, string>();

  /** `bucket`: the request's own bucket as it was authorized, pinned from the start. */
  constructor(
    private readonly inner: StorageApi,
    private readonly view: AuthView,
    bucket: BucketRecord | undefined,
  ) {
    if (bucket !== undefined) this.namespaces.set(bucket.name, namespaceOf(bucket));
  }

  async put(kind: ObjectKind, fields: ObjectFields, body?: Uint8Array, condition?: WriteCondition, versioning?: VersionedWrite): Promise<PutResult> {
    const namespace = this.namespaceOf(fields.bucket);
    if (namespace === undefined) return noSuchBucket(fields.bucket);
    const result = await this.inner.put(kind, { ...fields, bucket: namespace }, body, condition, versioning);
    if (!result.ok) return result;
    return { ...result, meta: named(result.meta, fields.bucket), ...(result.replaced ? { replaced: named(result.replaced, fields.bucket) } : {}) };
  }

  async get(kind: ObjectKind, bucket: string, key: string, options?: GetOptions): Promise<GetResult> {
    const namespace = this.namespaceOf(bucket);
    if (namespace === undefined) return noSuchBucket(bucket);
    const result = await this.inner.get(kind, namespace, key, options);
    return result.ok ? { ...result, meta: named(result.meta, bucket) } : result;
  }

  async delete(kind: ObjectKind, bucket: string, key: string, condition?: WriteCondition, versioning?: VersionedWrite): Promise<DeleteResult> {
    const namespace = this.namespaceOf(bucket);
    if (namespace === undefined) return noSuchBucket(bucket);
    const result = await this.inner.delete(kind, namespace, key, condition, versioning);
    if (!result.ok) return result;
    return {
      ok: true,
      ...(result.replaced ? { replaced: named(result.replaced, bucket) } : {}),
      ...(result.written ? { written: named(result.written, bucket) } : {}),
    };
  }

  list(kind: ObjectKind, bucket: string, request: ListingRequest): Promise<ListResult> {
    const namespace = this.namespaceOf(bucket);
    if (namespace === undefined) return Promise.resolve(noSuchBucket(bucket));
    return this.inner.list(kind, namespace, request);
  }

  private namespaceOf(bucket: string): string | undefined {
    let namespace = this.namespaces.get(bucket);
    if (namespace === undefined) {
      const record = this.view.bucket(bucket);
      if (record === undefined) return undefined;
      namespace = namespaceOf(record);
      this.namespaces.set(bucket, namespace);
    }
    return namespace;
  }
}

function named(meta: ObjectMeta, bucket: string): ObjectMeta {
  return meta.bucket === bucket ? meta : { ...meta, bucket };
}

function noSuchBucket(bucket: string): StorageFailure {
  return { ok: false, code: 'NoSuchBucket', message: `no bucket ${bucket}` };
}
