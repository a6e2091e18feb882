import { expect } from 'chai';
import { LogTee, type LogTeeLimits } from '../../../src/actors/common/log-tee.js';

const LIMITS: LogTeeLimits = { maxFollowers: 2, linesPerSecond: 10, maxQueuedBytes: 1_000, minLeaseMs: 1_000, maxLeaseMs: 10_000 };
const shell = (name: string) => ({ node: `${name}@127.0.0.1`, path: '/shell/follower' });
const never = (): boolean => false;

describe('actors/log-tee', () => {
  let nowMs: number;
  let tee: LogTee;
  beforeEach(() => {
    nowMs = 0;
    tee = new LogTee(LIMITS, () => nowMs);
  });

  it('queues lines for its followers and hands them out once, in order', () => {
    expect(tee.follow(shell('a'), 5_000)).to.deep.equal({ ok: true, leaseMs: 5_000, renewed: false });
    tee.offer('one');
    tee.offer('two');
    expect(tee.take(never).batches).to.deep.equal([{ follower: shell('a'), lines: ['one', 'two'], dropped: 0 }]);
    expect(tee.take(never).batches, 'nothing new').to.deep.equal([]);
  });

  it('clamps leases, renews them, and drops a follower whose lease lapsed', () => {
    expect(tee.follow(shell('a'), 60_000)).to.include({ leaseMs: 10_000 });
    expect(tee.follow(shell('b'), 1)).to.include({ leaseMs: 1_000 });
    nowMs = 900;
    expect(tee.follow(shell('b'), 1_000)).to.deep.equal({ ok: true, leaseMs: 1_000, renewed: true });
    nowMs = 1_800;
    expect(tee.take(never).lapsed).to.deep.equal([]);
    nowMs = 1_900;
    tee.offer('late');
    const { batches, lapsed } = tee.take(never);
    expect(lapsed).to.deep.equal([shell('b')]);
    expect(batches.map((batch) => batch.follower)).to.deep.equal([shell('a')]);
    expect(tee.size).to.equal(1);
  });

  it('refuses followers beyond its limit, and lets one leave', () => {
    tee.follow(shell('a'), 5_000);
    tee.follow(shell('b'), 5_000);
    expect(tee.follow(shell('c'), 5_000)).to.include({ ok: false, code: 'TooManyFollowers' });
    expect(tee.unfollow(shell('a'))).to.equal(true);
    expect(tee.unfollow(shell('a'))).to.equal(false);
    expect(tee.follow(shell('c'), 5_000)).to.include({ ok: true });
  });

  it('sends at most its rate of lines and counts the rest as dropped', () => {
    tee.follow(shell('a'), 10_000);
    for (let i = 0; i < 25; i++) tee.offer(`burst ${i}`);
    const burst = tee.take(never).batches[0]!;
    expect(burst.lines).to.have.length(10);
    expect(burst.dropped).to.equal(15);
    nowMs += 500;
    for (let i = 0; i < 10; i++) tee.offer(`later ${i}`);
    expect(tee.take(never).batches[0]).to.deep.include({ lines: ['later 0', 'later 1', 'later 2', 'later 3', 'later 4'], dropped: 5 });
  });

  it('keeps the lines of a follower whose link is backed up, within its byte bound', () => {
    tee.follow(shell('a'), 10_000);
    tee.follow(shell('b'), 10_000);
    const line = 'x'.repeat(300);
    for (let i = 0; i < 4; i++) tee.offer(line);
    const slowA = (node: string): boolean => node === shell('a').node;
    const first = tee.take(slowA).batches;
    expect(first.map((batch) => batch.follower.node)).to.deep.equal([shell('b').node]);
    expect(first[0]).to.deep.include({ dropped: 1 });
    expect(first[0]!.lines).to.have.length(3);
    nowMs += 1_000;
    tee.offer(line);
    expect(tee.take(never).batches.find((batch) => batch.follower.node === shell('a').node)).to.deep.include({ dropped: 2 });
  });

  it('costs nothing without followers', () => {
    tee.offer('nobody listens');
    tee.follow(shell('a'), 5_000);
    expect(tee.take(never).batches).to.deep.equal([]);
  });
});
