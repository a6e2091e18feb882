import { expect } from 'chai';
import { ManualClock } from '../../../src/runtime/clock.js';
import { BodyMemory } from '../../../src/actors/gateway/body-memory.js';
import { ChunkBuffers } from '../../../src/actors/gateway/chunk-buffers.js';

describe('actors/gateway chunk buffers', () => {
  const SIZE = 4096;

  function setUp(keptLimit: number, clock = new ManualClock()): { buffers: ChunkBuffers; memory: BodyMemory; clock: ManualClock } {
    const memory = new BodyMemory(keptLimit * SIZE);
    return { buffers: new ChunkBuffers(SIZE, memory, clock, 5_000), memory, clock };
  }

  it('hands a given-back buffer to the next taker instead of a new one', () => {
    const { buffers, memory } = setUp(4);
    const first = buffers.take();
    expect(first.length).to.equal(SIZE);
    buffers.give(first);
    expect(memory.keptIdleBytes).to.equal(SIZE);
    expect(buffers.take()).to.equal(first);
    expect(memory.keptIdleBytes).to.equal(0);
    expect(buffers.take()).to.not.equal(first);
    buffers.close();
  });

  it('keeps buffers only while the body memory has room for them, and never one of another size', () => {
    const { buffers, memory } = setUp(3);
    const account = memory.account('alice');
    expect(account.tryAcquire(SIZE)).to.equal(true);
    const taken = [buffers.take(), buffers.take(), buffers.take()];
    for (const buffer of taken) buffers.give(buffer);
    buffers.give(Buffer.alloc(SIZE - 1));
    expect(buffers.keptCount).to.equal(2);
    expect(memory.inUseBytes + memory.keptIdleBytes).to.equal(3 * SIZE);
    buffers.close();
    expect(buffers.keptCount).to.equal(0);
    expect(memory.keptIdleBytes).to.equal(0);
  });

  it('lets kept buffers go as soon as a request needs the room, before that request waits', async () => {
    const { buffers, memory } = setUp(2);
    const [first, second] = [buffers.take(), buffers.take()];
    buffers.give(first);
    buffers.give(second);
    expect(memory.keptIdleBytes).to.equal(2 * SIZE);
    const account = memory.account('alice');
    expect(account.tryAcquire(SIZE)).to.equal(true);
    expect(buffers.keptCount).to.equal(1);
    await account.acquire(SIZE);
    expect(buffers.keptCount).to.equal(0);
    expect(memory.inUseBytes).to.equal(2 * SIZE);
    buffers.close();
  });

  it('lets every kept buffer go once none was taken for the idle time, and not while uploads take them', () => {
    const { buffers, memory, clock } = setUp(4);
    buffers.give(buffers.take());
    clock.advance(3_000);
    buffers.give(buffers.take());
    clock.advance(3_000);
    expect(buffers.keptCount).to.equal(1);
    clock.advance(2_000);
    expect(buffers.keptCount).to.equal(0);
    expect(memory.keptIdleBytes).to.equal(0);
    buffers.give(buffers.take());
    expect(buffers.keptCount).to.equal(1);
    clock.advance(5_000);
    expect(buffers.keptCount).to.equal(0);
    buffers.close();
  });

  it('keeps nothing given back after it closed', () => {
    const { buffers, memory } = setUp(4);
    const buffer = buffers.take();
    buffers.close();
    buffers.give(buffer);
    expect(buffers.keptCount).to.equal(0);
    expect(memory.keptIdleBytes).to.equal(0);
  });
});
