/**
 * Copies of a bucket's objects live in the gateway's caches under the bucket's name. When a bucket is
 * deleted, or deleted and created again under its name, every copy of the old bucket's objects is
 * dropped as soon as the gateway learns of it, before any request is authorized against the new
 * bucket: in HTTP-cache mode a copy is served without asking storage, and it must never show the old
 * bucket's data to the new bucket's owner.
 */
import { namespaceOf } from '../../core/bucket-namespace.js';
import type { AuthView } from '../common/auth-view.js';

export interface BucketCaches {
  invalidateBucket(bucket: string): void;
}

/** Watches `view` for buckets that end; answers the function that stops watching. */
export function dropCopiesOfEndedBuckets(view: AuthView, caches: readonly BucketCaches[]): () => void {
  const incarnationOf = (): Map<string, string> => new Map((view.current?.buckets ?? []).map((bucket) => [bucket.name, namespaceOf(bucket)]));
  let known = incarnationOf();
  return view.subscribe(() => {
    const now = incarnationOf();
    for (const [name, namespace] of known) {
      if (now.get(name) === namespace) continue;
      for (const cache of caches) cache.invalidateBucket(name);
    }
    known = now;
  });
}
