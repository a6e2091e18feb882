/**
 * The ring as this process sees it right now, for synchronous lookups on every request (the role of
 * LeoFS's ring tables in ETS). Only the ring cache actor changes it; everyone else reads.
 */
import { isSuspended, snapshotOf, type RingDocument, type RingSnapshot } from '../../core/ring/ring-document.js';

export class RingView {
  private snapshot: RingSnapshot | undefined;
  private readonly listeners = new Set<(snapshot: RingSnapshot) => void>();

  get current(): RingSnapshot | undefined {
    return this.snapshot;
  }

  /** Installs a document; listeners hear of it at once. */
  install(doc: RingDocument): RingSnapshot {
    const snapshot = snapshotOf(doc);
    this.snapshot = snapshot;
    for (const listener of this.listeners) listener(snapshot);
    return snapshot;
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
