/**
 * The replica side of compare-and-set (core/cas-rules.ts): promises, acceptances and commits of the
 * conditional writes to this node's keys. Shared by the router (for other nodes' coordinators) and by
 * this node's own coordinator, which calls it in place. Store failures become error replies.
 */
import type { CasProposal } from '../../core/cas-rules.js';
import type { Hlc } from '../../core/hlc.js';
import type { ObjectKind } from '../../core/object-meta.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import type { CasPrepareReply, CasProposeReply, ReplicaPutReply } from '../../protocol/cluster/storage.js';
import { addressOf, applyReplicaWrite, storageError } from './replica-ops.js';
import type { StorageContext } from './storage-context.js';

export async function casPrepare(context: StorageContext, address: ObjectAddress, ballot: Hlc): Promise<CasPrepareReply> {
  context.hlc.observe(ballot);
  try {
    const { vote, head } = await context.store.cas.prepare(address, ballot);
    if (!vote.granted) return { ok: true, granted: false, promised: vote.promised };
    const { accepted, committed } = vote.record;
    return { ok: true, granted: true, head: head ?? null, ...(accepted ? { accepted } : {}), ...(committed ? { committed } : {}) };
  } catch (error) {
    return storageError(error);
  }
}

export async function casPropose(context: StorageContext, objectKind: ObjectKind, proposal: CasProposal): Promise<CasProposeReply> {
  context.hlc.observe(proposal.ballot);
  try {
    const vote = await context.store.cas.propose(addressOf(objectKind, proposal.meta), proposal);
    return vote.granted ? { ok: true, granted: true } : { ok: true, granted: false, promised: vote.promised };
  } catch (error) {
    return storageError(error);
  }
}

/**
 * Applies the chosen version as any replica write (a newer version here keeps it from surfacing), then
 * notes its ballot committed. A crash between the two leaves the proposal unfinished, and the next
 * coordinator applies it again, which changes nothing.
 */
export async function casCommit(context: StorageContext, objectKind: ObjectKind, proposal: CasProposal): Promise<ReplicaPutReply> {
  // A chosen version is never undone, so the version it replaces need not be kept.
  const reply = await applyReplicaWrite(context, { objectKind, meta: proposal.meta, keepPrevious: false, ...(proposal.body ? { body: proposal.body } : {}) });
  if (!reply.ok) return reply;
  try {
    await context.store.cas.committed(addressOf(objectKind, proposal.meta), proposal.ballot);
    return reply;
  } catch (error) {
    return storageError(error);
  }
}
