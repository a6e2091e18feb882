/**
 * Which manager leads, judged from what each manager answered when asked. A manager that says it leads
 * is believed over one that names someone else, and a newer term over an older one: a leader cut off
 * from the others may still think it leads, in the term it was elected in, while they have moved on.
 */
import type { LeaderReply } from '../../protocol/cluster/consensus.js';
import type { RuntimeFailure } from '../../runtime/failures.js';

/** What one configured manager address gave: the node that answered there and its answer, or why not. */
export interface ManagerProbe {
  readonly address: string;
  /** The node name it proved when dialled. */
  readonly node?: string;
  readonly answer?: LeaderReply | RuntimeFailure;
  /** Why there is no answer: the dial failed or took too long. */
  readonly error?: Error;
}

export interface LeaderChoice {
  readonly node: string;
  /** Its cluster address, when known. */
  readonly address: string | null;
  /** A probe has already dialled it. */
  readonly dialled: boolean;
}

/**
 * The leader the probes point to, or undefined when they do not (yet) point to one. `complete` says
 * every probe is in; before that, a leader is chosen only when it says so itself, more than half of
 * the managers have answered and none of them is in a newer term, since a leader elected since needs
 * a majority, which would include one of them.
 */
export function chooseLeader(probes: readonly (ManagerProbe | undefined)[], complete: boolean): LeaderChoice | undefined {
  const answered = probes.filter((probe): probe is ManagerProbe & { node: string; answer: LeaderReply } => probe?.node !== undefined && probe.answer?.ok === true);
  const newestTerm = Math.max(-1, ...answered.map((probe) => probe.answer.term));
  const claims = answered.filter((probe) => probe.answer.role === 'leader').sort((a, b) => b.answer.term - a.answer.term);
  const claim = claims[0];
  if (!complete) {
    return claim !== undefined && claim.answer.term >= newestTerm && answered.length * 2 > probes.length ? reached(claim) : undefined;
  }
  if (claim !== undefined && claim.answer.term >= newestTerm) return reached(claim);
  // A follower's word, unless the node it names was asked too and said it does not lead.
  const deniedBy = new Set(answered.filter((probe) => probe.answer.role !== 'leader').map((probe) => probe.node));
  const named = answered
    .filter((probe) => probe.answer.leader !== null && !deniedBy.has(probe.answer.leader))
    .sort((a, b) => b.answer.term - a.answer.term)[0];
  if (named !== undefined) {
    const dialled = probes.find((probe) => probe?.node === named.answer.leader);
    return dialled !== undefined ? reached(dialled as ManagerProbe & { node: string }) : { node: named.answer.leader!, address: named.answer.leaderAddress, dialled: false };
  }
  if (claim !== undefined) return reached(claim);
  // A manager of an earlier release has no consensus actor: alone, it is the manager.
  const only = probes.length === 1 ? probes[0] : undefined;
  if (only?.node !== undefined && only.answer?.ok === false && only.answer.code === 'NoProc') return reached(only as ManagerProbe & { node: string });
  return undefined;
}

function reached(probe: ManagerProbe & { readonly node: string }): LeaderChoice {
  return { node: probe.node, address: probe.address, dialled: true };
}
