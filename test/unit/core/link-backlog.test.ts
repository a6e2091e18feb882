import { expect } from 'chai';
import { sumBacklogs } from '../../../src/core/link-backlog.js';

describe('core/link-backlog', () => {
  const nowMs = 1_000_000;

  it('sums keys and shipments over the nodes, and takes the lag of the oldest waiting key', () => {
    const summed = sumBacklogs(
      [
        { node: 's0', backlog: { queued: 3, oldestMs: nowMs - 4_000, shippedObjects: 10, shippedBytes: 1_000, sync: { passes: 3, compared: 100, behind: 2 } } },
        { node: 's1', backlog: { queued: 0, oldestMs: null, shippedObjects: 2, shippedBytes: 20, lastError: 'connection refused', sync: { passes: 1, compared: 50, behind: 1 } } },
        { node: 's2', backlog: { queued: 1, oldestMs: nowMs - 90_000, shippedObjects: 0, shippedBytes: 0 } },
      ],
      nowMs,
    );
    // One node leads the comparison; one that led it before and still counts passes may count more.
    expect(summed).to.deep.equal({ shippingNodes: 3, queued: 4, lagSeconds: 90, shippedObjects: 12, shippedBytes: 1_020, errors: ['s1: connection refused'], sync: { passes: 3, compared: 150, behind: 3 } });
  });

  it('has no lag when nothing waits, and none below zero when a node is ahead of this clock', () => {
    expect(sumBacklogs([], nowMs)).to.deep.equal({ shippingNodes: 0, queued: 0, lagSeconds: null, shippedObjects: 0, shippedBytes: 0, errors: [], sync: { passes: 0, compared: 0, behind: 0 } });
    expect(sumBacklogs([{ node: 's0', backlog: { queued: 1, oldestMs: nowMs + 5_000, shippedObjects: 0, shippedBytes: 0 } }], nowMs).lagSeconds).to.equal(0);
  });
});
