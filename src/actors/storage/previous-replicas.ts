/**
 * What a write must learn before its stamp while a rebalance moves its key. A write is ordered after
 * an earlier acknowledged one because their quorums meet: some replica that takes the later write holds
 * the earlier and makes the coordinator stamp again above it (write-coordinator.ts), or shows it to a
 * conditional write's judgement (cas-coordinator.ts). A rebalance breaks that: a key's new replica holds
 * nothing of it until its hand-off is done, so a write taken by it and by one replica that missed the
 * earlier write can be stamped below that write, and lose to it once acknowledged. So while the key's
 * replicas differ between the previous ring and the current one, the coordinator first asks the previous
 * ring's replicas for the newest version each holds, and hears from as many of them as its own quorum,
 * or N-min(W,D)+1 if fewer: any earlier write's quorum on that ring meets them as it would meet a quorum
 * on an unchanged ring. Chunks are written once under keys of their own, so nothing orders them.
 */
import { compareHlc } from '../../core/hlc.js';
import type { ObjectMeta } from '../../core/object-meta.js';
import { recordAck, recordFailure, startQuorum, type Quorum } from '../../core/quorum.js';
import { keyPosition } from '../../core/ring/position.js';
import { preferenceList } from '../../core/ring/ring.js';
import type { ActorApi } from '../../runtime/actor.js';
import { ask } from '../../runtime/typed-ask.js';
import { storageFailure, type StorageFailure } from '../../protocol/cluster/storage-api.js';
import { routerOf } from '../../protocol/cluster/storage.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import type { StorageContext } from './storage-context.js';

/** `newest`: null when none of them holds the key, or when no rebalance moves its replicas. */
export type PreviousReplicasView = { readonly ok: true; readonly newest: ObjectMeta | null } | StorageFailure;

/**
 * The newest version that the key's previous replicas hold, heard from `quorum` of them (the write's
 * own quorum) or N-min(W,D)+1 if fewer, or a failure when too few of them answer.
 */
export async function newestOnPreviousReplicas(
  system: ActorApi,
  context: StorageContext,
  address: ObjectAddress,
  quorum: number,
): Promise<PreviousReplicasView> {
  const snapshot = context.ringView.current;
  if (!snapshot?.previous || address.kind === 'chunk') return { ok: true, newest: null };
  const { n, w, d } = snapshot.doc.settings;
  const position = keyPosition(address.bucket, address.key);
  const previous = preferenceList(snapshot.previous, position, n);
  const current = preferenceList(snapshot.current, position, n);
  if (previous.length === 0 || (previous.length === current.length && previous.every((node) => current.includes(node)))) return { ok: true, newest: null };

  const needed = Math.min(quorum, n - Math.min(w, d) + 1, previous.length);
  return new Promise((resolve) => {
    let heard: Quorum = startQuorum(previous, needed);
    let newest: ObjectMeta | null = null;
    const answered = (replica: string, meta: ObjectMeta | null | undefined): void => {
      if (heard.state !== 'pending') return;
      if (meta === undefined) heard = recordFailure(heard, replica);
      else {
        heard = recordAck(heard, replica);
        if (meta !== null && (newest === null || compareHlc(meta.clock, newest.clock) > 0)) newest = meta;
      }
      if (heard.state === 'met') resolve({ ok: true, newest });
      else if (heard.state === 'failed') {
        resolve(storageFailure('Unavailable', `a rebalance is moving ${address.bucket}/${address.key} and ${heard.acked.length} of its ${previous.length} previous replicas answered where ${needed} must, to order the write after what they hold; retry`));
      }
    };
    for (const replica of previous) {
      if (replica === context.node) answered(replica, context.store.getMeta(address) ?? null);
      else if (context.isKnownDown(replica)) answered(replica, undefined);
      else {
        void ask(system, routerOf(replica), { type: 'head_local', objectKind: address.kind, bucket: address.bucket, key: address.key }, context.options.replicaTimeoutMs).then((reply) =>
          answered(replica, reply.ok ? reply.meta : undefined),
        );
      }
    }
  });
}
