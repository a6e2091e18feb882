import { expect } from 'chai';
import { TransferPace, windowFloorBytes } from '../../../src/core/transfer-pace.js';

const FLOOR = { minBytesPerSec: 1000, windowMs: 10_000 };

/** A transfer that waits `stepMs` for each `bytes` the peer moves, from `startMs`; returns the time it ends. */
function steady(pace: TransferPace, startMs: number, steps: number, stepMs: number, bytes: number): number {
  let now = startMs;
  for (let i = 0; i < steps; i++) {
    pace.waiting(now);
    now += stepMs;
    pace.resumed(now);
    pace.progressed(now, bytes);
  }
  return now;
}

describe('core/transfer-pace', () => {
  it('asks a window to carry nine tenths of the floor over the window', () => {
    expect(windowFloorBytes(FLOOR)).to.equal(9000);
  });

  it('judges nothing during the first window, then cuts a transfer that moves too little', () => {
    const pace = new TransferPace(FLOOR);
    pace.waiting(0);
    expect(pace.tooSlow(9_999), 'grace').to.equal(false);
    expect(pace.tooSlow(10_000)).to.equal(true);
  });

  it('keeps a transfer at the floor', () => {
    const pace = new TransferPace(FLOOR);
    // 1000 bytes every second for a minute, judged at every step.
    let now = 0;
    for (let i = 0; i < 60; i++) {
      pace.waiting(now);
      expect(pace.tooSlow(now + 999), `second ${i}`).to.equal(false);
      now = steady(pace, now, 1, 1_000, 1000);
    }
  });

  it('forgets what was moved before the window', () => {
    const pace = new TransferPace(FLOOR);
    const now = steady(pace, 0, 1, 100, 1_000_000);
    pace.waiting(now);
    expect(pace.tooSlow(now + 9_000), 'the burst is still in the window').to.equal(false);
    expect(pace.tooSlow(now + 10_100), 'a window after the burst').to.equal(true);
  });

  it('does not count time the transfer spends on its own work', () => {
    const pace = new TransferPace(FLOOR);
    // A client at ten times the floor whose server takes a minute between its pieces of 100 bytes.
    let now = 0;
    for (let i = 0; i < 2_000; i++) {
      now = steady(pace, now, 1, 10, 100);
      now += 60_000;
      pace.waiting(now);
      expect(pace.tooSlow(now + 5), `piece ${i}`).to.equal(false);
    }
  });

  it('judges only while waiting on the other side', () => {
    const pace = new TransferPace(FLOOR);
    pace.waiting(0);
    pace.resumed(20_000);
    expect(pace.tooSlow(20_000)).to.equal(false);
    pace.waiting(20_000);
    expect(pace.tooSlow(20_000)).to.equal(true);
  });

  it('never judges without a floor', () => {
    const pace = new TransferPace({ minBytesPerSec: 0, windowMs: 1_000 });
    pace.waiting(0);
    expect(pace.tooSlow(1_000_000)).to.equal(false);
  });
});
