/**
 * The replica side of replication, shared by the router, the coordinators and the hand-off: apply a version, settle or
 * revert a write, purge tombstones, and answer inspections. Store failures become error replies, never crashes.
 */
import { compareHlc, type Hlc } from '../../core/hlc.js';
import type { ObjectKind, ObjectMeta } from '../../core/object-meta.js';
import type { StagedBodyRef } from '../../core/staged-body-ref.js';
import type { BodySource } from '../../store/body-files.js';
import { StoreFailure, type TombstoneRef } from '../../store/object-store.js';
import { refusesEveryStagedBody, StagedBody, StagedBodyRefused } from '../../store/staged-bodies.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import type { ReplicaPutReply, StorageError } from '../../protocol/cluster/storage.js';
import type { StorageContext } from './storage-context.js';

export interface ReplicaWrite {
  readonly objectKind: ObjectKind;
  readonly meta: ObjectMeta;
  /** In memory, or staged on this machine by the writer (store/staged-bodies.ts). */
  readonly body?: Uint8Array | BodySource;
  readonly keepPrevious: boolean;
  /** A client's plain write (see the replica_put message): refused over a record that keeps versions. */
  readonly plain?: boolean;
}

export function addressOf(objectKind: ObjectKind, meta: { readonly bucket: string; readonly key: string }): ObjectAddress {
  return { kind: objectKind, bucket: meta.bucket, key: meta.key };
}

export async function applyReplicaWrite(context: StorageContext, write: ReplicaWrite): Promise<ReplicaPutReply> {
  context.hlc.observe(write.meta.clock);
  const refused = context.writes.refuseReplica(write.meta.deleted);
  if (refused) return { ok: false, code: 'InsufficientStorage', message: refused.message };
  try {
    const result = await context.store.apply({
      address: addressOf(write.objectKind, write.meta),
      meta: write.meta,
      ...(write.body ? { body: write.body } : {}),
      keepPrevious: write.keepPrevious,
      ...(write.plain === true && write.objectKind === 'object' ? { refuseOverVersions: true } : {}),
    });
    if (!result.applied) {
      if ('refused' in result) {
        switch (result.refused) {
          case 'deleted':
            return refusal('BucketDeleted', 'the bucket of this key was deleted');
          case 'sealed':
            return refusal('BucketSealed', 'the bucket of this key is being deleted');
          case 'versioned':
            return refusal('KeyVersioned', 'the key keeps versions or a lock: only a versioned write may change it');
        }
      }
      return { ok: true, applied: false, clock: result.current };
    }
    context.digests.changed(addressOf(write.objectKind, write.meta), result.previous?.clock, write.meta.clock);
    // A replaced version still being written is left to its own writer: it may yet be stamped again and
    // come back, so whoever retires what it references (its chunks) must not be this write's writer.
    const replaced = result.previous !== undefined && result.previousSettled ? { replaced: result.previous } : {};
    return { ok: true, applied: true, clock: write.meta.clock, ...replaced };
  } catch (error) {
    return storageError(error);
  }
}

export async function revertReplicaWrite(context: StorageContext, address: ObjectAddress, clock: Hlc): Promise<{ ok: true; reverted: boolean } | StorageError> {
  try {
    const outcome = await context.store.revert(address, clock);
    if (outcome.reverted && 'restored' in outcome) context.digests.changed(address, clock, outcome.restored);
    return { ok: true, reverted: outcome.reverted };
  } catch (error) {
    return storageError(error);
  }
}

/** Removes these tombstones where each is still the settled record of its key, and says so to the digests. */
export async function purgeReplicaTombstones(context: StorageContext, items: readonly TombstoneRef[]): Promise<TombstoneRef[]> {
  const purged = await context.store.purgeTombstones(items);
  for (const { address, clock } of purged) context.digests.changed(address, clock, undefined);
  return purged;
}

/** The newest version a write replaced on the replicas that took it (the chunks it named can go). */
export function newestReplaced(replies: Iterable<{ readonly ok: boolean; readonly replaced?: ObjectMeta }>): ObjectMeta | undefined {
  let newest: ObjectMeta | undefined;
  for (const reply of replies) {
    const replaced = reply.ok ? reply.replaced : undefined;
    if (replaced && (!newest || compareHlc(replaced.clock, newest.clock) > 0)) newest = replaced;
  }
  return newest;
}

function refusal(code: 'BucketDeleted' | 'BucketSealed' | 'KeyVersioned', message: string): StorageError {
  return { ok: false, code, message };
}

export function storageError(error: unknown): StorageError {
  if (error instanceof StoreFailure) return { ok: false, code: error.code, message: error.message };
  return { ok: false, code: 'StoreError', message: error instanceof Error ? error.message : String(error) };
}

/** The answer to a staged body that was not taken: both a replica's and a coordinator's failure. */
export interface StagedBodyRefusedReply {
  readonly ok: false;
  readonly code: 'StagedBodyRefused';
  readonly message: string;
  readonly everyStagedBody?: true;
}

/**
 * Runs `write` with the body staged at `ref` (store/staged-bodies.ts), closing it once what `write`
 * started has read it. A body this node does not take, or cannot open, is refused with
 * StagedBodyRefused, and its sender sends the bytes instead.
 */
export async function withStagedBody<R>(ref: StagedBodyRef, machine: string | undefined, write: (body: StagedBody) => Promise<R>): Promise<R | StagedBodyRefusedReply> {
  let body: StagedBody;
  try {
    body = await StagedBody.open(ref, machine);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const every = error instanceof StagedBodyRefused && refusesEveryStagedBody(error.reason);
    return { ok: false, code: 'StagedBodyRefused', message, ...(every ? { everyStagedBody: true as const } : {}) };
  }
  const written = write(body);
  body.track(written);
  void body.closeAfterUse();
  return written;
}
