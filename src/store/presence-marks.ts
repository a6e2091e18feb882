/**
 * What a storage node remembers of its own presence in the cluster, kept in the object store's
 * environment (table `presence`) because it speaks of the objects beside it: a copy of the objects
 * restored from an old backup comes with the old time it was last present, and is treated as away.
 *
 *   last-present            when this node was last running in contact with a majority of the ring
 *   absent-reported <node>  when this node last told a peer's tombstone reaper that `node` had been
 *                           unreachable for longer than the purge horizon (so purges may have gone
 *                           ahead without it)
 *
 * The same table keeps the clock floor (clock-floor.ts), a rebalance's progress (handoff-progress.ts),
 * when data of ranges no longer held may go (release-mark.ts) and the store's format (store-format.ts).
 */
import type { Database } from 'lmdb';

const LAST_PRESENT = 'last-present';
const ABSENT_REPORTED = 'absent-reported\u0000';

type Write = (action: () => void) => Promise<void>;

export class PresenceMarks {
  constructor(
    /** The table now: the store's tables may be replaced whole (as a compaction would). */
    private readonly table: () => Database<unknown, string>,
    /** One of the store's write transactions, so these writes are ordered with all the others. */
    private readonly write: Write,
  ) {}

  lastPresentMs(): number | undefined {
    return finiteOrUndefined(this.table().get(LAST_PRESENT));
  }

  /** Resolves once durable. */
  async markPresent(nowMs: number): Promise<void> {
    await this.write(() => void this.table().put(LAST_PRESENT, nowMs));
  }

  absenceReportedAtMs(node: string): number | undefined {
    return finiteOrUndefined(this.table().get(ABSENT_REPORTED + node));
  }

  /** Records reports of absence about `nodes`; resolves once durable, before the report is sent. */
  async recordAbsenceReports(nodes: readonly string[], nowMs: number): Promise<void> {
    if (nodes.length === 0) return;
    await this.write(() => {
      for (const node of nodes) void this.table().put(ABSENT_REPORTED + node, nowMs);
    });
  }
}

function finiteOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
