/**
 * The managers' traffic sampler on a manual clock, against a stand-in for a gateway's introspection
 * actor that answers scripted counters: rates per span, a missed sample covered by the next span, a
 * restarted node counted from zero, and nothing kept from before the last hour.
 */
import { expect } from 'chai';
import { trafficSamplerBehavior } from '../../../src/actors/manager/traffic-sampler.js';
import type { TrafficCounters } from '../../../src/core/traffic-history.js';
import type { NodeInfoMessage } from '../../../src/protocol/cluster/node-info.js';
import { trafficSamplerRef, type TrafficHistoryReply, type TrafficSamplerMessage } from '../../../src/protocol/cluster/traffic.js';
import type { Behavior } from '../../../src/runtime/actor.js';
import { ManualClock } from '../../../src/runtime/clock.js';
import { runtimeFailure } from '../../../src/runtime/failures.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { supervisor, worker } from '../../../src/runtime/supervisor.js';
import { ActorSystem } from '../../../src/runtime/system.js';
import { eventually } from '../../support/eventually.js';

const MANAGER = 'manager_0@127.0.0.1';
const INTERVAL_MS = 10_000;
const HOUR_MS = 3_600_000;

function counters(requests: number): TrafficCounters {
  return { requests, receivedBytes: requests * 10, sentBytes: requests * 20, latency: { buckets: [[0.01, requests]], sumSeconds: requests * 0.005, count: requests } };
}

/** The sampler under a manager supervisor beside `standIn`, the introspection actor it asks. */
function startSampler(system: ActorSystem, standIn: Behavior<null, NodeInfoMessage>, sampler: ReturnType<typeof trafficSamplerBehavior>): Promise<unknown> {
  const manager = supervisor('manager', { strategy: 'one_for_one', maxRestarts: 3, periodMs: 10_000, children: [worker('traffic', sampler)] });
  return system.startRoot('node', { strategy: 'one_for_one', maxRestarts: 3, periodMs: 10_000, children: [worker('info', standIn), manager] }, () => {});
}

async function historyOf(system: ActorSystem): Promise<TrafficHistoryReply> {
  const reply = await system.ask<TrafficSamplerMessage, TrafficHistoryReply>(trafficSamplerRef(MANAGER), (replyTo) => ({ type: 'history', replyTo }), 1_000);
  if (!reply.ok) throw new Error(reply.code);
  return reply;
}

describe("the managers' traffic sampler", () => {
  const clock = new ManualClock();
  const system = new ActorSystem({ node: MANAGER, clock, logger: memoryLogger('error').logger });
  /** What the stand-in answers next: counters, or no answer in time. */
  let next: TrafficCounters | 'fails' = counters(0);

  const standIn: Behavior<null, NodeInfoMessage> = {
    accepts: ['traffic'],
    init: () => null,
    receive(state, message, ctx) {
      if (message.type === 'traffic') {
        ctx.system.reply(message.replyTo, next === 'fails' ? runtimeFailure('Timeout', 'no answer') : { ok: true, traffic: next });
      }
      return state;
    },
  };

  before(() => startSampler(system, standIn, trafficSamplerBehavior({ members: () => [{ node: MANAGER, role: 'gateway' }], intervalMs: INTERVAL_MS })));
  after(() => system.stop());

  const history = (): Promise<TrafficHistoryReply> => historyOf(system);

  /** One sample: the clock moves on by `ms`, the stand-in is asked, and the answer is recorded. */
  async function sample(answer: TrafficCounters | 'fails', ms = INTERVAL_MS): Promise<TrafficHistoryReply['nodes'][number]['points']> {
    next = answer;
    clock.advance(ms);
    const atMs = clock.now();
    // The answers come back as a message of their own, once every member answered.
    await eventually(async () => (await history()).lastSampleAtMs === atMs, 5_000, `the sample at ${atMs} recorded`);
    return (await history()).nodes[0]?.points ?? [];
  }

  it('charts the spans between samples, covers a missed one, counts a restarted node from zero, and keeps one hour', async () => {
    expect((await history()).nodes, 'nothing before the first sample').to.deep.equal([]);
    expect(await sample(counters(0))).to.deep.equal([]);
    const [first] = await sample(counters(100));
    expect(first).to.include({ spanMs: INTERVAL_MS, requestsPerSecond: 10, receivedBytesPerSecond: 100, sentBytesPerSecond: 200, meanMs: 5 });
    await sample('fails');
    const afterGap = await sample(counters(300));
    expect(afterGap, 'no point for the missed sample').to.have.length(2);
    expect(afterGap[1]).to.include({ spanMs: 2 * INTERVAL_MS, requestsPerSecond: 10 });
    const afterRestart = await sample(counters(50));
    expect(afterRestart.at(-1), 'the 50 since the restart').to.include({ requestsPerSecond: 5 });
    // Two hours without a sample (the clock jumps): what was kept is older than the hour, and goes.
    const later = await sample(counters(60), 2 * HOUR_MS);
    expect(later, 'nothing older than an hour, and no span of two hours').to.deep.equal([]);
    const resumed = await sample(counters(160));
    expect(resumed.map((point) => point.requestsPerSecond)).to.deep.equal([10]);
    const { intervalMs, windowMs, nodes } = await history();
    expect({ intervalMs, windowMs, node: nodes[0]!.node, role: nodes[0]!.role }).to.deep.equal({ intervalMs: INTERVAL_MS, windowMs: HOUR_MS, node: MANAGER, role: 'gateway' });
  });
});

describe("the managers' traffic sampler, when answers go wrong or members leave", () => {
  const SHORT_INTERVAL_MS = 1_000;
  const clock = new ManualClock();
  const system = new ActorSystem({ node: MANAGER, clock, logger: memoryLogger('error').logger });
  /** What the stand-in does next: answer counters, answer something that is no reply at all, or stay silent. */
  let next: TrafficCounters | 'malformed' | 'silent' = counters(0);
  let members = [{ node: MANAGER, role: 'gateway' }];
  /** How often the stand-in was asked. */
  let asked = 0;

  const standIn: Behavior<null, NodeInfoMessage> = {
    accepts: ['traffic'],
    init: () => null,
    receive(state, message, ctx) {
      if (message.type === 'traffic') asked += 1;
      if (message.type === 'traffic' && next !== 'silent') ctx.system.reply(message.replyTo, (next === 'malformed' ? null : { ok: true, traffic: next }) as never);
      return state;
    },
  };

  before(() => startSampler(system, standIn, trafficSamplerBehavior({ members: () => members, intervalMs: SHORT_INTERVAL_MS })));
  after(() => system.stop());

  const history = (): Promise<TrafficHistoryReply> => historyOf(system);

  /** Moves the clock to the next sample and waits until the stand-in is asked; the sample's time. */
  async function sampleStarts(): Promise<number> {
    const before = asked;
    clock.advance(SHORT_INTERVAL_MS);
    await eventually(() => Promise.resolve(asked > before), 5_000, 'the stand-in asked');
    return clock.now();
  }

  it('gives up on members that do not answer before the next sample is due', async () => {
    next = 'silent';
    const atMs = await sampleStarts();
    // Answers are waited for 0.8 of the interval: the sample is in before the next one is due.
    clock.advance(SHORT_INTERVAL_MS * 0.8);
    await eventually(async () => (await history()).lastSampleAtMs === atMs, 5_000, 'the silent sample recorded within 0.8 of the interval');
  });

  it('goes on sampling after an answer that is no reply at all', async () => {
    next = 'malformed';
    clock.advance(SHORT_INTERVAL_MS * 0.2);
    const malformedAtMs = await sampleStarts();
    await eventually(async () => (await history()).lastSampleAtMs === malformedAtMs, 5_000, 'the malformed sample recorded');
    next = counters(10);
    const atMs = await sampleStarts();
    await eventually(async () => (await history()).lastSampleAtMs === atMs, 5_000, 'the next sample recorded');
  });

  it('drops a node from the charts once it is no longer a member', async () => {
    next = counters(20);
    let atMs = await sampleStarts();
    await eventually(async () => (await history()).lastSampleAtMs === atMs, 5_000, 'sampled while a member');
    expect((await history()).nodes.map((node) => node.node)).to.deep.equal([MANAGER]);
    members = [];
    clock.advance(SHORT_INTERVAL_MS);
    atMs = clock.now();
    await eventually(async () => (await history()).lastSampleAtMs === atMs, 5_000, 'sampled with no member');
    expect((await history()).nodes).to.deep.equal([]);
  });
});
