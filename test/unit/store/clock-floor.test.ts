import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HlcSource } from '../../../src/actors/storage/hlc-source.js';
import { compareHlc, type Hlc } from '../../../src/core/hlc.js';
import { ManualClock } from '../../../src/runtime/clock.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { ObjectStore } from '../../../src/store/object-store.js';

describe('store/clock-floor', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'leofs-floor-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const open = (clock: ManualClock): ObjectStore => ObjectStore.open({ path: dir, logger: memoryLogger('error').logger, now: () => clock.now() });
  /** Until the store has no write in flight (the reservation is written beside the stamps). */
  const flushed = async (store: ObjectStore): Promise<void> => {
    while (store.pendingWrites > 0) await new Promise((resolve) => setTimeout(resolve, 1));
  };

  it('starts a restarted node\u2019s clock above every clock it stamped, stored or not, though its physical clock went back', async () => {
    const clock = new ManualClock(50_000);
    let store = open(clock);
    const before = new HlcSource('n1', clock, store.clockFloor);
    // Stamps that are never stored here, as compare-and-set ballots or writes of keys it does not hold.
    const stamped: Hlc[] = [before.stamp(), before.stamp()];
    clock.advance(30_000);
    stamped.push(before.stamp());
    // A clock seen from a node far ahead moves this one, and the reservation with it.
    before.observe({ wallMs: 200_000, counter: 4, node: 'n2' });
    stamped.push(before.stamp());
    await flushed(store);
    await store.close();

    store = open(clock);
    try {
      expect(store.clockFloor.wallMs).to.be.above(200_000);
      const after = new HlcSource('n1', new ManualClock(40_000), store.clockFloor);
      const next = after.stamp();
      for (const earlier of stamped) expect(compareHlc(next, earlier)).to.equal(1);
      // Without the floor, the same node would stamp a clock equal to one it stamped before.
      expect(compareHlc(new HlcSource('n1', new ManualClock(50_000)).stamp(), stamped[0]!)).to.equal(0);
    } finally {
      await store.close();
    }
  });

  it('writes the reservation once per stretch of time, not once per stamp', async () => {
    const clock = new ManualClock(50_000);
    const store = open(clock);
    try {
      const hlc = new HlcSource('n1', clock, store.clockFloor);
      let commits = 0;
      for (let i = 0; i < 1_000; i++) {
        hlc.stamp();
        if (store.pendingWrites > 0) commits++;
        await flushed(store);
        clock.advance(10);
      }
      // 10 s of stamps with a reservation 10 s ahead, renewed at half: about two writes.
      expect(commits).to.be.within(1, 4);
    } finally {
      await store.close();
    }
  });
});
