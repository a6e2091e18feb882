import { expect } from 'chai';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RecentWrites } from '../../../../src/actors/storage/recent-writes.js';
import { decodeCbor, encodeCbor } from '../../../../src/protocol/cluster/cbor.js';

/** V8's full collection, made callable in this process. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** A replica write as it arrives: its id among many short strings, which the decoder may take out as one run. */
function frameWith(writeId: string, index: number): Uint8Array {
  const fields = Object.fromEntries(Array.from({ length: 40 }, (_, field) => [`field-${field}`, `value-${field}-of-write-${index}`]));
  return encodeCbor({ type: 'put', writeId, objectKind: 'object', meta: { bucket: 'bucket', key: `key/${index}`, node: 'storage_0@127.0.0.1', ...fields } });
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
    const gc = collector();
    const count = 3000;
    const recent = new RecentWrites(60_000, count);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let index = 0; index < count; index++) {
      const { writeId } = decodeCbor(frameWith(`write-${index}-0123456789abcdef`, index)) as { writeId: string };
      expect(recent.firstTime(writeId, 0)).to.equal(true);
    }
    gc();
    const perIdBytes = (process.memoryUsage().heapUsed - before) / count;
    // An id of 30 characters and its map entry take about a hundred bytes; one that kept its frame's
    // strings alive would take well over a thousand.
    expect(perIdBytes).to.be.below(400);
    expect(recent.firstTime(`write-${count - 1}-0123456789abcdef`, 1)).to.equal(false);
  });
});
