/**
 * Compare-and-set on one key, decided by single-decree Paxos among the key's replicas (the scheme of
 * Cassandra's lightweight transactions): the rules each replica follows as an acceptor, and what a
 * proposer concludes from their answers. Ballots are hybrid logical clocks, unique per proposer.
 *
 *   prepare(b)   a replica promises to take no proposal below b, and tells the proposer what it
 *                accepted and has not seen committed, the newest commit it saw, and its current version.
 *   propose(b,v) a replica accepts v unless it promised a higher ballot.
 *   commit(b,v)  v is applied as an ordinary version and the replica notes b as committed.
 *
 * A proposer that gathers promises from a quorum first finishes any proposal accepted and not yet
 * committed (it may have been chosen), then judges its condition against the newest version among the
 * quorum, and proposes its own version. Any two quorums share a replica, so two proposers can never
 * both see their proposals accepted on a quorum for the same state of the key.
 */
import { compareHlc, type Hlc } from './hlc.js';
import type { ObjectMeta } from './object-meta.js';

export interface CasProposal {
  readonly ballot: Hlc;
  /** The version to write; its clock is the version's own, not the ballot. */
  readonly meta: ObjectMeta;
  readonly body?: Uint8Array;
}

/** What a replica keeps per key it took part in a compare-and-set for. */
export interface CasRecord {
  readonly promised: Hlc;
  readonly accepted?: CasProposal;
  readonly committed?: Hlc;
}

export type CasVote<R> = { readonly granted: true; readonly record: R } | { readonly granted: false; readonly promised: Hlc };

/** A replica's answer to prepare(ballot). */
export function promiseBallot(record: CasRecord | undefined, ballot: Hlc): CasVote<CasRecord> {
  if (record !== undefined && compareHlc(ballot, record.promised) <= 0) return { granted: false, promised: record.promised };
  return { granted: true, record: { ...record, promised: ballot } };
}

/** A replica's answer to propose(ballot, version). */
export function acceptProposal(record: CasRecord | undefined, proposal: CasProposal): CasVote<CasRecord> {
  if (record !== undefined && compareHlc(proposal.ballot, record.promised) < 0) return { granted: false, promised: record.promised };
  return { granted: true, record: { promised: proposal.ballot, accepted: proposal, ...(record?.committed ? { committed: record.committed } : {}) } };
}

/** What a replica keeps once the proposal of `ballot` was committed: an older accepted one is done with. */
export function noteCommit(record: CasRecord | undefined, ballot: Hlc): CasRecord {
  const committed = record?.committed !== undefined && compareHlc(record.committed, ballot) > 0 ? record.committed : ballot;
  const promised = record !== undefined && compareHlc(record.promised, ballot) > 0 ? record.promised : ballot;
  const accepted = record?.accepted !== undefined && compareHlc(record.accepted.ballot, committed) > 0 ? record.accepted : undefined;
  return { promised, committed, ...(accepted ? { accepted } : {}) };
}

/** A granted promise as the proposer reads it. */
export interface CasPromise {
  readonly accepted?: CasProposal;
  readonly committed?: Hlc;
  /** The replica's newest version of the key, tombstone included; none when it has no record. */
  readonly head?: ObjectMeta;
}

/**
 * The proposal a proposer must finish before its own: the newest accepted one among the promises,
 * unless a commit at its ballot or later was seen (then it is done, or was never chosen and never can be).
 */
export function unfinishedProposal(promises: readonly CasPromise[]): CasProposal | undefined {
  let newestCommit: Hlc | undefined;
  let newestAccepted: CasProposal | undefined;
  for (const promise of promises) {
    if (promise.committed && (!newestCommit || compareHlc(promise.committed, newestCommit) > 0)) newestCommit = promise.committed;
    if (promise.accepted && (!newestAccepted || compareHlc(promise.accepted.ballot, newestAccepted.ballot) > 0)) newestAccepted = promise.accepted;
  }
  if (!newestAccepted || (newestCommit && compareHlc(newestAccepted.ballot, newestCommit) <= 0)) return undefined;
  return newestAccepted;
}

/** The newest version the promising replicas hold. */
export function newestHead(promises: readonly CasPromise[]): ObjectMeta | undefined {
  let newest: ObjectMeta | undefined;
  for (const { head } of promises) if (head && (!newest || compareHlc(head.clock, newest.clock) > 0)) newest = head;
  return newest;
}

/**
 * Replicas that must promise and accept: a majority, so that two proposers always meet, and enough
 * to meet every write acknowledged by W replicas and every delete acknowledged by D.
 */
export function casQuorum(n: number, w: number, d: number): number {
  return Math.max(Math.floor(n / 2) + 1, n - w + 1, n - d + 1);
}
