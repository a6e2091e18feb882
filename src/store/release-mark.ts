/**
 * When this node last saw the ring settle (no rebalance running) and whether it has since dropped the
 * data of the ranges that ring does not give it, kept in the store's `presence` table (what a node
 * remembers of itself) so that a restart neither drops data early nor forgets to drop it.
 */
import type { Database } from 'lmdb';

const RELEASE = 'release-mark';

export interface ReleaseRecord {
  /** The settled ring's checksum. */
  readonly checksum: number;
  /** When this node first saw that ring settled. */
  readonly sinceMs: number;
  /** Whether the data of the ranges it does not give this node has been dropped. */
  readonly swept: boolean;
}

type Write = (action: () => void) => Promise<void>;

export class ReleaseMark {
  constructor(
    /** The table now: the store's tables may be replaced whole (as a compaction would). */
    private readonly table: () => Database<unknown, string>,
    /** One of the store's write transactions. */
    private readonly write: Write,
  ) {}

  load(): ReleaseRecord | undefined {
    const stored = this.table().get(RELEASE);
    return isReleaseRecord(stored) ? stored : undefined;
  }

  /** Resolves once durable. */
  async save(record: ReleaseRecord): Promise<void> {
    await this.write(() => void this.table().put(RELEASE, record));
  }
}

function isReleaseRecord(value: unknown): value is ReleaseRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Partial<ReleaseRecord>;
  return typeof record.checksum === 'number' && Number.isFinite(record.sinceMs) && typeof record.swept === 'boolean';
}
