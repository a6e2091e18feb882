/**
 * A checker of what clients saw of a small key space: each operation recorded with the moments (a
 * shared counter, so ordering is exact) it was sent and answered. It verifies, key by key:
 *
 *   - a read returns a value some write made, a write that had begun before the read ended;
 *   - a read never returns a value that was certainly overwritten before the read began (an
 *     acknowledged write or delete that began after its write had been answered, and was itself
 *     answered before the read began): acknowledged writes stay readable until replaced, and an
 *     acknowledged delete is never undone;
 *   - a client's reads never go back: after reading a value an acknowledged write made, it never
 *     reads one whose write was answered before that write began;
 *   - a value whose write was refused (412) is never read;
 *   - of the conditional creates (If-None-Match: *) of one key, at most one succeeds;
 *   - a write made on condition that the key held a value (If-Match) succeeds only where a read of
 *     that value could have, and of the writes conditioned on one value at most one succeeds (values
 *     are unique, so a value once replaced never comes back).
 *
 * Writes answered with an error that leaves their outcome open (5xx, a lost connection) may or may not
 * have happened, and count both ways.
 */

/** `null` for a delete, and for a read that found nothing. */
export type Value = string | null;

export type Outcome = 'ok' | 'refused' | 'unknown';

export interface WriteOp {
  readonly type: 'write';
  readonly client: number;
  readonly key: string;
  readonly value: Value;
  /** A create with If-None-Match: *. */
  readonly create?: boolean;
  /** Made on condition that the key held this value (If-Match with its ETag). */
  readonly ifMatch?: string;
  readonly sent: number;
  readonly answered: number;
  readonly outcome: Outcome;
}

export interface ReadOp {
  readonly type: 'read';
  readonly client: number;
  readonly key: string;
  readonly value: Value;
  readonly sent: number;
  readonly answered: number;
}

export type Op = WriteOp | ReadOp;

/** Where every key starts: absent, as if deleted before anything happened. */
const INITIAL = (key: string): WriteOp => ({ type: 'write', client: -1, key, value: null, sent: -2, answered: -1, outcome: 'ok' });

export class History {
  private nextMoment = 0;
  readonly ops: Op[] = [];

  /** A moment strictly after every one handed out before. */
  now(): number {
    return this.nextMoment++;
  }

  /** The next moment `now` will hand out. */
  get moment(): number {
    return this.nextMoment;
  }

  record(op: Op): void {
    this.ops.push(op);
  }

  /** Every violation found, in words; none for a correct history. */
  check(): string[] {
    const problems: string[] = [];
    const keys = [...new Set(this.ops.map((op) => op.key))];
    for (const key of keys) problems.push(...checkKey(key, this.ops.filter((op) => op.key === key)));
    return problems;
  }
}

function checkKey(key: string, ops: readonly Op[]): string[] {
  const problems: string[] = [];
  const writes = [INITIAL(key), ...ops.filter((op): op is WriteOp => op.type === 'write')];
  const acknowledged = writes.filter((w) => w.outcome === 'ok');
  const winners = writes.filter((w) => w.create && w.outcome === 'ok');
  if (winners.length > 1) problems.push(`${key}: ${winners.length} conditional creates succeeded (${winners.map((w) => w.value).join(', ')})`);
  const swaps = new Map<string, WriteOp[]>();
  for (const write of acknowledged) if (write.ifMatch !== undefined) swaps.set(write.ifMatch, [...(swaps.get(write.ifMatch) ?? []), write]);
  for (const [matched, won] of swaps) {
    if (won.length > 1) problems.push(`${key}: ${won.length} writes conditioned on ${JSON.stringify(matched)} succeeded (${won.map((w) => w.value).join(', ')})`);
  }

  /** Certainly replaced before `moment`: an acknowledged write began after it was answered and was answered before `moment`. */
  const overwrittenBefore = (write: WriteOp, moment: number): WriteOp | undefined =>
    acknowledged.find((later) => later !== write && later.sent > write.answered && later.answered < moment);

  const lastRead = new Map<number, readonly WriteOp[]>();
  // A successful If-Match write saw its value as current: it is checked as a read of it, too.
  const matchedReads = acknowledged.filter((w) => w.ifMatch !== undefined).map((w): ReadOp => ({ type: 'read', client: w.client, key, value: w.ifMatch!, sent: w.sent, answered: w.answered }));
  const reads = [...ops.filter((op): op is ReadOp => op.type === 'read'), ...matchedReads].sort((a, b) => a.sent - b.sent);
  for (const read of reads) {
    const sources = writes.filter((w) => w.value === read.value && w.outcome !== 'refused' && w.sent < read.answered);
    const what = `${key}: client ${read.client} read ${JSON.stringify(read.value)} at [${read.sent}, ${read.answered}]`;
    if (sources.length === 0) {
      const refused = writes.some((w) => w.value === read.value && w.outcome === 'refused');
      problems.push(`${what}: ${refused ? 'a value whose write was refused' : 'a value no write had begun to make'}`);
      continue;
    }
    const current = sources.filter((w) => overwrittenBefore(w, read.sent) === undefined);
    if (current.length === 0) {
      const by = overwrittenBefore(sources[sources.length - 1]!, read.sent)!;
      problems.push(`${what}: stale, ${JSON.stringify(by.value)} by client ${by.client} was acknowledged at ${by.answered}`);
      continue;
    }
    const before = lastRead.get(read.client);
    // Back in time: every write that could have made this value was answered before every acknowledged
    // one that could have made the value this client read last began. (A value of a write still in
    // flight may be read and then undone when that write fails: only acknowledged writes bind.)
    if (before && current.every((w) => before.every((last) => w.answered < last.sent && w !== last))) {
      problems.push(`${what}: after reading ${JSON.stringify(before[0]!.value)}, an older value`);
    }
    const acknowledgedSources = current.filter((w) => w.outcome === 'ok');
    if (acknowledgedSources.length > 0) lastRead.set(read.client, acknowledgedSources);
    else lastRead.delete(read.client);
  }
  return problems;
}
