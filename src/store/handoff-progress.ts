/**
 * How far this node has got in receiving the data a rebalance moves to it, kept in the store's
 * `presence` table (what a node remembers of itself) so that a node restarted in the middle of a
 * rebalance resumes where it stopped instead of from the start. One record, for one rebalance.
 */
import type { Database } from 'lmdb';
import type { RingPosition } from '../core/ring/position.js';
import type { ObjectKind } from '../core/object-meta.js';

const HANDOFF = 'handoff-progress';

/** The last key of a segment walked so far. */
export interface HandoffCursor {
  readonly position: RingPosition;
  readonly kind: ObjectKind;
  readonly bucket: string;
  readonly key: string;
}

export interface HandoffRecord {
  /** The rebalance whose moves these are (core/ring/ring-document.ts rebalanceIdOf); progress of another is void. */
  readonly change: string;
  /** Segments (named by their end position) copied and verified. */
  readonly done: readonly RingPosition[];
  /** Segments being copied (by end position), each with the last key taken from its source. */
  readonly walking: Readonly<Record<RingPosition, HandoffCursor>>;
  readonly objects: number;
  readonly bytes: number;
}

type Write = (action: () => void) => Promise<void>;

export class HandoffProgress {
  constructor(
    /** The table now: the store's tables may be replaced whole (as a compaction would). */
    private readonly table: () => Database<unknown, string>,
    /** One of the store's write transactions. */
    private readonly write: Write,
  ) {}

  /** The progress recorded for `change`, or a fresh start. */
  load(change: string): HandoffRecord {
    const stored = this.table().get(HANDOFF);
    return isHandoffRecord(stored) && stored.change === change ? stored : { change, done: [], walking: {}, objects: 0, bytes: 0 };
  }

  /** Resolves once durable. */
  async save(record: HandoffRecord): Promise<void> {
    await this.write(() => void this.table().put(HANDOFF, record));
  }
}

function isHandoffRecord(value: unknown): value is HandoffRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Partial<HandoffRecord>;
  return (
    typeof record.change === 'string' &&
    Array.isArray(record.done) &&
    record.done.every((end) => typeof end === 'string') &&
    Number.isFinite(record.objects) &&
    Number.isFinite(record.bytes) &&
    typeof record.walking === 'object' &&
    record.walking !== null &&
    Object.values(record.walking).every((cursor) => typeof cursor === 'object' && cursor !== null && typeof cursor.position === 'string')
  );
}
