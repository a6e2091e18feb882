import { expect } from 'chai';
import { RecentWrites } from '../../../../src/actors/storage/recent-writes.js';
import { decodeCbor, encodeCbor } from '../../../../src/protocol/cluster/cbor.js';
import { manyShortFields, retainedBytesPerItem } from '../../../support/retained-heap.js';

/** A replica write as it arrives: its id among many short strings, which the decoder may take out as one run. */
function frameWith(writeId: string, index: number): Uint8Array {
  return encodeCbor({ type: 'put', writeId, objectKind: 'object', meta: { bucket: 'bucket', key: `key/${index}`, node: 'storage_0@127.0.0.1', ...manyShortFields(index) } });
}

describe('storage/recent-writes', () => {
  it('takes a write id once within the window, again after it, and keeps at most the newest entries', () => {
    const recent = new RecentWrites(1000, 3);
    expect(recent.firstTime('a', 0)).to.equal(true);
    expect(recent.firstTime('a', 500)).to.equal(false);
    expect(recent.firstTime('a', 1001), 'out of the window').to.equal(true);
    for (const id of ['b', 'c', 'd']) expect(recent.firstTime(id, 1002)).to.equal(true);
    expect(recent.firstTime('a', 1003), 'the oldest went first').to.equal(true);
    expect(recent.firstTime('d', 1003)).to.equal(false);
  });

  it('keeps its ids apart from the frames they were decoded from', () => {
    const count = 3000;
    const recent = new RecentWrites(60_000, count);
    const perIdBytes = retainedBytesPerItem(count, (index) => {
      const { writeId } = decodeCbor(frameWith(`write-${index}-0123456789abcdef`, index)) as { writeId: string };
      expect(recent.firstTime(writeId, 0)).to.equal(true);
    });
    // An id of 30 characters and its map entry take about a hundred bytes; one that kept its frame's
    // strings alive would take well over a thousand.
    expect(perIdBytes).to.be.below(400);
    expect(recent.firstTime(`write-${count - 1}-0123456789abcdef`, 1)).to.equal(false);
  });
});
