import { expect } from 'chai';
import type { Socket } from 'node:net';
import { Registry } from 'prom-client';
import { trafficCounters } from '../../../src/actors/common/traffic-counters.js';
import { gatewayMetrics } from '../../../src/actors/gateway/gateway-metrics.js';
import type { ObjectCache } from '../../../src/actors/gateway/object-cache.js';

describe("a node's traffic counters, read from its registry", () => {
  it("sums the gateway's requests, latency buckets and bytes over APIs and operations", async () => {
    const registry = new Registry();
    const cache = { stats: { hits: 0, misses: 0, bytes: 0, entries: 0 } } as unknown as ObjectCache;
    const observer = gatewayMetrics(registry, cache);
    const socket = { bytesRead: 0, bytesWritten: 0 };
    const answer = (api: string, operation: string, seconds: number, read: number, written: number): void => {
      socket.bytesRead += read;
      socket.bytesWritten += written;
      observer.answered({ api, operation, status: 200, seconds, socket: socket as unknown as Socket });
    };
    answer('S3', 'PutObject', 0.003, 1_000, 200);
    answer('S3', 'GetObject', 0.02, 150, 2_000);
    answer('REST', 'GetObject', 0.2, 100, 500);
    const counters = (await trafficCounters(registry))!;
    expect(counters).to.deep.include({ requests: 3, receivedBytes: 1_250, sentBytes: 2_700 });
    expect(counters.latency.count).to.equal(3);
    expect(counters.latency.sumSeconds).to.be.closeTo(0.223, 1e-9);
    const at = (bound: number): number | undefined => counters.latency.buckets.find(([le]) => le === bound)?.[1];
    expect([at(0.0025), at(0.005), at(0.025), at(0.25), at(300)]).to.deep.equal([0, 1, 2, 3, 3]);
    expect(counters.latency.buckets.every(([le]) => Number.isFinite(le)), 'no +Inf bucket').to.equal(true);
  });

  it('has none on a node without request instruments', async () => {
    expect(await trafficCounters(new Registry())).to.equal(null);
  });
});
