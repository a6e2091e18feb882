import { expect } from 'chai';
import type { Behavior } from '../../../src/runtime/actor.js';
import { systemClock } from '../../../src/runtime/clock.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { actorRef, type ReplyTo } from '../../../src/runtime/refs.js';
import { worker } from '../../../src/runtime/supervisor.js';
import { ActorSystem } from '../../../src/runtime/system.js';
import { ask, askWhenWritable } from '../../../src/runtime/typed-ask.js';

type CounterMessage =
  | { readonly type: 'add'; readonly by: number; readonly replyTo: ReplyTo<{ readonly ok: true; readonly total: number }> }
  | { readonly type: 'name'; readonly replyTo: ReplyTo<{ readonly ok: true; readonly name: string }> }
  | { readonly type: 'reset' };

describe('runtime/typed-ask', () => {
  it('fills in replyTo and types each answer as its message says', async () => {
    let total = 0;
    const counter: Behavior<null, CounterMessage> = {
      accepts: ['add', 'name', 'reset'],
      init: () => null,
      receive(state, message, ctx) {
        if (message.type === 'add') ctx.system.reply(message.replyTo, { ok: true, total: (total += message.by) });
        else if (message.type === 'name') ctx.system.reply(message.replyTo, { ok: true, name: 'counter' });
        else total = 0;
        return state;
      },
    };
    const system = new ActorSystem({ node: 'typed@127.0.0.1', clock: systemClock, logger: memoryLogger('error').logger });
    await system.startRoot('root', { strategy: 'one_for_one', maxRestarts: 1, periodMs: 1000, children: [worker('counter', counter)] }, () => {});
    const ref = actorRef<CounterMessage>(system.node, '/root/counter');
    const added = await ask(system, ref, { type: 'add', by: 2 }, 5000);
    const sum: number = added.ok ? added.total : -1;
    expect(sum).to.equal(2);
    const named = await askWhenWritable(system, ref, { type: 'name' }, 5000, 10);
    expect(named.ok && named.name).to.equal('counter');
    const late = await ask(system, actorRef<CounterMessage>(system.node, '/root/nobody'), { type: 'add', by: 1 }, 5000);
    expect(late.ok).to.equal(false);

    // What the compiler refuses: a reply read as another message's, a field that does not exist.
    // @ts-expect-error an 'add' is not answered with a name
    const wrong: { ok: true; name: string } | { ok: false } = await ask(system, ref, { type: 'add', by: 1 }, 5000);
    expect(wrong.ok).to.equal(true);
    // @ts-expect-error 'add' has no field 'times'
    void ask(system, ref, { type: 'add', by: 1, times: 2 }, 5000);
    await system.stop();
  });
});
