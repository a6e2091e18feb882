import { expect } from 'chai';
import type { Behavior } from '../../../src/runtime/actor.js';
import { systemClock } from '../../../src/runtime/clock.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { actorRef, type ReplyTo } from '../../../src/runtime/refs.js';
import { worker } from '../../../src/runtime/supervisor.js';
import { ActorSystem } from '../../../src/runtime/system.js';

type GateMessage = { readonly type: 'work'; readonly n: number; readonly replyTo: ReplyTo<{ ok: true; n: number }> };

describe('runtime/mailbox', () => {
  it('handles a burst in order, and refuses messages beyond the mailbox limit with Overloaded', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const handled: number[] = [];
    const gated: Behavior<null, GateMessage> = {
      accepts: ['work'],
      init: () => null,
      async receive(state, message, ctx) {
        if (message.n === 0) await gate;
        handled.push(message.n);
        ctx.system.reply(message.replyTo, { ok: true, n: message.n });
        return state;
      },
    };
    const system = new ActorSystem({ node: 'mailbox@127.0.0.1', clock: systemClock, logger: memoryLogger('error').logger, limits: { maxMailboxMessages: 5 } });
    await system.startRoot('root', { strategy: 'one_for_one', maxRestarts: 1, periodMs: 1000, children: [worker('gated', gated)] }, () => {});
    const ref = actorRef<GateMessage>(system.node, '/root/gated');
    // The first message is taken and waits at the gate; five more fit in the mailbox; the rest do not.
    const first = system.ask<GateMessage, { ok: true; n: number }>(ref, (replyTo) => ({ type: 'work', n: 0, replyTo }), 5000);
    await new Promise((resolve) => setImmediate(resolve));
    const rest = Array.from({ length: 9 }, (_, i) => system.ask<GateMessage, { ok: true; n: number }>(ref, (replyTo) => ({ type: 'work', n: i + 1, replyTo }), 5000));
    open();
    const replies = await Promise.all([first, ...rest]);
    expect(replies.filter((r) => r.ok).map((r) => (r as { n: number }).n)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(replies.slice(6).every((r) => !r.ok && r.code === 'Overloaded')).to.equal(true);
    expect(handled).to.deep.equal([0, 1, 2, 3, 4, 5]);
    await system.stop();
  });
});
