import { expect } from 'chai';
import { IdleHeapTrim, startIdleHeapTrim } from '../../../src/runtime/idle-heap-trim.js';

const MiB = 1024 * 1024;

/** A heap and an event loop the test sets interval by interval; a collection leaves `liveBytes`. */
function fakeProcess(): { heapBytes: number; liveBytes: number; busy: number; collections: number; trim: IdleHeapTrim } {
  const state = { heapBytes: 40 * MiB, liveBytes: 40 * MiB, busy: 0, collections: 0 } as { heapBytes: number; liveBytes: number; busy: number; collections: number; trim: IdleHeapTrim };
  state.trim = new IdleHeapTrim(
    {
      collect: () => {
        state.collections++;
        state.heapBytes = state.liveBytes;
      },
      heapUsedBytes: () => state.heapBytes,
      busyShare: () => state.busy,
    },
    { idleBelow: 0.05, minGrowthBytes: 32 * MiB, spellFrom: 0.25, spellGapIntervals: 12 },
  );
  return state;
}

describe('runtime/idle-heap-trim', () => {
  it('collects once the loop is idle and the heap grew well past what the last collection left, and once more after', () => {
    const node = fakeProcess();
    node.heapBytes = 150 * MiB;
    node.busy = 0.6;
    expect(node.trim.tick(), 'busy: no collection however large the heap').to.equal(false);
    node.busy = 0.01;
    expect(node.trim.tick()).to.equal(true);
    expect(node.heapBytes).to.equal(40 * MiB);
    node.busy = 0.2;
    expect(node.trim.tick(), 'the follow-up waits for an idle interval').to.equal(false);
    node.busy = 0;
    expect(node.trim.tick(), 'the follow-up').to.equal(true);
    expect(node.trim.tick(), 'nothing grew since').to.equal(false);
    expect(node.trim.tick()).to.equal(false);
    node.heapBytes = 60 * MiB;
    expect(node.trim.tick(), 'grew by less than the threshold').to.equal(false);
    node.heapBytes = 75 * MiB;
    expect(node.trim.tick()).to.equal(true);
    expect(node.collections).to.equal(3);
  });

  it('measures growth from what V8 left when it collected on its own', () => {
    const node = fakeProcess();
    // Busy, but short of a spell.
    node.busy = 0.2;
    node.heapBytes = 20 * MiB;
    expect(node.trim.tick()).to.equal(false);
    node.busy = 0;
    node.heapBytes = 45 * MiB;
    expect(node.trim.tick(), '25 MiB above the lower baseline').to.equal(false);
    node.heapBytes = 53 * MiB;
    expect(node.trim.tick(), '33 MiB above it').to.equal(true);
  });

  it('collects at the first idle interval after a busy spell, and once more, however little the heap grew', () => {
    const node = fakeProcess();
    node.busy = 0.6;
    // V8 collected on its own near the end of the spell: the heap in use looks small.
    node.heapBytes = 20 * MiB;
    node.liveBytes = 20 * MiB;
    expect(node.trim.tick()).to.equal(false);
    node.busy = 0.1;
    expect(node.trim.tick(), 'not idle yet').to.equal(false);
    node.busy = 0.01;
    node.heapBytes = 24 * MiB;
    expect(node.trim.tick(), 'the first idle interval after the spell').to.equal(true);
    expect(node.trim.tick(), 'the follow-up').to.equal(true);
    expect(node.trim.tick()).to.equal(false);
    expect(node.collections).to.equal(2);
  });

  it('collects for spells alone at most once in twelve intervals, however often bursts come', () => {
    const node = fakeProcess();
    node.heapBytes = 20 * MiB;
    node.liveBytes = 20 * MiB;
    for (let i = 0; i < 48; i++) {
      node.busy = i % 2 === 0 ? 0.6 : 0.01;
      node.trim.tick();
    }
    // A spell then an idle interval 24 times over: a collection and its follow-up every twelve intervals.
    expect(node.collections).to.equal(8);
  });

  it('never takes a steady light load for a spell', () => {
    const node = fakeProcess();
    for (let i = 0; i < 20; i++) {
      node.busy = i % 2 === 0 ? 0.2 : 0.01;
      expect(node.trim.tick()).to.equal(false);
    }
    expect(node.collections).to.equal(0);
  });

  it('starts only in a process whose gc V8 exposes', () => {
    const global = globalThis as { gc?: () => void };
    const exposed = global.gc;
    // Under --expose-gc, V8's gc cannot be taken away: only the start is checked.
    if (Object.getOwnPropertyDescriptor(globalThis, 'gc')?.configurable === false) {
      startIdleHeapTrim()!.stop();
      return;
    }
    try {
      delete global.gc;
      expect(startIdleHeapTrim(), 'without --expose-gc').to.equal(undefined);
      global.gc = () => undefined;
      const trim = startIdleHeapTrim();
      expect(trim).to.not.equal(undefined);
      trim!.stop();
    } finally {
      if (exposed === undefined) delete global.gc;
      else global.gc = exposed;
    }
  });
});
