import { expect } from 'chai';
import type { Behavior } from '../../../src/runtime/actor.js';
import { systemClock } from '../../../src/runtime/clock.js';
import { isRuntimeFailure, type RuntimeFailure } from '../../../src/runtime/failures.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { actorRef, type ActorRef, type Message, type ReplyTo } from '../../../src/runtime/refs.js';
import { worker } from '../../../src/runtime/supervisor.js';
import { ActorSystem } from '../../../src/runtime/system.js';

type Reply = { ok: true; count: number };

/** `set` reads a field without checking it, as many handlers do: a message without it throws. */
type CounterMessage =
  | { readonly type: 'set'; readonly value: { readonly n: number }; readonly replyTo?: ReplyTo<Reply> }
  | { readonly type: 'set_later'; readonly value: { readonly n: number }; readonly replyTo?: ReplyTo<Reply> }
  | { readonly type: 'get'; readonly replyTo: ReplyTo<Reply> }
  | { readonly type: 'internal' };

interface CounterState {
  readonly count: number;
}

const counter: Behavior<CounterState, CounterMessage> = {
  accepts: ['set', 'set_later', 'get'],
  init: () => ({ count: 1 }),
  async receive(state, message, ctx) {
    switch (message.type) {
      case 'set': {
        const next = { count: message.value.n };
        if (message.replyTo) ctx.system.reply(message.replyTo, { ok: true, count: next.count });
        return next;
      }
      case 'set_later': {
        await new Promise((resolve) => setImmediate(resolve));
        const next = { count: message.value.n };
        if (message.replyTo) ctx.system.reply(message.replyTo, { ok: true, count: next.count });
        return next;
      }
      case 'get':
        ctx.system.reply(message.replyTo, { ok: true, count: state.count });
        return state;
      case 'internal':
        return state;
    }
  },
};

/** What /node/info does for `deliver`: hands the message on guarded, with the asker's replyTo. */
type RelayMessage = { readonly type: 'relay'; readonly path: string; readonly message: Message; readonly replyTo: ReplyTo<unknown> };

describe('runtime/guarded delivery', () => {
  let system: ActorSystem;
  let logs: ReturnType<typeof memoryLogger>;
  const COUNTER = '/root/counter';

  beforeEach(async () => {
    logs = memoryLogger('warn');
    system = new ActorSystem({ node: 'test@127.0.0.1', clock: systemClock, logger: logs.logger });
    const relay: Behavior<null, RelayMessage> = {
      accepts: ['relay'],
      init: () => null,
      receive(state, message) {
        system.deliverGuarded(message.path, { ...message.message, replyTo: message.replyTo } as Message);
        return state;
      },
    };
    await system.startRoot('root', { strategy: 'one_for_one', maxRestarts: 5, periodMs: 10_000, backoff: { initialMs: 0, maxMs: 0 }, children: [worker('counter', counter), worker('relay', relay)] }, () => {});
  });
  afterEach(async () => {
    await system.stop();
  });

  const counterRef = (): ActorRef<CounterMessage> => actorRef(system.node, COUNTER);
  const sendGuarded = (path: string, message: Message & Record<string, unknown>): Promise<unknown> =>
    system.ask<RelayMessage, unknown>(actorRef(system.node, '/root/relay'), (replyTo) => ({ type: 'relay', path, message, replyTo }), 2_000);
  const count = async (): Promise<number> => {
    const reply = await system.ask<CounterMessage, Reply>(counterRef(), (replyTo) => ({ type: 'get', replyTo }), 2_000);
    if (isRuntimeFailure(reply)) throw new Error(`get failed: ${reply.code}`);
    return reply.count;
  };
  const stats = () => system.listActors().find((actor) => actor.path === COUNTER)!;

  it('answers a guarded message whose handler throws with BadMessage, and the actor goes on with its state', async () => {
    expect(await sendGuarded(COUNTER, { type: 'set', value: { n: 7 } })).to.deep.equal({ ok: true, count: 7 });
    const failed = (await sendGuarded(COUNTER, { type: 'set', value: null } as unknown as Message & Record<string, unknown>)) as RuntimeFailure;
    expect(failed).to.include({ ok: false, code: 'BadMessage' });
    expect(failed.message).to.include(COUNTER).and.include('set').and.include('TypeError');
    expect(stats()).to.include({ status: 'running', incarnation: 1, crashes: 0 });
    expect(stats().lastCrash).to.equal(null);
    expect(await count(), 'the state from before the message').to.equal(7);
    expect(await sendGuarded(COUNTER, { type: 'set', value: { n: 9 } }), 'the next message is handled').to.deep.equal({ ok: true, count: 9 });
    const warned = logs.lines.filter((line) => line.level === 'warn' && line.actor === COUNTER);
    expect(warned.map((line) => line.msg)).to.deep.equal(['a delivered message failed; the actor keeps running']);
    expect(warned[0]).to.include({ messageType: 'set' });
  });

  it('catches a handler that rejects after an await as well', async () => {
    const failed = (await sendGuarded(COUNTER, { type: 'set_later' } as unknown as Message & Record<string, unknown>)) as RuntimeFailure;
    expect(failed).to.include({ ok: false, code: 'BadMessage' });
    expect(stats()).to.include({ incarnation: 1, crashes: 0 });
    expect(await count()).to.equal(1);
  });

  it('refuses unknown paths with NoProc and types the actor does not accept with BadMessage', async () => {
    expect(await sendGuarded('/root/nobody', { type: 'get' })).to.include({ ok: false, code: 'NoProc' });
    const refused = (await sendGuarded(COUNTER, { type: 'internal' })) as RuntimeFailure;
    expect(refused).to.include({ ok: false, code: 'BadMessage' });
    expect(refused.message).to.include('does not accept internal');
    expect(stats()).to.include({ incarnation: 1, crashes: 0 });
  });

  it('leaves unguarded messages as they were: a throwing handler crashes the actor, which restarts', async () => {
    const crashed = await system.ask<CounterMessage, Reply>(counterRef(), (replyTo) => ({ type: 'set', value: null as unknown as { n: number }, replyTo }), 2_000);
    expect(crashed).to.include({ ok: false, code: 'Crashed' });
    expect(await count(), 'the restarted incarnation starts over').to.equal(1);
    expect(stats()).to.include({ incarnation: 2, crashes: 1 });
    expect(stats().lastCrash?.reason).to.match(/^TypeError/);
  });
});
