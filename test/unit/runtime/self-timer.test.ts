import { expect } from 'chai';
import type { Behavior } from '../../../src/runtime/actor.js';
import { ManualClock } from '../../../src/runtime/clock.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { SelfTimer, type Pace } from '../../../src/runtime/self-timer.js';
import { worker } from '../../../src/runtime/supervisor.js';
import { ActorSystem } from '../../../src/runtime/system.js';

type TickMessage = { readonly type: 'tick' } | { readonly type: 'wait'; readonly ms: number };

/** A pace that multiplies every wait by `factor`, and says so when it changes. */
class TestPace implements Pace {
  factor = 1;
  private readonly listeners = new Set<() => void>();
  stretch(delayMs: number): number {
    return delayMs * this.factor;
  }
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(factor: number): void {
    this.factor = factor;
    for (const listener of this.listeners) listener();
  }
}

describe('runtime/self-timer', () => {
  it('stretches a wait by its pace, and re-arms what is left of it when the pace changes', async () => {
    const clock = new ManualClock();
    const startMs = clock.now();
    const pace = new TestPace();
    const ticks: number[] = [];
    const behavior: Behavior<SelfTimer<TickMessage>, TickMessage> = {
      accepts: [],
      init: (ctx) => new SelfTimer<TickMessage>(ctx, { type: 'tick' }, pace),
      receive(timer, message) {
        if (message.type === 'wait') timer.schedule(message.ms);
        else ticks.push(clock.now() - startMs);
        return timer;
      },
    };
    const system = new ActorSystem({ node: 'test@127.0.0.1', clock, logger: memoryLogger('error').logger });
    await system.startRoot('root', { strategy: 'one_for_one', maxRestarts: 1, periodMs: 1_000, children: [worker('w', behavior)] }, () => {});
    const ref = { node: system.node, path: '/root/w' };
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    const advance = async (ms: number) => {
      clock.advance(ms);
      await settle();
    };

    pace.set(4);
    system.dispatch(ref, { type: 'wait', ms: 60_000 });
    await settle();
    await advance(10_000);
    expect(ticks).to.deep.equal([]);
    // The throttle lifts 10 s into a wait of 60 s stretched to 240 s: 50 s are left, at full pace.
    pace.set(1);
    await advance(49_000);
    expect(ticks).to.deep.equal([]);
    await advance(1_000);
    expect(ticks).to.deep.equal([60_000]);
    // And a throttle put on mid-wait stretches what is left.
    system.dispatch(ref, { type: 'wait', ms: 1_000 });
    await settle();
    pace.set(10);
    await advance(9_000);
    expect(ticks).to.have.length(1);
    await advance(1_000);
    expect(ticks).to.have.length(2);
    await system.stop();
  });
});
