import { expect } from 'chai';
import {
  pendingReplicas, recordAck, recordFailure, startQuorum, validateQuorums,
} from '../../../src/core/quorum.js';

const REPLICAS = ['s0', 's1', 's2'];

describe('core/quorum', () => {
  it('is met at W acks', () => {
    let q = startQuorum(REPLICAS, 2);
    expect(q.state).to.equal('pending');
    q = recordAck(q, 's1');
    expect(q.state).to.equal('pending');
    q = recordAck(q, 's0');
    expect(q.state).to.equal('met');
    expect(q.acked).to.deep.equal(['s1', 's0']);
    expect(pendingReplicas(q)).to.deep.equal(['s2']);
  });

  it('fails as soon as more than N-W replicas failed', () => {
    let q = startQuorum(REPLICAS, 2);
    q = recordFailure(q, 's0');
    expect(q.state).to.equal('pending');
    q = recordFailure(q, 's2');
    expect(q.state).to.equal('failed');
    expect(pendingReplicas(q)).to.deep.equal(['s1']);
  });

  it('fails on the first failure when every replica must ack', () => {
    expect(recordFailure(startQuorum(REPLICAS, 3), 's1').state).to.equal('failed');
  });

  it('tolerates N-1 failures when one ack is enough', () => {
    let q = startQuorum(REPLICAS, 1);
    q = recordFailure(recordFailure(q, 's0'), 's1');
    expect(q.state).to.equal('pending');
    expect(recordAck(q, 's2').state).to.equal('met');
    expect(recordFailure(q, 's2').state).to.equal('failed');
  });

  it('counts each replica once and ignores strangers', () => {
    let q = startQuorum(REPLICAS, 2);
    q = recordAck(q, 's0');
    q = recordAck(q, 's0');
    q = recordFailure(q, 's0');
    q = recordAck(q, 'intruder');
    expect(q.state).to.equal('pending');
    expect(q.acked).to.deep.equal(['s0']);
    expect(q.failed).to.deep.equal([]);
  });

  it('keeps its verdict while late replies are recorded', () => {
    let q = recordAck(recordAck(startQuorum(REPLICAS, 2), 's0'), 's1');
    q = recordFailure(q, 's2');
    expect(q.state).to.equal('met');
    expect(q.failed).to.deep.equal(['s2']);
    expect(pendingReplicas(q)).to.deep.equal([]);
  });

  it('does not change the quorum it was given', () => {
    const q = startQuorum(REPLICAS, 2);
    recordAck(q, 's0');
    expect(q.acked).to.deep.equal([]);
  });

  it('refuses impossible quorums', () => {
    expect(() => startQuorum(REPLICAS, 0)).to.throw(RangeError);
    expect(() => startQuorum(REPLICAS, 4)).to.throw(RangeError);
    expect(() => startQuorum(['s0', 's0'], 1)).to.throw(RangeError, /duplicate/);
  });

  describe('validateQuorums', () => {
    it('accepts 1 ≤ W, R, D ≤ N ≤ nodes', () => {
      expect(validateQuorums({ n: 3, w: 2, r: 1, d: 2 }, 3)).to.equal(undefined);
      expect(validateQuorums({ n: 1, w: 1, r: 1, d: 1 }, 1)).to.equal(undefined);
      expect(validateQuorums({ n: 3, w: 3, r: 3, d: 3 }, 5)).to.equal(undefined);
    });

    it('names the offending value', () => {
      expect(validateQuorums({ n: 4, w: 2, r: 1, d: 2 }, 3)).to.equal('N (number of replicas) is 4 but only 3 storage nodes are available');
      expect(validateQuorums({ n: 0, w: 1, r: 1, d: 1 }, 3)).to.match(/^N .* at least 1/);
      expect(validateQuorums({ n: 3, w: 4, r: 1, d: 1 }, 3)).to.equal('W (write quorum) must be between 1 and N=3, got 4');
      expect(validateQuorums({ n: 3, w: 2, r: 0, d: 1 }, 3)).to.equal('R (read quorum) must be between 1 and N=3, got 0');
      expect(validateQuorums({ n: 3, w: 2, r: 1, d: 5 }, 3)).to.equal('D (delete quorum) must be between 1 and N=3, got 5');
      expect(validateQuorums({ n: 3, w: 1.5, r: 1, d: 1 }, 3)).to.equal('W must be an integer, got 1.5');
    });
  });
});
