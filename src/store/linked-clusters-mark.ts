/**
 * Which clusters this storage node ships its writes to, kept in the store's `presence` table (what a node
 * remembers of itself), so that writes taken after a restart, before the manager has been asked again,
 * are still queued for every linked cluster.
 */
import type { Database } from 'lmdb';

const LINKED = 'linked-clusters';

type Write = (action: () => void) => Promise<void>;

export class LinkedClustersMark {
  constructor(
    /** The table now: the store's tables may be replaced whole (as a compaction would). */
    private readonly table: () => Database<unknown, string>,
    /** One of the store's write transactions. */
    private readonly write: Write,
  ) {}

  load(): string[] {
    const stored = this.table().get(LINKED);
    return Array.isArray(stored) && stored.every((id) => typeof id === 'string') ? stored : [];
  }

  /** Resolves once durable. */
  async save(clusterIds: readonly string[]): Promise<void> {
    await this.write(() => void this.table().put(LINKED, [...clusterIds]));
  }
}
