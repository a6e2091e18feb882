import { expect } from 'chai';
import { histogramQuantile, isTrafficCounters, trafficDelta, TrafficHistory, type TrafficCounters } from '../../../src/core/traffic-history.js';

const INTERVAL_MS = 10_000;
const HOUR_MS = 3_600_000;
const START_MS = 1_700_000_000_000;

/** Counters after `requests` requests, each taking `seconds`, of `bytes` in and twice that out. */
function counters(requests: number, seconds = 0.004, bytes = 100): TrafficCounters {
  const bounds = [0.001, 0.005, 0.01, 0.1];
  return {
    requests,
    receivedBytes: requests * bytes,
    sentBytes: requests * bytes * 2,
    latency: { buckets: bounds.map((bound) => [bound, seconds <= bound ? requests : 0] as const), sumSeconds: requests * seconds, count: requests },
  };
}

function history(maxNodes = 8): TrafficHistory {
  return new TrafficHistory({ windowMs: HOUR_MS, intervalMs: INTERVAL_MS, maxNodes });
}

describe('traffic history', () => {
  it('turns counter deltas into rates per second, with the latency of the requests in each span', () => {
    const traffic = history();
    traffic.record('gw', START_MS, counters(100));
    expect(traffic.points('gw', START_MS), 'one sample is no span yet').to.deep.equal([]);
    traffic.record('gw', START_MS + INTERVAL_MS, counters(600));
    const [point] = traffic.points('gw', START_MS + INTERVAL_MS);
    expect(point).to.include({ atMs: START_MS + INTERVAL_MS, spanMs: INTERVAL_MS, requestsPerSecond: 50, receivedBytesPerSecond: 5_000, sentBytesPerSecond: 10_000 });
    expect(point!.meanMs).to.be.closeTo(4, 1e-9);
    // 4 ms requests fall in the (1 ms, 5 ms] bucket: the median is interpolated halfway into it.
    expect(point!.p50Ms).to.be.closeTo(3, 1e-9);
    expect(point!.p99Ms).to.be.closeTo(4.96, 1e-9);
  });

  it('says no latency for a span without requests', () => {
    const traffic = history();
    traffic.record('gw', START_MS, counters(10));
    traffic.record('gw', START_MS + INTERVAL_MS, counters(10));
    expect(traffic.points('gw', START_MS + INTERVAL_MS)[0]).to.include({ requestsPerSecond: 0, meanMs: null, p50Ms: null, p99Ms: null });
  });

  it('counts from zero again after a node restarted (a counter went back)', () => {
    const traffic = history();
    traffic.record('gw', START_MS, counters(5_000));
    traffic.record('gw', START_MS + INTERVAL_MS, counters(200));
    const [point] = traffic.points('gw', START_MS + INTERVAL_MS);
    expect(point!.requestsPerSecond, 'the 200 since the restart, not -4800').to.equal(20);
    expect(trafficDelta(counters(5_000), counters(200))).to.deep.equal(counters(200));
  });

  it('lets the next sample cover the span of a missing one, and draws nothing for nodes never heard from', () => {
    const traffic = history();
    traffic.record('gw', START_MS, counters(0));
    traffic.record('gw', START_MS + INTERVAL_MS, undefined);
    traffic.record('gw', START_MS + 2 * INTERVAL_MS, counters(400));
    expect(traffic.points('gw', START_MS + 2 * INTERVAL_MS)).to.have.length(1);
    expect(traffic.points('gw', START_MS + 2 * INTERVAL_MS)[0]).to.include({ spanMs: 2 * INTERVAL_MS, requestsPerSecond: 20 });
    traffic.record('silent', START_MS, undefined);
    expect(traffic.nodeNames()).to.deep.equal(['gw']);
  });

  it('keeps one hour of points per node, however long it runs', () => {
    const traffic = history();
    let nowMs = START_MS;
    for (let i = 0; i <= 3 * HOUR_MS / INTERVAL_MS; i++, nowMs += INTERVAL_MS) traffic.record('gw', nowMs, counters(i * 10));
    nowMs -= INTERVAL_MS;
    const points = traffic.points('gw', nowMs);
    expect(points).to.have.length(HOUR_MS / INTERVAL_MS);
    expect(points[0]!.atMs).to.be.greaterThan(nowMs - HOUR_MS);
    expect(points.at(-1)!.atMs).to.equal(nowMs);
    // A node that stops answering keeps its points until they are an hour old.
    traffic.record('gw', nowMs + HOUR_MS / 2, undefined);
    expect(traffic.points('gw', nowMs + HOUR_MS / 2)).to.have.length(HOUR_MS / INTERVAL_MS / 2);
    expect(traffic.points('gw', nowMs + HOUR_MS)).to.deep.equal([]);
    // Back after more than the window: a new start, not a span of over an hour.
    traffic.record('gw', nowMs + 2 * HOUR_MS, counters(1));
    traffic.record('gw', nowMs + 2 * HOUR_MS + INTERVAL_MS, counters(101));
    expect(traffic.points('gw', nowMs + 2 * HOUR_MS + INTERVAL_MS).map((point) => point.requestsPerSecond)).to.deep.equal([10]);
  });

  it('follows a bounded number of nodes, forgetting the longest silent first', () => {
    const traffic = history(2);
    traffic.record('a', START_MS, counters(1));
    traffic.record('b', START_MS + HOUR_MS, counters(1));
    traffic.record('c', START_MS + HOUR_MS + 1, counters(1));
    expect(traffic.nodeNames()).to.deep.equal(['b', 'c']);
  });

  it('reads a quantile past the last finite bound as that bound', () => {
    const latency = { buckets: [[0.1, 0], [1, 0]] as const, sumSeconds: 50, count: 10 };
    expect(histogramQuantile(0.5, latency)).to.equal(1);
    expect(histogramQuantile(0.5, { buckets: [], sumSeconds: 0, count: 0 })).to.equal(null);
  });

  it('checks counters from the wire', () => {
    expect(isTrafficCounters(counters(3))).to.equal(true);
    expect(isTrafficCounters({ ...counters(3), requests: -1 })).to.equal(false);
    expect(isTrafficCounters({ ...counters(3), latency: { buckets: 'x', sumSeconds: 0, count: 0 } })).to.equal(false);
    expect(isTrafficCounters(null)).to.equal(false);
  });
});
