/**
 * A storage node's answer to bucket_stats: the sizes of bucket namespaces counted over the keys this
 * node is the counter of (core/bucket-stats.ts), by the ring it holds when the walk starts. The walk
 * runs off the router's mailbox, in batches that yield to other work (object-store.ts `bucketSizes`).
 * Asking again while the same walk runs joins it; at most a few different walks run at once, and a
 * request beyond them is answered Unavailable rather than queued without bound.
 */
import { counterOf } from '../../core/bucket-stats.js';
import { keyPosition } from '../../core/ring/position.js';
import { preferenceList } from '../../core/ring/ring.js';
import type { BucketStatsReply, StorageError } from '../../protocol/cluster/storage.js';
import { storageError } from './replica-ops.js';
import type { StorageContext } from './storage-context.js';

/** Different walks (another namespace, other absent nodes) that may run at once. */
const MAX_WALKS = 4;

export interface BucketStatsRequest {
  readonly namespace?: string;
  readonly absent: readonly string[];
}

export class BucketStatsWalks {
  private readonly running = new Map<string, Promise<BucketStatsReply>>();

  constructor(private readonly context: StorageContext) {}

  /** The sizes asked for: from a walk of the same request under way, or from a new one. */
  sizes(request: BucketStatsRequest): Promise<BucketStatsReply> {
    const absent = [...new Set(request.absent)].sort();
    const key = JSON.stringify([request.namespace ?? null, absent]);
    const joined = this.running.get(key);
    if (joined !== undefined) return joined;
    if (this.running.size >= MAX_WALKS) return Promise.resolve(busy());
    const walk = this.walk(request.namespace, new Set(absent)).finally(() => this.running.delete(key));
    this.running.set(key, walk);
    return walk;
  }

  private async walk(namespace: string | undefined, absent: ReadonlySet<string>): Promise<BucketStatsReply> {
    const snapshot = this.context.ringView.current;
    if (snapshot === undefined) return { ok: false, code: 'Unavailable', message: 'this node has no ring yet' };
    const { current, checksum, doc } = snapshot;
    const self = this.context.node;
    const counts = (bucket: string, key: string): boolean => counterOf(preferenceList(current, keyPosition(bucket, key), doc.settings.n), absent) === self;
    try {
      const sizes = await this.context.store.bucketSizes({ ...(namespace !== undefined ? { namespace } : {}), counts });
      return { ok: true, ringChecksum: checksum, namespaces: [...sizes].map(([name, size]) => ({ namespace: name, ...size })) };
    } catch (error) {
      return storageError(error);
    }
  }
}

function busy(): StorageError {
  return { ok: false, code: 'Unavailable', message: 'this node is already counting the sizes of other buckets; ask again in a moment' };
}
