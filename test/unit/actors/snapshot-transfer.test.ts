import { expect } from 'chai';
import { SnapshotInbox, SnapshotOutbox } from '../../../src/actors/manager/snapshot-transfer.js';
import type { StateSnapshot } from '../../../src/core/consensus/raft-messages.js';

const id = { clusterId: 'c', epoch: 'e' };
const snapshot: StateSnapshot = { id, index: 40, term: 3, tables: { users: [['a', 1], ['b', 2], ['c', 3]], buckets: [['x', { owner: 'a' }]] } };
const pages = [{ users: [['a', 1], ['b', 2]] as Array<readonly [string, unknown]> }, { users: [['c', 3]] as Array<readonly [string, unknown]>, buckets: [['x', { owner: 'a' }]] as Array<readonly [string, unknown]> }];

describe('actors/manager/snapshot-transfer', () => {
  it('moves a snapshot page by page, each sent once the previous one is answered, and puts it back together', () => {
    const outbox = new SnapshotOutbox('leader');
    const inbox = new SnapshotInbox('follower');
    const first = outbox.start('follower', snapshot, pages, 7);
    expect(first).to.include({ page: 0, pages: 2, index: 40, snapshotTerm: 3, term: 7, from: 'leader' });
    const firstTaken = inbox.receive(first)!;
    expect(firstTaken.complete).to.equal(undefined);
    const second = outbox.acked(firstTaken.ack);
    if (typeof second === 'string') throw new Error(second);
    expect(second.page).to.equal(1);
    const secondTaken = inbox.receive(second)!;
    expect(secondTaken.complete).to.deep.equal(snapshot);
    expect(outbox.acked(secondTaken.ack)).to.equal('done');
  });

  it('ignores pages out of turn and answers for another snapshot, and starts over at a new first page', () => {
    const outbox = new SnapshotOutbox('leader');
    const inbox = new SnapshotInbox('follower');
    const first = outbox.start('follower', snapshot, pages, 7);
    const second = outbox.acked(inbox.receive(first)!.ack);
    if (typeof second === 'string') throw new Error(second);
    expect(inbox.receive({ ...second, index: 41 })).to.equal(undefined);
    expect(outbox.acked({ type: 'snapshot_page_ack', term: 6, from: 'follower', index: 40, page: 0 })).to.equal('stale');
    const again = outbox.start('follower', { ...snapshot, index: 44 }, pages, 7);
    expect(inbox.receive(again)!.complete).to.equal(undefined);
    expect(inbox.receive(second)).to.equal(undefined);
    const next = outbox.acked({ type: 'snapshot_page_ack', term: 7, from: 'follower', index: 44, page: 0 });
    if (typeof next === 'string') throw new Error(next);
    expect(inbox.receive(next)!.complete!.index).to.equal(44);
  });

  it('refuses a malformed page', () => {
    const inbox = new SnapshotInbox('follower');
    expect(inbox.receive({ type: 'snapshot_page', id, term: 1, from: 'l', index: 1, snapshotTerm: 1, page: 0, pages: 0, tables: {} })).to.equal(undefined);
    expect(inbox.receive({ type: 'snapshot_page', id, term: 1, from: 'l', index: 1, snapshotTerm: 1, page: 0, pages: 1, tables: null as never })).to.equal(undefined);
  });
});
