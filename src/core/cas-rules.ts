/**
 * Compare-and-set on one key, decided by Paxos among the key's replicas (in the manner of Cassandra's
 * lightweight transactions): the rules each replica follows as an acceptor, and what a proposer
 * concludes from their answers. Ballots are hybrid logical clocks, unique per proposer.
 *
 *   prepare(b)   a replica promises to take no proposal below b, and tells the proposer the newest
 *                proposal it accepted and its current version of the key.
 *   propose(b,v) a replica accepts v unless it promised a higher ballot; v replaces what it accepted.
 *   commit(v)    v is applied as an ordinary version (last writer wins by its clock).
 *
 * A proposer that gathers promises from a quorum looks at the newest accepted proposal among them: it
 * may have been chosen, so unless its version is already applied on every replica of the quorum, the
 * proposer finishes it (proposes it again under its own ballot and applies it on a quorum) before
 * anything else. Only then does it judge its condition against the newest version among the quorum and
 * propose its own. Any two quorums share a replica, so a chosen version is always seen and applied
 * before a later one is judged, and two proposers can never both succeed on the same state of the key.
 * A fence is a proposal without a version: accepted by a quorum, it keeps every proposal of a lower
 * ballot that was not chosen from ever being finished.
 */
import { compareHlc, type Hlc } from './hlc.js';
import type { ObjectMeta } from './object-meta.js';

export interface CasProposal {
  readonly ballot: Hlc;
  /**
   * The version to write; its clock is the version's own, not the ballot. None for a fence: a proposal
   * that writes nothing and, once accepted by a quorum, keeps every proposal of a lower ballot that was
   * never chosen from ever being chosen.
   */
  readonly meta?: ObjectMeta;
  readonly body?: Uint8Array;
}

/** What a replica keeps per key it took part in a compare-and-set for. */
export interface CasRecord {
  readonly promised: Hlc;
  /** The newest proposal accepted; kept until a newer one is, so a chosen version is never forgotten. */
  readonly accepted?: CasProposal;
  /** Write ids of the last chosen versions applied here (oldest first, at most RECENT_APPLIED). */
  readonly applied?: readonly string[];
}

/** Chosen versions a replica remembers having applied: enough for a writer to find its own after a retry. */
export const RECENT_APPLIED = 16;

/** Below every ballot: what a replica that never promised anything has promised. */
const NO_BALLOT: Hlc = { wallMs: 0, counter: 0, node: '' };

export type CasVote<R> = { readonly granted: true; readonly record: R } | { readonly granted: false; readonly promised: Hlc };

/** A replica's answer to prepare(ballot). */
export function promiseBallot(record: CasRecord | undefined, ballot: Hlc): CasVote<CasRecord> {
  if (record !== undefined && compareHlc(ballot, record.promised) <= 0) return { granted: false, promised: record.promised };
  return { granted: true, record: { ...record, promised: ballot } };
}

/** A replica's answer to propose(ballot, version). */
export function acceptProposal(record: CasRecord | undefined, proposal: CasProposal): CasVote<CasRecord> {
  if (record !== undefined && compareHlc(proposal.ballot, record.promised) < 0) return { granted: false, promised: record.promised };
  return { granted: true, record: { ...record, promised: proposal.ballot, accepted: proposal } };
}

/** What a replica keeps once it applied the chosen version of the write `writeId`. */
export function noteApplied(record: CasRecord | undefined, writeId: string): CasRecord {
  if (record === undefined) return { promised: NO_BALLOT, applied: [writeId] };
  const applied = record.applied ?? [];
  if (applied.includes(writeId)) return record;
  return { ...record, applied: [...applied, writeId].slice(-RECENT_APPLIED) };
}

/** A granted promise as the proposer reads it. */
export interface CasPromise {
  readonly accepted?: CasProposal;
  /** The replica's newest version of the key, tombstone included; none when it has no record. */
  readonly head?: ObjectMeta;
  /** Whether `head`'s own write has settled (one still being written may yet be undone). */
  readonly headSettled?: boolean;
  readonly applied?: readonly string[];
}

/**
 * The proposal a proposer must finish before its own: the newest accepted among the promises, when it
 * carries a version that some promising replica does not hold yet: neither that version nor a newer
 * one whose write has settled.
 */
export function unfinishedProposal(promises: readonly CasPromise[]): (CasProposal & { readonly meta: ObjectMeta }) | undefined {
  let newest: CasProposal | undefined;
  for (const { accepted } of promises) if (accepted && (!newest || compareHlc(accepted.ballot, newest.ballot) > 0)) newest = accepted;
  const meta = newest?.meta;
  if (!newest || !meta) return undefined;
  const holds = ({ head, headSettled }: CasPromise): boolean => {
    if (head === undefined) return false;
    const order = compareHlc(head.clock, meta.clock);
    return order === 0 || (order > 0 && headSettled !== false);
  };
  return promises.every(holds) ? undefined : { ...newest, meta };
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
