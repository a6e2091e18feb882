import { ownCopy } from '../../protocol/cluster/cbor.js';

/**
 * The writes a coordinator took lately, by the id their client gave them: a request delivered twice (a
 * duplicate on the wire, a resend) is taken once. Bounded in age and in number; the oldest go first.
 */
export class RecentWrites {
  /** Insertion order is age order: the first entries are the oldest. */
  private readonly seenAtMs = new Map<string, number>();

  constructor(
    private readonly keepMs: number,
    private readonly maxEntries: number,
  ) {}

  /** True the first time `writeId` is seen within the window, false for a repeat. */
  firstTime(writeId: string, nowMs: number): boolean {
    for (const [id, atMs] of this.seenAtMs) {
      if (nowMs - atMs <= this.keepMs && this.seenAtMs.size < this.maxEntries) break;
      this.seenAtMs.delete(id);
    }
    if (this.seenAtMs.has(writeId)) return false;
    // Kept for minutes, up to maxEntries of them: a copy, not a view into the frame it came in.
    this.seenAtMs.set(ownCopy(writeId), nowMs);
    return true;
  }
}
