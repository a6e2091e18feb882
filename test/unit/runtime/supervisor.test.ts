import { expect } from 'chai';
import type { Behavior } from '../../../src/runtime/actor.js';
import { ManualClock, systemClock, type Clock } from '../../../src/runtime/clock.js';
import { isRuntimeFailure } from '../../../src/runtime/failures.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { actorRef, type ActorRef, type ReplyTo } from '../../../src/runtime/refs.js';
import { supervisor, worker, type ChildInfo, type SupervisorMessage, type SupervisorSpec } from '../../../src/runtime/supervisor.js';
import { ActorSystem } from '../../../src/runtime/system.js';

type CounterMessage =
  | { readonly type: 'increment' }
  | { readonly type: 'get'; readonly replyTo: ReplyTo<{ ok: true; count: number; initCount: number }> }
  | { readonly type: 'boom'; readonly replyTo?: ReplyTo<unknown> };

interface CounterState {
  count: number;
  readonly initCount: number;
}

/** Counts increments; its init count is kept in `inits`, which stands in for a durable store. */
function counter(name: string, inits: Map<string, number>, persisted?: Map<string, number>): Behavior<CounterState, CounterMessage> {
  return {
    accepts: ['increment', 'get', 'boom'],
    init() {
      const initCount = (inits.get(name) ?? 0) + 1;
      inits.set(name, initCount);
      return { count: persisted?.get(name) ?? 0, initCount };
    },
    receive(state, message, ctx) {
      switch (message.type) {
        case 'increment':
          state.count++;
          persisted?.set(name, state.count);
          return state;
        case 'get':
          ctx.system.reply(message.replyTo, { ok: true, count: state.count, initCount: state.initCount });
          return state;
        case 'boom':
          throw new Error(`${name} was told to crash`);
      }
    },
  };
}

function makeSystem(clock: Clock = systemClock): ActorSystem {
  return new ActorSystem({ node: 'test@127.0.0.1', clock, logger: memoryLogger('error').logger });
}

async function read(system: ActorSystem, ref: ActorRef<CounterMessage>): Promise<{ count: number; initCount: number }> {
  const reply = await system.ask<CounterMessage, { ok: true; count: number; initCount: number }>(ref, (replyTo) => ({ type: 'get', replyTo }), 2000);
  if (isRuntimeFailure(reply)) throw new Error(`ask failed: ${reply.code}`);
  return { count: reply.count, initCount: reply.initCount };
}

async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function spec(strategy: SupervisorSpec['strategy'], inits: Map<string, number>, names: string[], maxRestarts = 10): SupervisorSpec {
  return {
    strategy,
    maxRestarts,
    periodMs: 10_000,
    backoff: { initialMs: 0, maxMs: 0 },
    children: names.map((name) => worker(name, counter(name, inits))),
  };
}

describe('runtime/supervisor', () => {
  let system: ActorSystem;
  afterEach(async () => {
    await system?.stop();
  });

  const ref = (path: string): ActorRef<CounterMessage> => actorRef(system.node, path);

  const incarnationOf = (path: string): number => system.listActors().find((actor) => actor.path === path)?.incarnation ?? 0;

  /** Crashes the actor at `path` and waits until its supervisor has started the next incarnation. */
  async function crashAndSettle(path: string): Promise<void> {
    const before = incarnationOf(path);
    const reply = await system.ask<CounterMessage, unknown>(ref(path), (replyTo) => ({ type: 'boom', replyTo }), 2000);
    expect(reply).to.include({ ok: false, code: 'Crashed' });
    await eventually(() => incarnationOf(path) !== before);
  }

  it('one_for_one restarts only the crashed child, with its state rebuilt by init', async () => {
    const inits = new Map<string, number>();
    system = makeSystem();
    await system.startRoot('root', spec('one_for_one', inits, ['a', 'b']), () => {});
    system.dispatch(ref('/root/a'), { type: 'increment' });
    system.dispatch(ref('/root/b'), { type: 'increment' });
    await crashAndSettle('/root/a');
    expect(await read(system, ref('/root/a'))).to.deep.equal({ count: 0, initCount: 2 });
    expect(await read(system, ref('/root/b'))).to.deep.equal({ count: 1, initCount: 1 });
  });

  it('counts each actor\'s crashes and keeps the last reason', async () => {
    const inits = new Map<string, number>();
    system = makeSystem();
    await system.startRoot('root', spec('one_for_one', inits, ['a', 'b']), () => {});
    const statsOf = (path: string) => system.listActors().find((actor) => actor.path === path);
    expect(statsOf('/root/a')).to.include({ crashes: 0, lastCrash: null, mailbox: 0 });
    await crashAndSettle('/root/a');
    await crashAndSettle('/root/a');
    expect(statsOf('/root/a')?.crashes).to.equal(2);
    expect(statsOf('/root/a')?.lastCrash?.reason).to.match(/a was told to crash/);
    expect(statsOf('/root/b')).to.include({ crashes: 0, lastCrash: null });
  });

  it('one_for_all restarts every child when one crashes', async () => {
    const inits = new Map<string, number>();
    system = makeSystem();
    await system.startRoot('root', spec('one_for_all', inits, ['a', 'b', 'c']), () => {});
    for (const name of ['a', 'b', 'c']) system.dispatch(ref(`/root/${name}`), { type: 'increment' });
    await crashAndSettle('/root/b');
    for (const name of ['a', 'b', 'c']) {
      expect(await read(system, ref(`/root/${name}`)), name).to.deep.equal({ count: 0, initCount: 2 });
    }
  });

  it('rest_for_one restarts the crashed child and those started after it', async () => {
    const inits = new Map<string, number>();
    system = makeSystem();
    await system.startRoot('root', spec('rest_for_one', inits, ['a', 'b', 'c']), () => {});
    for (const name of ['a', 'b', 'c']) system.dispatch(ref(`/root/${name}`), { type: 'increment' });
    await crashAndSettle('/root/b');
    expect(await read(system, ref('/root/a'))).to.deep.equal({ count: 1, initCount: 1 });
    expect(await read(system, ref('/root/b'))).to.deep.equal({ count: 0, initCount: 2 });
    expect(await read(system, ref('/root/c'))).to.deep.equal({ count: 0, initCount: 2 });
  });

  it('rebuilds state from the store on restart', async () => {
    const inits = new Map<string, number>();
    const store = new Map<string, number>();
    system = makeSystem();
    const rootSpec: SupervisorSpec = { strategy: 'one_for_one', maxRestarts: 3, periodMs: 1000, children: [worker('durable', counter('durable', inits, store))] };
    await system.startRoot('root', rootSpec, () => {});
    for (let i = 0; i < 5; i++) system.dispatch(ref('/root/durable'), { type: 'increment' });
    await crashAndSettle('/root/durable');
    expect(await read(system, ref('/root/durable'))).to.deep.equal({ count: 5, initCount: 2 });
  });

  it('keeps messages queued behind a crash for the next incarnation', async () => {
    const inits = new Map<string, number>();
    system = makeSystem();
    await system.startRoot('root', spec('one_for_one', inits, ['a']), () => {});
    system.dispatch(ref('/root/a'), { type: 'boom' });
    for (let i = 0; i < 7; i++) system.dispatch(ref('/root/a'), { type: 'increment' });
    expect(await read(system, ref('/root/a'))).to.deep.equal({ count: 7, initCount: 2 });
  });

  it('escalates to the parent once restart intensity is exhausted', async () => {
    const inits = new Map<string, number>();
    system = makeSystem();
    const inner = spec('one_for_one', inits, ['w'], 2);
    const outer: SupervisorSpec = {
      strategy: 'one_for_one',
      maxRestarts: 5,
      periodMs: 10_000,
      backoff: { initialMs: 0, maxMs: 0 },
      children: [worker('sibling', counter('sibling', inits)), supervisor('inner', inner)],
    };
    await system.startRoot('root', outer, () => {});
    system.dispatch(ref('/root/sibling'), { type: 'increment' });
    await crashAndSettle('/root/inner/w');
    await crashAndSettle('/root/inner/w');
    // The new incarnation is in place before its init has run: wait for the init, not only the incarnation.
    await eventually(() => inits.get('w') === 3);
    // The third crash within the period exceeds maxRestarts=2: the inner supervisor gives up and is
    // restarted by the outer one, which starts a fresh `w`; the sibling is untouched.
    await system.ask<CounterMessage, unknown>(ref('/root/inner/w'), (replyTo) => ({ type: 'boom', replyTo }), 2000);
    await eventually(async () => {
      const children = await system.ask<SupervisorMessage, readonly ChildInfo[]>(actorRef(system.node, '/root'), (replyTo) => ({ type: 'which_children', replyTo }), 1000);
      return Array.isArray(children) && children.some((child) => child.name === 'inner' && child.incarnation === 2 && child.status === 'running');
    });
    expect(await read(system, ref('/root/inner/w'))).to.deep.equal({ count: 0, initCount: 4 });
    expect(await read(system, ref('/root/sibling'))).to.deep.equal({ count: 1, initCount: 1 });
  });

  it('calls the give-up hook when the root supervisor exhausts its intensity', async () => {
    const inits = new Map<string, number>();
    system = makeSystem();
    let gaveUp: unknown;
    await system.startRoot('root', spec('one_for_one', inits, ['w'], 1), (reason) => {
      gaveUp = reason;
    });
    await crashAndSettle('/root/w');
    await system.ask<CounterMessage, unknown>(ref('/root/w'), (replyTo) => ({ type: 'boom', replyTo }), 2000);
    await eventually(() => gaveUp !== undefined);
    expect(String(gaveUp)).to.match(/2 restarts within 10000 ms/);
    const after = await system.ask<CounterMessage, unknown>(ref('/root/w'), (replyTo) => ({ type: 'get', replyTo }), 1000);
    expect(after).to.include({ ok: false, code: 'NoProc' });
  });

  it('waits out an exponential backoff between restarts', async () => {
    const clock = new ManualClock();
    const inits = new Map<string, number>();
    system = makeSystem(clock);
    const rootSpec: SupervisorSpec = { strategy: 'one_for_one', maxRestarts: 10, periodMs: 60_000, backoff: { initialMs: 100, maxMs: 250 }, children: [worker('w', counter('w', inits))] };
    await system.startRoot('root', rootSpec, () => {});
    const delays: number[] = [];
    for (let crash = 0; crash < 3; crash++) {
      system.dispatch(ref('/root/w'), { type: 'boom' });
      const answer = read(system, ref('/root/w'));
      await eventually(() => system.listActors().some((a) => a.path === '/root/w' && a.incarnation === crash + 2));
      let waitedMs = 0;
      while (inits.get('w') !== crash + 2) {
        clock.advance(10);
        waitedMs += 10;
        await new Promise((resolve) => setImmediate(resolve));
        if (waitedMs > 1000) throw new Error('no restart');
      }
      delays.push(waitedMs);
      await answer;
    }
    expect(delays[0]).to.be.within(100, 110);
    expect(delays[1]).to.be.within(200, 210);
    expect(delays[2]).to.be.within(250, 260);
  });

  it('stops a child that is waiting out its restart backoff at once, without starting it', async () => {
    const clock = new ManualClock();
    const inits = new Map<string, number>();
    let terminated = 0;
    system = makeSystem(clock);
    const child: Behavior<CounterState, CounterMessage> = { ...counter('w', inits), terminate: () => void terminated++ };
    await system.startRoot('root', { strategy: 'one_for_one', maxRestarts: 10, periodMs: 60_000, backoff: { initialMs: 60_000, maxMs: 60_000 }, children: [worker('w', child)] }, () => {});
    system.dispatch(ref('/root/w'), { type: 'boom' });
    await eventually(() => system.listActors().some((a) => a.path === '/root/w' && a.incarnation === 2));
    // The clock never moves: a stop that waited for the backoff (or for its own timeout) would not end.
    let giveUp: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([system.stop().then(() => true), new Promise<false>((resolve) => (giveUp = setTimeout(() => resolve(false), 2_000)))]);
    clearTimeout(giveUp);
    expect(stopped).to.equal(true);
    expect(inits.get('w')).to.equal(1);
    expect(terminated).to.equal(0);
  });

  it('ends the timers and subscriptions of a crashed incarnation', async () => {
    const clock = new ManualClock();
    system = makeSystem(clock);
    let cleanups = 0;
    let ticks = 0;
    const ticking: Behavior<null, { type: 'tick' } | { type: 'boom'; replyTo?: ReplyTo<unknown> }> = {
      accepts: [],
      init(ctx) {
        ctx.clock.setInterval(() => ctx.system.dispatch(ctx.self, { type: 'tick' }), 10);
        ctx.onEnd(() => cleanups++);
        return null;
      },
      receive(state, message) {
        if (message.type === 'boom') throw new Error('boom');
        ticks++;
        return state;
      },
    };
    await system.startRoot('root', { strategy: 'one_for_one', maxRestarts: 5, periodMs: 60_000, backoff: { initialMs: 0, maxMs: 0 }, children: [worker('t', ticking)] }, () => {});
    expect(clock.pendingTimers).to.equal(1);
    const ref = actorRef<{ type: 'boom'; replyTo?: ReplyTo<unknown> }>(system.node, '/root/t');
    expect(await system.ask<{ type: 'boom'; replyTo?: ReplyTo<unknown> }, unknown>(ref, (replyTo) => ({ type: 'boom', replyTo }), 1000)).to.include({ code: 'Crashed' });
    await eventually(() => incarnationOf('/root/t') === 2 && cleanups === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(clock.pendingTimers, 'only the new incarnation ticks').to.equal(1);
    clock.advance(100);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ticks).to.equal(10);
    await system.stop();
    expect(cleanups).to.equal(2);
    expect(clock.pendingTimers).to.equal(0);
  });

  it('answers an ask whose handler crashed with an error, not a timeout', async () => {
    const inits = new Map<string, number>();
    system = makeSystem();
    await system.startRoot('root', spec('one_for_one', inits, ['a']), () => {});
    const started = Date.now();
    const reply = await system.ask<CounterMessage, unknown>(ref('/root/a'), (replyTo) => ({ type: 'boom', replyTo }), 10_000);
    expect(reply).to.include({ ok: false, code: 'Crashed' });
    expect(Date.now() - started).to.be.below(1000);
  });

  it('answers an ask to a missing actor with NoProc and times out asks nobody answers', async () => {
    const clock = new ManualClock();
    system = makeSystem(clock);
    await system.startRoot('root', spec('one_for_one', new Map(), ['a']), () => {});
    const missing = await system.ask<CounterMessage, unknown>(ref('/root/missing'), (replyTo) => ({ type: 'get', replyTo }), 1000);
    expect(missing).to.include({ ok: false, code: 'NoProc' });
    const silent = system.ask<CounterMessage, unknown>(ref('/root/a'), () => ({ type: 'increment' }), 500);
    clock.advance(499);
    expect(system.pendingAsks).to.equal(1);
    clock.advance(1);
    expect(await silent).to.include({ ok: false, code: 'Timeout' });
    expect(system.pendingAsks).to.equal(0);
  });

  it('stops children in reverse order on shutdown, running terminate', async () => {
    const order: string[] = [];
    const tracked = (name: string): Behavior<null, { type: 'noop' }> => ({
      accepts: [],
      init: () => null,
      receive: (state) => state,
      terminate: () => {
        order.push(name);
      },
    });
    system = makeSystem();
    await system.startRoot('root', { strategy: 'one_for_one', maxRestarts: 1, periodMs: 1000, children: ['x', 'y', 'z'].map((n) => worker(n, tracked(n))) }, () => {});
    await system.stop();
    expect(order).to.deep.equal(['z', 'y', 'x']);
  });
});
