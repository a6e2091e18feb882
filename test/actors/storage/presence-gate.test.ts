import { expect } from 'chai';
import { PresenceGate } from '../../../src/actors/storage/presence-gate.js';
import { presenceTiming } from '../../../src/core/purge-rules.js';
import { ManualClock } from '../../../src/runtime/clock.js';

describe('storage/presence-gate', () => {
  const timing = presenceTiming(10_000, 500);

  it('closes by itself once the last record of presence is too old, and opens when the node is recorded present', () => {
    const clock = new ManualClock(1_000_000);
    const gate = new PresenceGate(clock, timing, clock.now());
    expect(gate.serving).to.equal(true);
    clock.advance(timing.awayAfterMs);
    expect(gate.serving, 'exactly at the limit').to.equal(true);
    clock.advance(1);
    expect(gate.serving, 'paused or cut off too long').to.equal(false);
    gate.recorded(clock.now());
    expect(gate.serving).to.equal(true);
  });

  it('serves at once with a new store, and not with one last present long ago', () => {
    const clock = new ManualClock(1_000_000);
    expect(new PresenceGate(clock, timing, undefined).serving).to.equal(true);
    expect(new PresenceGate(clock, timing, clock.now() - 60_000).serving).to.equal(false);
  });
});
