import { expect } from 'chai';
import { isFresh, ManualClock } from '../../../src/runtime/clock.js';

describe('runtime/clock', () => {
  it('fires a manual clock\u2019s timers in due order as it advances', () => {
    const clock = new ManualClock(1_000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b'), 20);
    clock.setTimeout(() => fired.push('a'), 10);
    const cancelled = clock.setTimeout(() => fired.push('never'), 15);
    cancelled.cancel();
    clock.advance(25);
    expect(fired).to.deep.equal(['a', 'b']);
    expect(clock.now()).to.equal(1_025);
  });

  it('steps a manual clock\u2019s wall time without moving its timers', () => {
    const clock = new ManualClock(1_000);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), 100);
    clock.jump(-60_000);
    expect(clock.now()).to.equal(-59_000);
    clock.advance(99);
    expect(fired).to.deep.equal([]);
    clock.advance(1);
    expect(fired).to.deep.equal([-58_900]);
    clock.jump(120_000);
    expect(clock.now()).to.equal(61_100);
    expect(clock.elapsed(), 'the clock for durations is never stepped').to.equal(1_100);
  });

  it('takes an age from a clock stepped back as expired', () => {
    expect(isFresh(0, 10)).to.equal(true);
    expect(isFresh(9, 10)).to.equal(true);
    expect(isFresh(10, 10)).to.equal(false);
    expect(isFresh(-1, 10)).to.equal(false);
  });
});
