import { expect } from 'chai';
import { ManualClock } from '../../../src/runtime/clock.js';
import { ChunkBuffers } from '../../../src/actors/gateway/chunk-buffers.js';

describe('actors/gateway chunk buffers', () => {
  const SIZE = 4096;

  it('hands a given-back buffer to the next taker instead of a new one', () => {
    const buffers = new ChunkBuffers(SIZE, 2, new ManualClock(), 5_000);
    const first = buffers.take();
    expect(first.length).to.equal(SIZE);
    buffers.give(first);
    expect(buffers.take()).to.equal(first);
    expect(buffers.take()).to.not.equal(first);
    buffers.close();
  });

  it('keeps at most its limit, and never a buffer of another size', () => {
    const buffers = new ChunkBuffers(SIZE, 2, new ManualClock(), 5_000);
    const taken = [buffers.take(), buffers.take(), buffers.take()];
    for (const buffer of taken) buffers.give(buffer);
    buffers.give(Buffer.alloc(SIZE - 1));
    expect(buffers.keptCount).to.equal(2);
    buffers.close();
    expect(buffers.keptCount).to.equal(0);
  });

  it('lets every kept buffer go once none was taken for the idle time, and not while uploads take them', () => {
    const clock = new ManualClock();
    const buffers = new ChunkBuffers(SIZE, 4, clock, 5_000);
    buffers.give(buffers.take());
    clock.advance(3_000);
    buffers.give(buffers.take());
    clock.advance(3_000);
    expect(buffers.keptCount).to.equal(1);
    clock.advance(2_000);
    expect(buffers.keptCount).to.equal(0);
    buffers.give(buffers.take());
    expect(buffers.keptCount).to.equal(1);
    clock.advance(5_000);
    expect(buffers.keptCount).to.equal(0);
    buffers.close();
  });
});
