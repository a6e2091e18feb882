/**
 * Snapshots moving between managers page by page: the leader's outbox sends the next page of a
 * follower's snapshot when the previous one is answered; the follower's inbox collects the pages of
 * one snapshot and hands over the whole once the last arrives. A page out of turn (a new snapshot, a
 * new leader) starts over.
 */
import type { ControlPlaneId, StateSnapshot } from '../../core/consensus/raft-messages.js';
import { joinTables, type SnapshotTables } from '../../core/consensus/snapshot-pages.js';
import type { SnapshotPageMessage } from '../../protocol/cluster/consensus.js';

type PageMessage = Extract<SnapshotPageMessage, { type: 'snapshot_page' }>;
type AckMessage = Extract<SnapshotPageMessage, { type: 'snapshot_page_ack' }>;

interface Outgoing {
  readonly snapshot: Omit<StateSnapshot, 'tables'>;
  readonly term: number;
  readonly pages: readonly SnapshotTables[];
}

export class SnapshotOutbox {
  private readonly sending = new Map<string, Outgoing>();

  constructor(private readonly self: string) {}

  /** Starts sending `pages` of `snapshot` to `peer` (dropping one still on its way); the first page. */
  start(peer: string, snapshot: StateSnapshot, pages: readonly SnapshotTables[], term: number): PageMessage {
    const { tables: _tables, ...header } = snapshot;
    this.sending.set(peer, { snapshot: header, term, pages });
    return this.page(peer, 0)!;
  }

  /** The page after the one `ack` answers; `done` after the last; `stale` for an answer about no snapshot being sent. */
  acked(ack: AckMessage): PageMessage | 'done' | 'stale' {
    const outgoing = this.sending.get(ack.from);
    if (!outgoing || outgoing.snapshot.index !== ack.index || outgoing.term !== ack.term) return 'stale';
    if (ack.page + 1 >= outgoing.pages.length) {
      this.sending.delete(ack.from);
      return 'done';
    }
    return this.page(ack.from, ack.page + 1) ?? 'stale';
  }

  clear(): void {
    this.sending.clear();
  }

  private page(peer: string, page: number): PageMessage | undefined {
    const outgoing = this.sending.get(peer);
    const tables = outgoing?.pages[page];
    if (!outgoing || !tables) return undefined;
    const { id, index, term: snapshotTerm } = outgoing.snapshot;
    return { type: 'snapshot_page', id, term: outgoing.term, from: this.self, index, snapshotTerm, page, pages: outgoing.pages.length, tables };
  }
}

interface Incoming {
  readonly from: string;
  readonly term: number;
  readonly id: ControlPlaneId;
  readonly index: number;
  readonly snapshotTerm: number;
  readonly pages: SnapshotTables[];
  readonly count: number;
}

export class SnapshotInbox {
  private current: Incoming | undefined;

  constructor(private readonly self: string) {}

  /** Takes a page: the answer to send back, and the whole snapshot when this was its last page. */
  receive(message: PageMessage): { readonly ack: AckMessage; readonly complete?: StateSnapshot } | undefined {
    if (!Number.isSafeInteger(message.page) || !Number.isSafeInteger(message.pages) || message.pages < 1 || typeof message.tables !== 'object' || message.tables === null) return undefined;
    if (message.page === 0) {
      this.current = { from: message.from, term: message.term, id: message.id, index: message.index, snapshotTerm: message.snapshotTerm, pages: [], count: message.pages };
    }
    const current = this.current;
    const inTurn = current && current.from === message.from && current.term === message.term && current.index === message.index && current.pages.length === message.page;
    if (!current || !inTurn) return undefined;
    current.pages.push(message.tables);
    const ack: AckMessage = { type: 'snapshot_page_ack', term: message.term, from: this.self, index: message.index, page: message.page };
    if (current.pages.length < current.count) return { ack };
    this.current = undefined;
    return { ack, complete: { id: current.id, index: current.index, term: current.snapshotTerm, tables: joinTables(current.pages) } };
  }
}
