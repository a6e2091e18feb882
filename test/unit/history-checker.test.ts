import { expect } from 'chai';
import { History, type Outcome, type Value } from '../support/history-checker.js';

/** Builds a history from [client, op, value, sent, answered, outcome] rows. */
function historyOf(rows: ReadonlyArray<readonly [number, 'w' | 'r' | 'c', Value, number, number, Outcome?]>): History {
  const history = new History();
  for (const [client, op, value, sent, answered, outcome] of rows) {
    if (op === 'r') history.record({ type: 'read', client, key: 'k', value, sent, answered });
    else history.record({ type: 'write', client, key: 'k', value, sent, answered, outcome: outcome ?? 'ok', ...(op === 'c' ? { create: true } : {}) });
  }
  return history;
}

describe('test support: history checker', () => {
  it('accepts reads of the newest value, of concurrent writes, and of writes whose outcome is open', () => {
    expect(historyOf([
      [1, 'w', 'a', 0, 1],
      [2, 'r', 'a', 2, 3],
      [1, 'w', 'b', 4, 8],
      [2, 'r', 'a', 5, 6], // b was not answered yet
      [2, 'r', 'b', 7, 9],
      [3, 'w', 'c', 10, 11, 'unknown'],
      [2, 'r', 'c', 12, 13],
      [1, 'w', null, 14, 15],
      [2, 'r', null, 16, 17],
    ]).check()).to.deep.equal([]);
  });

  it('finds a lost acknowledged write, a resurrected delete, a refused value read, and a read from the future', () => {
    expect(historyOf([[1, 'w', 'a', 0, 1], [1, 'w', 'b', 2, 3], [2, 'r', 'a', 4, 5]]).check()).to.have.length(1);
    expect(historyOf([[1, 'w', 'a', 0, 1], [1, 'w', null, 2, 3], [2, 'r', 'a', 4, 5]]).check()[0]).to.match(/stale/);
    expect(historyOf([[1, 'w', 'a', 0, 1], [2, 'r', null, 2, 3]]).check()[0]).to.match(/stale/);
    expect(historyOf([[1, 'c', 'a', 0, 1, 'refused'], [2, 'r', 'a', 2, 3]]).check()[0]).to.match(/refused/);
    expect(historyOf([[2, 'r', 'a', 0, 1], [1, 'w', 'a', 2, 3]]).check()[0]).to.match(/no write had begun/);
  });

  it('finds a client whose reads go back in time, and two winners of one conditional create', () => {
    const back = historyOf([[1, 'w', 'a', 0, 1], [1, 'w', 'b', 2, 9], [2, 'r', 'b', 3, 4], [2, 'r', 'a', 5, 6]]);
    expect(back.check()[0]).to.match(/older value/);
    // A value of a write still in flight, read and then gone when that write failed, binds nothing.
    const undone = historyOf([[1, 'w', 'a', 0, 1], [1, 'w', 'b', 2, 10, 'unknown'], [2, 'r', 'b', 3, 4], [2, 'r', 'a', 5, 6]]);
    expect(undone.check()).to.deep.equal([]);
    expect(historyOf([[1, 'c', 'a', 0, 3], [2, 'c', 'b', 1, 2]]).check()[0]).to.match(/2 conditional creates succeeded/);
  });

  it('checks writes conditioned on a value: one winner per value, and only while it was current', () => {
    const swap = (client: number, value: string, matched: string, sent: number, answered: number, outcome: Outcome = 'ok') =>
      ({ type: 'write' as const, client, key: 'k', value, ifMatch: matched, sent, answered, outcome });
    const one = historyOf([[1, 'w', 'a', 0, 1]]);
    one.record(swap(1, 'b', 'a', 2, 3));
    one.record(swap(2, 'c', 'a', 2, 4, 'refused'));
    expect(one.check()).to.deep.equal([]);

    const two = historyOf([[1, 'w', 'a', 0, 1]]);
    two.record(swap(1, 'b', 'a', 2, 3));
    two.record(swap(2, 'c', 'a', 2, 4));
    expect(two.check()[0]).to.match(/2 writes conditioned on "a" succeeded/);

    const stale = historyOf([[1, 'w', 'a', 0, 1], [1, 'w', 'b', 2, 3]]);
    stale.record(swap(2, 'c', 'a', 4, 5));
    expect(stale.check()[0]).to.match(/stale/);
  });
});
