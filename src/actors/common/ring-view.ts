/**
 * The ring as this process sees it right now, for synchronous lookups on every request (the role of
 * LeoFS's ring tables in ETS). Only the ring cache actor changes it; everyone else reads.
 */
import { isSuspended, snapshotOf, type RingDocument, type RingSnapshot } from '../../core/ring/ring-document.js';
import type { Ring } from '../../core/ring/ring.js';

/** Rings remembered by checksum, so that a write made under an earlier ring can still be placed. */
const RING_HISTORY = 16;

export class RingView {
  private snapshot: RingSnapshot | undefined;
  private readonly history = new Map<number, Ring>();
  private readonly listeners = new Set<(snapshot: RingSnapshot) => void>();

  get current(): RingSnapshot | undefined {
    return this.snapshot;
  }

  /** Installs a document; listeners hear of it at once. */
  install(doc: RingDocument): RingSnapshot {
    const snapshot = snapshotOf(doc);
    this.snapshot = snapshot;
    for (const ring of snapshot.previous ? [snapshot.previous, snapshot.current] : [snapshot.current]) {
      this.history.delete(ring.checksum);
      this.history.set(ring.checksum, ring);
    }
    for (const checksum of this.history.keys()) {
      if (this.history.size <= RING_HISTORY) break;
      this.history.delete(checksum);
    }
    for (const listener of this.listeners) listener(snapshot);
    return snapshot;
  }

  /** A ring this process has held lately (since it started), by its checksum. */
  ringOf(checksum: number): Ring | undefined {
    return this.history.get(checksum);
  }

  /** Suspended by the operator: counted as down, so requests go to the other replicas. */
  isSuspended(node: string): boolean {
    return isSuspended(this.snapshot?.doc, node);
  }

  subscribe(listener: (snapshot: RingSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
