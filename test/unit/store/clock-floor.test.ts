import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HlcSource } from '../../../src/actors/storage/hlc-source.js';
import { compareHlc, type Hlc } from '../../../src/core/hlc.js';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { ManualClock } from '../../../src/runtime/clock.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { ObjectStore } from '../../../src/store/object-store.js';
import type { ObjectAddress } from '../../../src/store/store-keys.js';

const address: ObjectAddress = { kind: 'object', bucket: 'b', key: 'k' };

function meta(clock: Hlc): ObjectMeta {
  return { bucket: 'b', key: 'k', sizeBytes: 0, etag: '', contentType: '', userMeta: {}, clock, lastModifiedMs: clock.wallMs, ringChecksum: 1, deleted: false };
}

describe('store/clock-floor', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'leofs-floor-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('starts a restarted node\u2019s clock above every version it stored, though its physical clock went back', async () => {
    const clock = new ManualClock(50_000);
    let store = ObjectStore.open({ path: dir, logger: memoryLogger('error').logger, now: () => clock.now() });
    const before = new HlcSource('n1', clock, store.clockFloor.wallMs);
    const stamped: Hlc[] = [];
    for (let i = 0; i < 3; i++) {
      const stamp = before.stamp();
      stamped.push(stamp);
      await store.apply({ address, meta: meta(stamp), keepPrevious: false });
    }
    await store.close();

    // The physical clock is back where it was (or further back), as after a reboot with a bad clock.
    store = ObjectStore.open({ path: dir, logger: memoryLogger('error').logger, now: () => clock.now() });
    try {
      expect(store.clockFloor.wallMs).to.be.above(50_000);
      const after = new HlcSource('n1', new ManualClock(40_000), store.clockFloor.wallMs);
      const next = after.stamp();
      for (const earlier of stamped) expect(compareHlc(next, earlier)).to.equal(1);
      // Without the floor, the same node would stamp a clock equal to one it stamped before.
      const forgetful = new HlcSource('n1', clock);
      expect(compareHlc(forgetful.stamp(), stamped[0]!)).to.equal(0);
    } finally {
      await store.close();
    }
  });
});
