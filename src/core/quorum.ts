/**
 * Quorum bookkeeping for one replicated write or delete. Outcomes are recorded per replica so a
 * duplicate or late reply cannot be counted twice, and the verdict comes as early as it is certain:
 * met at W acks, failed as soon as W acks have become impossible.
 */

export type QuorumState = 'pending' | 'met' | 'failed';

export interface Quorum {
  /** The preference list this write was sent to; N is its length. */
  readonly replicas: readonly string[];
  /** W for writes, D for deletes. */
  readonly required: number;
  readonly acked: readonly string[];
  readonly failed: readonly string[];
  readonly state: QuorumState;
}

export function startQuorum(replicas: readonly string[], required: number): Quorum {
  if (new Set(replicas).size !== replicas.length) throw new RangeError(`duplicate replica in ${replicas.join(', ')}`);
  if (!Number.isInteger(required) || required < 1 || required > replicas.length) {
    throw new RangeError(`quorum of ${required} is impossible with ${replicas.length} replicas`);
  }
  return { replicas: [...replicas], required, acked: [], failed: [], state: 'pending' };
}

/** A replica acknowledged. Replies from replicas outside the list, or already counted, change nothing. */
export function recordAck(quorum: Quorum, replica: string): Quorum {
  if (!isOutstanding(quorum, replica)) return quorum;
  return withVerdict({ ...quorum, acked: [...quorum.acked, replica] });
}

/** A replica failed or timed out. */
export function recordFailure(quorum: Quorum, replica: string): Quorum {
  if (!isOutstanding(quorum, replica)) return quorum;
  return withVerdict({ ...quorum, failed: [...quorum.failed, replica] });
}

/** Replicas that have not answered: after a verdict they still need an outcome or a repair item. */
export function pendingReplicas(quorum: Quorum): readonly string[] {
  return quorum.replicas.filter((r) => !quorum.acked.includes(r) && !quorum.failed.includes(r));
}

function isOutstanding(quorum: Quorum, replica: string): boolean {
  return quorum.replicas.includes(replica) && !quorum.acked.includes(replica) && !quorum.failed.includes(replica);
}

function withVerdict(quorum: Quorum): Quorum {
  // Both verdicts are final: W acks leave at most N-W failures possible and vice versa.
  if (quorum.state !== 'pending') return quorum;
  if (quorum.acked.length >= quorum.required) return { ...quorum, state: 'met' };
  if (quorum.failed.length > quorum.replicas.length - quorum.required) return { ...quorum, state: 'failed' };
  return quorum;
}

export interface QuorumSettings {
  readonly n: number;
  readonly w: number;
  readonly r: number;
  readonly d: number;
}

/**
 * How many of a key's replicas a listing may leave unasked and still see what a read sees and more:
 * an acknowledged write is on W of the N replicas and an acknowledged delete on D, so any N-W+1 and
 * any N-D+1 of them hold the newest of each, and a read asks R. The smallest of W-1, D-1 and N-R.
 */
export function listingSpareReplicas(settings: QuorumSettings): number {
  return Math.max(0, Math.min(settings.w - 1, settings.d - 1, settings.n - settings.r));
}

/** Undefined when 1 ≤ W, R, D ≤ N ≤ nodeCount holds, else a message naming the value at fault. */
export function validateQuorums(settings: QuorumSettings, nodeCount: number): string | undefined {
  const { n, w, r, d } = settings;
  for (const [name, value] of [['N', n], ['W', w], ['R', r], ['D', d], ['node count', nodeCount]] as const) {
    if (!Number.isInteger(value)) return `${name} must be an integer, got ${value}`;
  }
  if (n < 1) return `N (number of replicas) must be at least 1, got ${n}`;
  if (n > nodeCount) return `N (number of replicas) is ${n} but only ${nodeCount} storage nodes are available`;
  for (const [name, value] of [['W (write quorum)', w], ['R (read quorum)', r], ['D (delete quorum)', d]] as const) {
    if (value < 1 || value > n) return `${name} must be between 1 and N=${n}, got ${value}`;
  }
  return undefined;
}
