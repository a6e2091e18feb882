/**
 * The replica side of compare-and-set (core/cas-rules.ts): promises, acceptances and commits of the
 * conditional writes to this node's keys. Shared by the router (for other nodes' coordinators) and by
 * this node's own coordinator, which calls it in place. Store failures become error replies.
 */
import type { CasProposal } from '../../core/cas-rules.js';
import type { Hlc } from '../../core/hlc.js';
import type { ObjectMeta } from '../../core/object-meta.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import type { CasCommitReply, CasPrepareReply, CasProposeReply } from '../../protocol/cluster/storage.js';
import { applyReplicaWrite, storageError } from './replica-ops.js';
import type { StorageContext } from './storage-context.js';

export async function casPrepare(context: StorageContext, address: ObjectAddress, ballot: Hlc): Promise<CasPrepareReply> {
  try {
    context.hlc.observe(ballot);
    const { vote, head, headSettled } = await context.store.cas.prepare(address, ballot);
    if (!vote.granted) return { ok: true, granted: false, promised: vote.promised };
    const { accepted, applied } = vote.record;
    return { ok: true, granted: true, head: head ?? null, headSettled, ...(accepted ? { accepted } : {}), ...(applied ? { applied } : {}) };
  } catch (error) {
    return storageError(error);
  }
}

export async function casPropose(context: StorageContext, address: ObjectAddress, proposal: CasProposal): Promise<CasProposeReply> {
  try {
    context.hlc.observe(proposal.ballot);
    const vote = await context.store.cas.propose(address, proposal);
    return vote.granted ? { ok: true, granted: true } : { ok: true, granted: false, promised: vote.promised };
  } catch (error) {
    return storageError(error);
  }
}

/**
 * Applies a chosen version as any replica write: a newer version here keeps it from surfacing, and the
 * same version applied again changes nothing. A chosen version is never undone, so the version it
 * replaces need not be kept.
 */
export async function casCommit(context: StorageContext, address: ObjectAddress, meta: ObjectMeta, body: Uint8Array | undefined): Promise<CasCommitReply> {
  const reply = await applyReplicaWrite(context, { objectKind: address.kind, meta, keepPrevious: false, ...(body ? { body } : {}) });
  if (!reply.ok || meta.writeId === undefined) return reply;
  try {
    // Remembered, so that a writer retrying after a lost answer learns its version was chosen.
    await context.store.cas.applied(address, meta.writeId);
    return reply;
  } catch (error) {
    return storageError(error);
  }
}
