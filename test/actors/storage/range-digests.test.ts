import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RingView } from '../../../src/actors/common/ring-view.js';
import { RangeDigests } from '../../../src/actors/storage/range-digests.js';
import type { Hlc } from '../../../src/core/hlc.js';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { SUMMARY_BUCKETS } from '../../../src/core/range-summary.js';
import { listRanges } from '../../../src/core/ring/ranges.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { ObjectStore } from '../../../src/store/object-store.js';
import type { ObjectAddress } from '../../../src/store/store-keys.js';

describe('storage/range-digests', () => {
  let dir: string;
  let store: ObjectStore;
  const view = new RingView();
  view.install({ epoch: 1, settings: { n: 1, w: 1, r: 1, d: 1, rackAware: false }, current: [{ node: 'a', alias: 'a', numOfVnodes: 4 }], previous: null });
  const ranges = listRanges(view.current!.current, 1);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-digests-'));
    store = ObjectStore.open({ path: dir, logger: memoryLogger('error').logger, durable: false });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const meta = (address: ObjectAddress, clock: Hlc): ObjectMeta => ({ bucket: address.bucket, key: address.key, sizeBytes: 0, etag: '', contentType: '', userMeta: {}, clock, lastModifiedMs: clock.wallMs, ringChecksum: 0, deleted: false });
  const all = (digests: RangeDigests) => ranges.map((range) => [...digests.of(range.start, range.end)]);

  it('stays equal to a fresh scan as writes and reverts are applied', async () => {
    const digests = new RangeDigests(store, view, Date.now);
    all(digests);
    for (let i = 0; i < 300; i++) {
      const address: ObjectAddress = { kind: i % 7 === 0 ? 'chunk' : 'object', bucket: 'b', key: `k${i % 120}` };
      const clock = { wallMs: 1000 + i, counter: 0, node: 'a' };
      const result = await store.apply({ address, meta: meta(address, clock), keepPrevious: i % 5 === 0 });
      if (result.applied) digests.changed(address, result.previous?.clock, clock);
      if (i % 5 === 0 && result.applied) {
        const outcome = await store.revert(address, clock);
        if (outcome.reverted && 'restored' in outcome) digests.changed(address, clock, outcome.restored);
      }
    }
    expect(all(digests)).to.deep.equal(all(new RangeDigests(store, view, Date.now)));
  });

  it('recomputes the buckets it lists, so a stale digest heals', async () => {
    const address: ObjectAddress = { kind: 'object', bucket: 'b', key: 'x' };
    await store.apply({ address, meta: meta(address, { wallMs: 5, counter: 0, node: 'a' }), keepPrevious: false });
    const digests = new RangeDigests(store, view, Date.now);
    const range = ranges[0]!;
    const cached = digests.of(range.start, range.end) as number[];
    const truth = [...cached];
    cached[3] = (cached[3]! ^ 0xdeadbeef) >>> 0;
    digests.keysIn(range.start, range.end, [...Array(SUMMARY_BUCKETS).keys()]);
    expect([...digests.of(range.start, range.end)]).to.deep.equal(truth);
  });
});
