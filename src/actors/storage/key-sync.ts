/**
 * Makes one key equal on this node and a peer: whichever holds the newer version gives it to the
 * other. Used by the recoverer (queued repairs), read repair and anti-entropy alike.
 *
 * Purged tombstones: a replica with no record of a key whose tombstone was purged cannot be offered an
 * older live version of it here, because the purge needed every replica to hold the tombstone or
 * nothing (core/purge-rules.ts): a replica with an older version blocks it, and a node that was away
 * past the horizon drops its live versions before it syncs (presence-keeper.ts). The other way round,
 * a tombstone past the grace period is not copied to a replica that has nothing: that replica purged
 * it already, or never had the key and so holds nothing the tombstone must win against. Copying it
 * back would only start a purge/copy loop between replicas whose reapers run at different times.
 */
import { compareHlc } from '../../core/hlc.js';
import { carriesBody } from '../../core/object-meta.js';
import { isPastGrace } from '../../core/purge-rules.js';
import type { ActorApi } from '../../runtime/actor.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import { applyReplicaWrite } from './replica-ops.js';
import { routerOf } from '../../protocol/cluster/storage.js';
import type { StorageContext } from './storage-context.js';
import { ask, askWhenWritable } from '../../runtime/typed-ask.js';

/** `skipped`: the newer side holds a tombstone past the grace period and the other side nothing; left so. */
export type SyncOutcome = 'in-sync' | 'pushed' | 'pulled' | 'skipped';

export class SyncFailed extends Error {
  override readonly name = 'SyncFailed';
}

export async function syncKey(system: ActorApi, context: StorageContext, address: ObjectAddress, peer: string): Promise<SyncOutcome> {
  const timeoutMs = context.options.replicaTimeoutMs;
  const addressed = { objectKind: address.kind, bucket: address.bucket, key: address.key };
  const remote = await ask(system, routerOf(peer), { type: 'head_local', ...addressed }, timeoutMs);
  if (!remote.ok) throw new SyncFailed(`${peer} did not answer: ${remote.code} ${remote.message}`);
  const local = context.store.getMeta(address);
  const theirs = remote.meta;
  const order = local && theirs ? compareHlc(local.clock, theirs.clock) : local ? 1 : theirs ? -1 : 0;
  if (order === 0) return 'in-sync';
  const [newer, older] = order > 0 ? [local!, theirs] : [theirs!, local];
  if (!older && newer.deleted && isPastGrace(newer.clock, context.clock.now(), context.options.tombstoneGraceMs)) return 'skipped';

  if (order > 0) {
    // A version whose write may still be undone is not handed on (stale-writes.ts ends it one way or
    // the other); the sync comes back for it later.
    if (context.store.isUnsettled(address, local!.clock)) throw new SyncFailed(`the newest version of ${address.bucket}/${address.key} here is not settled yet`);
    const read = carriesBody(local!) ? await context.store.readBody(address, local!.clock) : undefined;
    const body = read === 'out-of-range' ? undefined : read;
    if (carriesBody(local!) && !body) throw new SyncFailed(`the body of ${address.bucket}/${address.key} is missing here (replaced meanwhile?)`);
    const pushed = await askWhenWritable(
      system,
      routerOf(peer),
      { type: 'replica_put', objectKind: address.kind, meta: local!, keepPrevious: false, ...(body ? { body } : {}) },
      timeoutMs,
      body?.length ?? 0,
    );
    if (!pushed.ok) throw new SyncFailed(`push to ${peer} failed: ${pushed.code} ${pushed.message}`);
    return 'pushed';
  }

  const pulled = await ask(system, routerOf(peer), { type: 'replica_get', ...addressed, withBody: true }, timeoutMs);
  if (!pulled.ok) throw new SyncFailed(`pull from ${peer} failed: ${pulled.code} ${pulled.message}`);
  if (!pulled.meta) return 'in-sync';
  if (pulled.unsettled) throw new SyncFailed(`the newest version of ${address.bucket}/${address.key} on ${peer} is not settled yet`);
  const applied = await applyReplicaWrite(context, { objectKind: address.kind, meta: pulled.meta, keepPrevious: false, ...(pulled.body ? { body: pulled.body } : {}) });
  if (!applied.ok) throw new SyncFailed(`storing the version from ${peer} failed: ${applied.code} ${applied.message}`);
  return 'pulled';
}
