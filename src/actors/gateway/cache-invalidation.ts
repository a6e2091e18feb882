/**
 * Every write and delete of an object through this gateway, whatever the request (PUT, POST, copy,
 * multipart completion, tagging, NFS), drops this gateway's copies of it; in HTTP-cache mode, where
 * other gateways serve their copies without asking, it also tells them (`CachePeers`). Done at the
 * storage calls rather than in each handler so no write path can forget it. The copies are dropped
 * before the write too, so a read racing it does not keep the old version here for the TTL.
 */
import { bucketNameOf } from '../../core/bucket-namespace.js';
import type { ListingRequest } from '../../core/listing.js';
import type { ObjectKind } from '../../core/object-meta.js';
import type { VersionedWrite } from '../../core/object-versioning.js';
import type { WriteCondition } from '../../core/write-condition.js';
import type { DeleteResult, GetOptions, GetResult, ListResult, ObjectFields, PutResult, StorageApi } from '../../protocol/cluster/storage-api.js';

/** The other gateways' caches. */
export interface CachePeers {
  /** Tells them to drop their copies of an object; best effort, nobody waits for it. */
  announce(bucket: string, key: string): void;
}

export const NO_PEERS: CachePeers = { announce: () => undefined };

export class CacheInvalidatingStorage implements StorageApi {
  /** `invalidate`: drops this gateway's copies; `announce`: tells the others, after the write. */
  constructor(
    private readonly inner: StorageApi,
    private readonly invalidate: (bucket: string, key: string) => void,
    private readonly announce: (bucket: string, key: string) => void,
  ) {}

  async put(kind: ObjectKind, fields: ObjectFields, body?: Uint8Array, condition?: WriteCondition, versioning?: VersionedWrite): Promise<PutResult> {
    return this.written(kind, fields.bucket, fields.key, () => this.inner.put(kind, fields, body, condition, versioning));
  }

  get(kind: ObjectKind, bucket: string, key: string, options?: GetOptions): Promise<GetResult> {
    return this.inner.get(kind, bucket, key, options);
  }

  async delete(kind: ObjectKind, bucket: string, key: string, condition?: WriteCondition, versioning?: VersionedWrite): Promise<DeleteResult> {
    return this.written(kind, bucket, key, () => this.inner.delete(kind, bucket, key, condition, versioning));
  }

  list(kind: ObjectKind, bucket: string, request: ListingRequest): Promise<ListResult> {
    return this.inner.list(kind, bucket, request);
  }

  private async written<T>(kind: ObjectKind, namespace: string, key: string, write: () => Promise<T>): Promise<T> {
    if (kind !== 'object') return write();
    // Caches are keyed by bucket name; storage calls below the request scope name namespaces.
    const bucket = bucketNameOf(namespace);
    this.invalidate(bucket, key);
    try {
      return await write();
    } finally {
      // Even a failed write may have reached some replicas.
      this.invalidate(bucket, key);
      this.announce(bucket, key);
    }
  }
}
