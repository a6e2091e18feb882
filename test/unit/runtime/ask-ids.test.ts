import { expect } from 'chai';
import { ManualClock } from '../../../src/runtime/clock.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { actorRef, type ReplyTo } from '../../../src/runtime/refs.js';
import { ActorSystem, type RemoteLink } from '../../../src/runtime/system.js';
import { ask } from '../../../src/runtime/typed-ask.js';

type NameMessage = { readonly type: 'name'; readonly replyTo: ReplyTo<{ readonly ok: true; readonly name: string }> };

/** A link that sends nothing anywhere and notes the ask id of every request. */
function recordingLink(askIds: number[]): RemoteLink {
  return {
    sendMessage: (_node, _path, message) => {
      askIds.push((message as NameMessage).replyTo.ask);
      return 'sent';
    },
    sendReply: () => 'sent',
    whenWritable: async () => undefined,
  };
}

describe('runtime/system ask ids', () => {
  it("numbers a restarted node's asks apart from its previous process's, so a late answer settles none of them", async () => {
    const askIds: number[] = [];
    const remote = actorRef<NameMessage>('b@h', '/names');
    const before = new ActorSystem({ node: 'a@h', clock: new ManualClock(), logger: memoryLogger('error').logger });
    before.attachRemote(recordingLink(askIds));
    void ask(before, remote, { type: 'name' }, 60_000);
    // The node restarts; the answer to the ask of the process before is still on its way.
    const after = new ActorSystem({ node: 'a@h', clock: new ManualClock(), logger: memoryLogger('error').logger });
    after.attachRemote(recordingLink(askIds));
    const answer = ask(after, remote, { type: 'name' }, 60_000);
    after.deliverReply(askIds[0]!, { ok: true, name: 'meant for the process before' }, 'b@h');
    after.deliverReply(askIds[1]!, { ok: true, name: 'fresh' }, 'b@h');
    expect(await answer).to.deep.equal({ ok: true, name: 'fresh' });
    expect(askIds[0]).to.not.equal(askIds[1]);
  });

  it('starts from the first ask id it is given', () => {
    const askIds: number[] = [];
    const system = new ActorSystem({ node: 'a@h', clock: new ManualClock(), logger: memoryLogger('error').logger, firstAsk: 7 });
    system.attachRemote(recordingLink(askIds));
    void ask(system, actorRef<NameMessage>('b@h', '/names'), { type: 'name' }, 1_000);
    void ask(system, actorRef<NameMessage>('b@h', '/names'), { type: 'name' }, 1_000);
    expect(askIds).to.deep.equal([7, 8]);
  });
});
