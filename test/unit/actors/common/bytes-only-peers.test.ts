import { expect } from 'chai';
import { BytesOnlyPeers } from '../../../../src/actors/common/bytes-only-peers.js';

describe('actors/common bytes-only peers', () => {
  it('sends a peer that refused staged bodies bytes for a while, then tries it again', () => {
    let nowMs = 1_000;
    const peers = new BytesOnlyPeers(() => nowMs, 60_000);
    expect(peers.has('storage_0')).to.equal(false);
    peers.refused('storage_0');
    expect(peers.has('storage_0')).to.equal(true);
    expect(peers.has('storage_1')).to.equal(false);
    nowMs += 59_999;
    expect(peers.has('storage_0')).to.equal(true);
    nowMs += 1;
    expect(peers.has('storage_0'), 'a minute after it refused').to.equal(false);
    // Still an earlier release: it refuses again and is sent bytes for another while.
    peers.refused('storage_0');
    expect(peers.has('storage_0')).to.equal(true);
  });
});
