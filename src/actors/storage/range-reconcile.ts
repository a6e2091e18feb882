/**
 * One anti-entropy comparison: this node and a peer summarise a ring range as XOR digests; only the
 * summary buckets that differ are listed key by key, and each key that differs is synchronised.
 * Converges replicas even when a queued repair was lost.
 */
import { compareHlc, type Hlc } from '../../core/hlc.js';
import { differingBuckets } from '../../core/range-summary.js';
import type { RingRange } from '../../core/ring/ranges.js';
import type { ActorApi } from '../../runtime/actor.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import { syncKey } from './key-sync.js';
import { identityOf } from './range-digests.js';
import { routerOf } from '../../protocol/cluster/storage.js';
import type { StorageContext } from './storage-context.js';
import { ask } from '../../runtime/typed-ask.js';

export interface ReconcileOutcome {
  readonly compared: boolean;
  readonly synced: number;
  readonly failed: number;
}

export async function reconcileRange(system: ActorApi, context: StorageContext, range: RingRange, peer: string, ringChecksum: number): Promise<ReconcileOutcome> {
  const timeoutMs = context.options.replicaTimeoutMs;
  const remote = await ask(system, routerOf(peer), { type: 'range_summary', start: range.start, end: range.end, ringChecksum }, timeoutMs);
  if (!remote.ok) return { compared: false, synced: 0, failed: 0 };
  const buckets = differingBuckets(context.digests.of(range.start, range.end), remote.digests);
  if (buckets.length === 0) return { compared: true, synced: 0, failed: 0 };

  const theirs = await ask(system, routerOf(peer), { type: 'range_keys', start: range.start, end: range.end, buckets }, timeoutMs);
  if (!theirs.ok) return { compared: false, synced: 0, failed: 0 };
  const versions = new Map<string, { address: ObjectAddress; mine?: Hlc; theirs?: Hlc }>();
  for (const entry of context.digests.keysIn(range.start, range.end, buckets)) versions.set(identityOf(entry.address), { address: entry.address, mine: entry.clock });
  for (const key of theirs.keys) {
    const address: ObjectAddress = { kind: key.kind, bucket: key.bucket, key: key.key };
    const identity = identityOf(address);
    const known = versions.get(identity);
    if (known) versions.set(identity, { ...known, theirs: key.clock });
    else versions.set(identity, { address, theirs: key.clock });
  }

  let synced = 0;
  let failed = 0;
  let looked = 0;
  for (const { address, mine, theirs: their } of versions.values()) {
    if (mine && their && compareHlc(mine, their) === 0) continue;
    if (looked >= context.options.antiEntropyMaxKeysPerRound) break;
    looked++;
    try {
      // Only a copy counts: a tombstone left apart from a replica that purged it is no repair.
      const outcome = await syncKey(system, context, address, peer);
      if (outcome === 'pushed' || outcome === 'pulled') synced++;
    } catch {
      failed++;
    }
  }
  return { compared: true, synced, failed };
}
