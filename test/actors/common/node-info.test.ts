/**
 * The admin shell's side of every node's info actor: messages delivered guarded to the node's actors,
 * and the node's log followed under a lease, on a manual clock.
 */
import { expect } from 'chai';
import { nodeInfoBehavior } from '../../../src/actors/common/node-info.js';
import type { FollowReply, LogLinesMessage, NodeInfoMessage } from '../../../src/protocol/cluster/node-info.js';
import { NODE_INFO_PATH } from '../../../src/protocol/cluster/paths.js';
import type { Behavior } from '../../../src/runtime/actor.js';
import { ManualClock } from '../../../src/runtime/clock.js';
import { isRuntimeFailure } from '../../../src/runtime/failures.js';
import { createLogger, type Logger } from '../../../src/runtime/logger.js';
import { actorRef, type ActorRef, type ReplyTo } from '../../../src/runtime/refs.js';
import { worker } from '../../../src/runtime/supervisor.js';
import { ActorSystem } from '../../../src/runtime/system.js';
import { ask } from '../../../src/runtime/typed-ask.js';

const NODE = 'info@127.0.0.1';
const TIMEOUT_MS = 60_000;

type CollectorMessage = LogLinesMessage | { readonly type: 'collected'; readonly replyTo: ReplyTo<LogLinesMessage[]> };

/** Stands in for the shell's follower: keeps the batches it is sent. */
const collector: Behavior<LogLinesMessage[], CollectorMessage> = {
  accepts: ['log', 'collected'],
  init: () => [],
  receive(batches, message, ctx) {
    if (message.type === 'log') batches.push(message);
    else ctx.system.reply(message.replyTo, [...batches]);
    return batches;
  },
};

describe('actors/node-info: deliver and follow', () => {
  let clock: ManualClock;
  let logger: Logger;
  let system: ActorSystem;
  const info = (): ActorRef<NodeInfoMessage> => actorRef(NODE, NODE_INFO_PATH);
  const follower = (): ActorRef<LogLinesMessage> => actorRef(NODE, '/node/collector');

  beforeEach(async () => {
    clock = new ManualClock();
    logger = createLogger({ level: 'info', sink: () => {}, now: () => clock.now() });
    system = new ActorSystem({ node: NODE, clock, logger });
    const behavior = nodeInfoBehavior({
      facts: () => ({ node: NODE, role: 'storage', address: null, startedAtMs: 0 }),
      peers: () => [],
      actors: () => system.listActors(),
      setLogLevel: (level) => logger.setLevel(level),
      deliverGuarded: (path, message) => system.deliverGuarded(path, message),
      onLogLine: (observer) => logger.onLine(observer),
      linkBacklogBytes: () => 0,
    });
    await system.startRoot('node', { strategy: 'one_for_one', maxRestarts: 3, periodMs: 10_000, children: [worker('info', behavior), worker('collector', collector)] }, () => {});
  });
  afterEach(async () => {
    await system.stop();
  });

  /** The batches the follower holds once the info actor has handled everything sent so far. */
  async function collected(): Promise<LogLinesMessage[]> {
    await ask(system, info(), { type: 'ping' }, TIMEOUT_MS);
    const batches = await system.ask<CollectorMessage, LogLinesMessage[]>(actorRef(NODE, '/node/collector'), (replyTo) => ({ type: 'collected', replyTo }), TIMEOUT_MS);
    if (isRuntimeFailure(batches)) throw new Error(batches.message);
    return batches;
  }
  const messages = (batches: LogLinesMessage[]): string[] => batches.flatMap((batch) => batch.lines.map((line) => String(JSON.parse(line).msg)));

  it('delivers a message to an actor of the node, whose answer goes to the asker', async () => {
    const reply = await ask(system, info(), { type: 'deliver', path: NODE_INFO_PATH, message: { type: 'ping' } }, TIMEOUT_MS);
    expect(reply).to.include({ ok: true, node: NODE, role: 'storage' });
  });

  it('refuses a deliver without a path or a typed message, to a missing actor, or of a type the actor does not accept', async () => {
    const deliver = (path: unknown, message: unknown) => system.ask(info(), (replyTo) => ({ type: 'deliver', path, message, replyTo }) as NodeInfoMessage, TIMEOUT_MS);
    expect(await deliver('node/info', { type: 'ping' })).to.include({ ok: false, code: 'BadMessage' });
    expect(await deliver(NODE_INFO_PATH, { kind: 'ping' })).to.include({ ok: false, code: 'BadMessage' });
    expect(await deliver(NODE_INFO_PATH, [1])).to.include({ ok: false, code: 'BadMessage' });
    expect(await deliver('/node/nobody', { type: 'ping' })).to.include({ ok: false, code: 'NoProc' });
    expect(await deliver(NODE_INFO_PATH, { type: 'flush_log' })).to.include({ ok: false, code: 'BadMessage' });
  });

  it('sends a follower the lines logged while its lease runs, and stops once it lapses', async () => {
    const followed = await ask(system, info(), { type: 'follow', subscriber: follower(), leaseMs: 3_000 }, TIMEOUT_MS);
    expect(followed).to.deep.equal({ ok: true, node: NODE, leaseMs: 3_000, linesPerSecond: 200 } satisfies FollowReply);
    logger.child({ actor: '/node/storage' }).warn('alarm: disk nearly full', { freeBytes: 1 });
    clock.advance(250);
    const first = await collected();
    expect(messages(first)).to.deep.equal(['log follower added', 'alarm: disk nearly full']);
    expect(first[0]).to.include({ node: NODE, dropped: 0 });

    // Renewed before it lapses: still followed 5 s on.
    clock.advance(2_000);
    expect(await ask(system, info(), { type: 'follow', subscriber: follower(), leaseMs: 3_000 }, TIMEOUT_MS)).to.include({ ok: true });
    clock.advance(2_000);
    logger.info('still followed');
    clock.advance(250);
    expect(messages(await collected()).slice(-1)).to.deep.equal(['still followed']);

    clock.advance(3_000);
    await collected();
    logger.info('nobody follows');
    clock.advance(1_000);
    expect(messages(await collected())).to.not.include('nobody follows');
    expect(await ask(system, info(), { type: 'unfollow', subscriber: follower() }, TIMEOUT_MS), 'the lease lapsed').to.deep.equal({ ok: true, wasFollowing: false });
  });

  it('stops sending to a follower that leaves', async () => {
    await ask(system, info(), { type: 'follow', subscriber: follower(), leaseMs: 10_000 }, TIMEOUT_MS);
    expect(await ask(system, info(), { type: 'unfollow', subscriber: follower() }, TIMEOUT_MS)).to.deep.equal({ ok: true, wasFollowing: true });
    logger.info('after leaving');
    clock.advance(1_000);
    expect(messages(await collected())).to.deep.equal([]);
  });

  it('refuses a follow without a subscriber', async () => {
    const reply = await system.ask(info(), (replyTo) => ({ type: 'follow', subscriber: 'me', leaseMs: 1_000, replyTo }) as unknown as NodeInfoMessage, TIMEOUT_MS);
    expect(reply).to.include({ ok: false, code: 'BadFollow' });
  });
});
