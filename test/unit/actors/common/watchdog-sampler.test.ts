import { expect } from 'chai';
import { processSampler } from '../../../../src/actors/common/watchdog-sampler.js';
import { ManualClock } from '../../../../src/runtime/clock.js';

describe('actors/common/watchdog-sampler', () => {
  it('reads the client requests of the last two intervals from a running count, and none for a role without one', async () => {
    const clock = new ManualClock();
    let total = 5;
    // Those made before it opened (a watchdog restarted) are not counted.
    const sampler = processSampler({ clock, clientRequests: () => total });
    try {
      clock.advance(1_000);
      expect((await sampler.sample()).clientRequests).to.equal(0);
      total += 12;
      clock.advance(1_000);
      expect((await sampler.sample()).clientRequests).to.equal(12);
      total += 1;
      clock.advance(1_000);
      expect((await sampler.sample()).clientRequests).to.equal(13);
      clock.advance(1_000);
      expect((await sampler.sample()).clientRequests).to.equal(1);
      clock.advance(1_000);
      expect((await sampler.sample()).clientRequests).to.equal(0);
    } finally {
      sampler.close();
    }
    const gatewaySampler = processSampler({ clock });
    try {
      expect(await gatewaySampler.sample()).to.not.have.property('clientRequests');
    } finally {
      gatewaySampler.close();
    }
  });
});
