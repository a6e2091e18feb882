import { expect } from 'chai';
import type { Behavior } from '../../../src/runtime/actor.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../../../src/runtime/node.js';
import { actorRef, type ReplyTo } from '../../../src/runtime/refs.js';
import { LinkRealms } from '../../../src/runtime/remote/link-realms.js';
import { foreignName, isRealmId, realmOf } from '../../../src/protocol/cluster/realm-names.js';
import { worker } from '../../../src/runtime/supervisor.js';

type EchoMessage = { readonly type: 'echo'; readonly replyTo: ReplyTo<{ ok: true; me: string; asker: string }> };

/** Messages the echo actors took, all nodes of the test together. */
let echoed = 0;

function echo(): Behavior<null, EchoMessage> {
  return {
    accepts: ['echo'],
    init: () => null,
    receive(state, message, ctx) {
      echoed++;
      ctx.system.reply(message.replyTo, { ok: true, me: ctx.system.node, asker: message.replyTo.node });
      return state;
    },
  };
}

/** A node of cluster `clusterId` (its own cookie), offering `/t/offered` to linked clusters; `/t/private` is its own. */
/** Takes a message and never answers it. */
function silent(): Behavior<null, EchoMessage> {
  return { accepts: ['echo'], init: () => null, receive: (state) => state };
}

async function clusterNode(name: string, clusterId: string, cookie: string, secrets: Record<string, string>): Promise<{ node: ClusterNode; realms: LinkRealms }> {
  const realms = new LinkRealms(['/t/offered', '/t/silent']);
  realms.setSelf(clusterId);
  realms.replaceAll(new Map(Object.entries(secrets)));
  const node = await startClusterNode({ node: name, cookie, realms, logger: memoryLogger('error').logger, listen: { host: '127.0.0.1', port: 0 } });
  await node.system.startRoot('t', { strategy: 'one_for_one', maxRestarts: 3, periodMs: 1000, children: [worker('offered', echo()), worker('private', echo()), worker('silent', silent())] }, () => {});
  return { node, realms };
}

function ask(from: ClusterNode, node: string, path: string): Promise<{ ok: boolean; code?: string; me?: string; asker?: string }> {
  return from.system.ask<EchoMessage, { ok: true; me: string; asker: string }>(actorRef(node, path), (replyTo) => ({ type: 'echo', replyTo }), 3000);
}

describe('links between clusters (realms on the cluster transport)', function () {
  this.timeout(15_000);
  const started: ClusterNode[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((node) => node.stop()));
  });

  it('names foreign nodes with their realm and checks realm ids', () => {
    expect(foreignName('c1', 'storage_0@127.0.0.1')).to.equal('c1/storage_0@127.0.0.1');
    expect(realmOf('c1/storage_0@127.0.0.1')).to.equal('c1');
    expect(realmOf('storage_0@127.0.0.1')).to.equal(undefined);
    expect(isRealmId('0f3a')).to.equal(true);
    expect(isRealmId('a/b')).to.equal(false);
    expect(isRealmId('')).to.equal(false);
  });

  it('lets a node of a linked cluster reach the offered actors with the link secret, and answers reach it', async () => {
    // Both clusters name their node alike: only the realm tells them apart.
    const a = await clusterNode('storage_0@127.0.0.1', 'clusterA', 'cookie-a', { clusterB: 'shared-secret' });
    const b = await clusterNode('storage_0@127.0.0.1', 'clusterB', 'cookie-b', { clusterA: 'shared-secret' });
    started.push(a.node, b.node);
    const name = await a.node.transport.connectForeign(b.node.transport.address!, 'clusterB');
    expect(name).to.equal('clusterB/storage_0@127.0.0.1');
    const reply = await ask(a.node, name, '/t/offered');
    expect(reply).to.deep.include({ ok: true, me: 'storage_0@127.0.0.1', asker: 'clusterA/storage_0@127.0.0.1' });
    // The far side answers over the same link; asking back works as well.
    const back = await ask(b.node, 'clusterA/storage_0@127.0.0.1', '/t/offered');
    expect(back).to.deep.include({ ok: true, asker: 'clusterB/storage_0@127.0.0.1' });
  });

  it('refuses a linked cluster every actor it does not offer', async () => {
    const a = await clusterNode('storage_0@127.0.0.1', 'clusterA', 'cookie-a', { clusterB: 'shared-secret' });
    const b = await clusterNode('storage_1@127.0.0.1', 'clusterB', 'cookie-b', { clusterA: 'shared-secret' });
    started.push(a.node, b.node);
    const name = await a.node.transport.connectForeign(b.node.transport.address!, 'clusterB');
    const reply = await ask(a.node, name, '/t/private');
    expect(reply).to.deep.include({ ok: false, code: 'BadMessage' });
  });

  it('closes the links of a cluster whose link is removed or given a new secret, and admits it again only with the new one', async () => {
    const a = await clusterNode('storage_0@127.0.0.1', 'clusterA', 'cookie-a', { clusterB: 'shared-secret' });
    const b = await clusterNode('storage_1@127.0.0.1', 'clusterB', 'cookie-b', { clusterA: 'shared-secret' });
    started.push(a.node, b.node);
    const name = await a.node.transport.connectForeign(b.node.transport.address!, 'clusterB');
    expect(await ask(a.node, name, '/t/offered')).to.deep.include({ ok: true });
    b.realms.replaceAll(new Map([['clusterA', 'a-new-secret']]));
    expect(await ask(a.node, name, '/t/offered')).to.deep.include({ ok: false });
    expect(b.node.transport.peerInfo().some((peer) => peer.node.startsWith('clusterA/'))).to.equal(false);
    a.realms.replaceAll(new Map([['clusterB', 'a-new-secret']]));
    a.node.transport.addPeer(name, b.node.transport.address!);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await ask(a.node, name, '/t/offered')).to.deep.include({ ok: true });
    b.realms.replaceAll(new Map());
    expect(await ask(a.node, name, '/t/offered')).to.deep.include({ ok: false });
  });

  it('fails asks waiting on a linked cluster at once when its link is revoked', async () => {
    const a = await clusterNode('storage_0@127.0.0.1', 'clusterA', 'cookie-a', { clusterB: 'shared-secret' });
    const b = await clusterNode('storage_1@127.0.0.1', 'clusterB', 'cookie-b', { clusterA: 'shared-secret' });
    started.push(a.node, b.node);
    const name = await a.node.transport.connectForeign(b.node.transport.address!, 'clusterB');
    const startedAt = Date.now();
    const waiting = ask(a.node, name, '/t/silent');
    await new Promise((resolve) => setTimeout(resolve, 100));
    a.realms.replaceAll(new Map());
    expect(await waiting).to.deep.include({ ok: false, code: 'NodeDown' });
    expect(Date.now() - startedAt).to.be.lessThan(2_000);
  });

  it('refuses a dial with the wrong link secret, or from a cluster that is not linked', async () => {
    const a = await clusterNode('storage_0@127.0.0.1', 'clusterA', 'cookie-a', { clusterB: 'secret-one' });
    const b = await clusterNode('storage_1@127.0.0.1', 'clusterB', 'cookie-b', { clusterA: 'secret-two' });
    const c = await clusterNode('storage_2@127.0.0.1', 'clusterC', 'cookie-c', { clusterB: 'secret-one' });
    started.push(a.node, b.node, c.node);
    let failure: unknown;
    await a.node.transport.connectForeign(b.node.transport.address!, 'clusterB').catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/cannot connect/);
    failure = undefined;
    // clusterC knows clusterB's secret for the A-B link, but B holds no link with C.
    await c.node.transport.connectForeign(b.node.transport.address!, 'clusterB').catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/cannot connect/);
    // Without a secret for the realm nothing is dialled at all.
    const reply = await ask(a.node, 'clusterZ/storage_9@127.0.0.1', '/t/offered');
    expect(reply).to.deep.include({ ok: false });
  });

  it('fails an ask at once when the far side refuses the link, not at its timeout', async () => {
    const a = await clusterNode('storage_0@127.0.0.1', 'clusterA', 'cookie-a', { clusterB: 'shared-secret' });
    // clusterB has not linked clusterA yet.
    const b = await clusterNode('storage_0@127.0.0.1', 'clusterB', 'cookie-b', {});
    started.push(a.node, b.node);
    a.node.transport.addPeer('clusterB/storage_0@127.0.0.1', b.node.transport.address!);
    const startedAt = Date.now();
    const reply = await a.node.system.ask<EchoMessage, { ok: true; me: string; asker: string }>(actorRef('clusterB/storage_0@127.0.0.1', '/t/offered'), (replyTo) => ({ type: 'echo', replyTo }), 10_000);
    expect(reply).to.deep.include({ ok: false, code: 'NodeDown' });
    expect(Date.now() - startedAt).to.be.lessThan(5_000);
  });

  it('drops a request from a linked cluster whose answer would go to any node but the sender', async () => {
    const a = await clusterNode('storage_0@127.0.0.1', 'clusterA', 'cookie-a', { clusterB: 'shared-secret' });
    const b = await clusterNode('storage_1@127.0.0.1', 'clusterB', 'cookie-b', { clusterA: 'shared-secret' });
    started.push(a.node, b.node);
    const name = await b.node.transport.connectForeign(a.node.transport.address!, 'clusterA');
    expect(await ask(b.node, name, '/t/offered')).to.deep.include({ ok: true });
    const before = echoed;
    // Posing as a node of cluster A in the reply address: A would answer one of its own pending asks.
    b.node.system.dispatch(actorRef<EchoMessage>(name, '/t/offered'), { type: 'echo', replyTo: { node: 'storage_5@127.0.0.1', ask: 1 } });
    b.node.system.dispatch(actorRef<EchoMessage>(name, '/t/offered'), { type: 'echo' } as never);
    expect(await ask(b.node, name, '/t/offered')).to.deep.include({ ok: true });
    expect(echoed - before).to.equal(1);
  });

  it('never lets a link secret pass for the cluster cookie', async () => {
    const a = await clusterNode('storage_0@127.0.0.1', 'clusterA', 'cookie-a', { clusterB: 'shared-secret' });
    // A node that holds only the link secret, posing as a member of cluster A.
    const impostor = await startClusterNode({ node: 'storage_7@127.0.0.1', cookie: 'shared-secret', logger: memoryLogger('error').logger });
    started.push(a.node, impostor);
    let failure: unknown;
    await impostor.transport.connect(a.node.transport.address!).catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/cannot connect/);
  });
});
