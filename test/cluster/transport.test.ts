import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { nodeInfoRef, ringKeeperRef } from '../../src/protocol/cluster/paths.js';
import type { NodeInfoMessage, PingNodeReply, PingReply, NodeFacts } from '../../src/protocol/cluster/node-info.js';
import type { MemberView, RingKeeperMessage } from '../../src/protocol/cluster/ring-keeper.js';
import { openAdminClient } from '../../src/cli/admin-client.js';
import { encodeCbor } from '../../src/protocol/cluster/cbor.js';
import { decodeHandshake, encodeHandshake, newNonce, proofOf } from '../../src/protocol/cluster/handshake.js';
import { PROTOCOL_VERSION } from '../../src/protocol/cluster/version.js';
import { memoryLogger } from '../../src/runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../../src/runtime/node.js';
import type { PeerInfo } from '../../src/runtime/remote/transport.js';
import { startHandshakeFlood } from '../support/handshake-flood.js';
import { NodeProcess } from '../support/node-process.js';

const COOKIE = 'transport-test-cookie';

describe('cluster transport between real processes', function () {
  this.timeout(60_000);

  let manager: NodeProcess;
  let alpha: NodeProcess;
  let beta: NodeProcess;
  let tester: ClusterNode;

  let root: string;

  before(async () => {
    // Managers keep their members across restarts, so every run starts from empty state of its own.
    root = mkdtempSync(join(tmpdir(), 'leofs-transport-cluster-'));
    const data = (name: string): string[] => ['--data', join(root, name)];
    manager = new NodeProcess('manager_0@127.0.0.1', ['--role', 'manager', '--cookie', COOKIE, ...data('manager_0')]);
    await manager.start();
    // Every refusal in 'bad input' below is checked by its log line, so alpha writes them all.
    const alphaConfig = join(root, 'storage_a.json');
    writeFileSync(alphaConfig, JSON.stringify({ transport: { refusalLogLines: 1000 } }));
    alpha = new NodeProcess('storage_a@127.0.0.1', ['--role', 'storage', '--cookie', COOKIE, '--manager', manager.address, '--config', alphaConfig, ...data('storage_a')]);
    beta = new NodeProcess('storage_b@127.0.0.1', ['--role', 'storage', '--cookie', COOKIE, '--manager', manager.address, ...data('storage_b')]);
    await Promise.all([alpha.start(), beta.start()]);
    tester = await startClusterNode({ node: 'tester@127.0.0.1', cookie: COOKIE, listen: { host: '127.0.0.1', port: 0 }, logger: memoryLogger('error').logger });
    const managerName = await tester.transport.connect(manager.address);
    expect(managerName).to.equal('manager_0@127.0.0.1');
    await eventually(async () => (await members(managerName)).filter((m) => m.role === 'storage').length === 2);
    for (const member of await members(managerName)) if (member.address) tester.transport.addPeer(member.node, member.address);
  });

  after(async () => {
    await tester?.stop();
    await Promise.all([alpha, beta, manager].map((node) => node?.kill('SIGTERM')));
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function members(managerName: string): Promise<readonly MemberView[]> {
    const reply = await tester.system.ask<RingKeeperMessage, { ok: true; members: readonly MemberView[] }>(ringKeeperRef(managerName), (replyTo) => ({ type: 'list', replyTo }), 2000);
    return reply.ok ? reply.members : [];
  }

  function ping(node: string, delayMs = 0, timeoutMs = 2000): Promise<PingReply | { ok: false; code: string }> {
    return tester.system.ask<NodeInfoMessage, PingReply>(nodeInfoRef(node), (replyTo) => ({ type: 'ping', delayMs, replyTo }), timeoutMs);
  }

  async function peersSeenBy(node: string): Promise<PeerInfo[]> {
    const reply = await tester.system.ask<NodeInfoMessage, { ok: true; facts: NodeFacts; peers: PeerInfo[] }>(nodeInfoRef(node), (replyTo) => ({ type: 'which_nodes', replyTo }), 2000);
    return reply.ok ? reply.peers : [];
  }

  it('answers asks from every node, and nodes ask each other', async () => {
    for (const node of [manager, alpha, beta]) {
      const reply = await ping(node.name);
      expect(reply, node.name).to.include({ ok: true, node: node.name });
    }
    const relayed = await tester.system.ask<NodeInfoMessage, PingNodeReply>(nodeInfoRef(alpha.name), (replyTo) => ({ type: 'ping_node', node: beta.name, timeoutMs: 2000, replyTo }), 5000);
    expect(relayed).to.include({ ok: true, node: beta.name });
  });

  it('fails asks pending on a node at once when it is killed, reports nodedown, and reconnects after restart', async () => {
    const events: string[] = [];
    const unsubscribe = tester.system.onNodeEvent((event) => events.push(`${event.type}:${event.node}`));
    try {
      const pendingHere = ping(beta.name, 30_000, 30_000);
      const pendingOnAlpha = tester.system.ask<NodeInfoMessage, PingNodeReply>(
        nodeInfoRef(alpha.name),
        (replyTo) => ({ type: 'ping_node', node: beta.name, timeoutMs: 30_000, delayMs: 30_000, replyTo }),
        40_000,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      const killedAt = Date.now();
      await beta.kill('SIGKILL');
      const [here, onAlpha] = await Promise.all([pendingHere, pendingOnAlpha]);
      const elapsedMs = Date.now() - killedAt;
      expect(here).to.include({ ok: false, code: 'NodeDown' });
      expect(onAlpha).to.include({ ok: false, code: 'NodeDown' });
      expect(elapsedMs, 'pending asks fail quickly, not at their timeout').to.be.below(3000);
      expect(events).to.include(`nodedown:${beta.name}`);
      expect((await peersSeenBy(alpha.name)).find((peer) => peer.node === beta.name)?.state).to.not.equal('up');
      expect(await ping(beta.name)).to.include({ ok: false, code: 'NodeDown' });

      await beta.start();
      await eventually(async () => (await peersSeenBy(alpha.name)).find((peer) => peer.node === beta.name)?.state === 'up', 15_000);
      await eventually(async () => (await ping(beta.name)).ok, 15_000);
      expect(events).to.include(`nodeup:${beta.name}`);
      const relayed = await tester.system.ask<NodeInfoMessage, PingNodeReply>(nodeInfoRef(alpha.name), (replyTo) => ({ type: 'ping_node', node: beta.name, timeoutMs: 2000, replyTo }), 5000);
      expect(relayed).to.include({ ok: true });
    } finally {
      unsubscribe();
    }
  });

  it('detects a peer that stops answering heartbeats, and takes it back when it resumes', async () => {
    const events: string[] = [];
    const unsubscribe = tester.system.onNodeEvent((event) => events.push(`${event.type}:${event.node}`));
    try {
      expect(await ping(beta.name)).to.include({ ok: true });
      process.kill(beta.pid!, 'SIGSTOP');
      const stoppedAt = Date.now();
      await eventually(() => events.includes(`nodedown:${beta.name}`), 15_000);
      expect(Date.now() - stoppedAt, 'detected by heartbeat timeout, not TCP').to.be.within(3_000, 12_000);
      process.kill(beta.pid!, 'SIGCONT');
      await eventually(async () => (await ping(beta.name)).ok, 15_000);
      expect(events).to.include(`nodeup:${beta.name}`);
    } finally {
      if (beta.pid) process.kill(beta.pid, 'SIGCONT');
      unsubscribe();
    }
  });

  describe('bad input on the cluster port', () => {
    interface RawPeer {
      readonly ws: WebSocket;
      readonly localPort: number;
      readonly closed: Promise<number>;
      readonly challenge: Promise<Buffer>;
    }

    async function rawPeer(address: string): Promise<RawPeer> {
      const ws = new WebSocket(`ws://${address}/cluster`, { perMessageDeflate: false });
      const challenge = new Promise<Buffer>((resolve) => ws.once('message', (data) => resolve(data as Buffer)));
      const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
      ws.on('error', () => {});
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const localPort = (ws as unknown as { _socket: { localPort: number } })._socket.localPort;
      return { ws, localPort, closed, challenge };
    }

    async function authenticated(address: string): Promise<RawPeer> {
      const peer = await rawPeer(address);
      const challenge = decodeHandshake(await peer.challenge, 'challenge');
      if (!challenge.ok) throw new Error(challenge.reason);
      const nonce = newNonce();
      const welcome = new Promise<Buffer>((resolve) => peer.ws.once('message', (data) => resolve(data as Buffer)));
      const node = `raw_${peer.localPort}@127.0.0.1`;
      peer.ws.send(encodeHandshake({ t: 'auth', v: PROTOCOL_VERSION, node, address: null, nonce, proof: proofOf(COOKIE, 'client', challenge.message.nonce, nonce, node) }));
      expect(decodeHandshake(await welcome, 'welcome').ok).to.equal(true);
      return peer;
    }

    async function expectRefused(peer: RawPeer, send: (ws: WebSocket) => void): Promise<number> {
      const seen = alpha.lines.length;
      send(peer.ws);
      const code = await withTimeout(peer.closed, 5000, 'the node did not close the connection');
      await alpha.waitFor((line) => line.msg === 'closing cluster connection' && String(line.peer).includes(`:${peer.localPort}`), 5000, seen);
      expect(await ping(alpha.name)).to.include({ ok: true }, 'the node still serves a good peer');
      return code;
    }

    it('closes on garbage bytes in the handshake', async () => {
      const peer = await rawPeer(alpha.address);
      await peer.challenge;
      expect(await expectRefused(peer, (ws) => ws.send(Buffer.from([0xff, 0x00, 0x13, 0x37, 0xde, 0xad])))).to.equal(4400);
    });

    it('closes on a text frame', async () => {
      const peer = await rawPeer(alpha.address);
      await expectRefused(peer, (ws) => ws.send('hello'));
    });

    it('closes on a truncated handshake frame', async () => {
      const peer = await rawPeer(alpha.address);
      const nonce = newNonce();
      const full = encodeHandshake({ t: 'auth', v: PROTOCOL_VERSION, node: 'x@127.0.0.1', address: null, nonce, proof: Buffer.alloc(32) });
      await expectRefused(peer, (ws) => ws.send(full.subarray(0, full.length - 20)));
    });

    it('closes on a frame over the size limit', async () => {
      const peer = await rawPeer(alpha.address);
      const code = await expectRefused(peer, (ws) => ws.send(Buffer.alloc(17 * 1024 * 1024, 1)));
      expect(code).to.equal(1009);
    });

    it('closes with "message too big" on more bytes than a handshake message before the handshake is done', async () => {
      const peer = await rawPeer(alpha.address);
      await peer.challenge;
      expect(await expectRefused(peer, (ws) => ws.send(Buffer.alloc(1024 * 1024, 1)))).to.equal(1009);
    });

    it('closes on a wrong cookie', async () => {
      const peer = await rawPeer(alpha.address);
      const challenge = decodeHandshake(await peer.challenge, 'challenge');
      if (!challenge.ok) throw new Error(challenge.reason);
      const nonce = newNonce();
      const proof = proofOf('not-the-cookie', 'client', challenge.message.nonce, nonce, 'intruder@127.0.0.1');
      const code = await expectRefused(peer, (ws) => ws.send(encodeHandshake({ t: 'auth', v: PROTOCOL_VERSION, node: 'intruder@127.0.0.1', address: null, nonce, proof })));
      expect(code).to.equal(4401);
    });

    it('closes on a wrong protocol version', async () => {
      const peer = await rawPeer(alpha.address);
      const challenge = decodeHandshake(await peer.challenge, 'challenge');
      if (!challenge.ok) throw new Error(challenge.reason);
      const nonce = newNonce();
      const proof = proofOf(COOKIE, 'client', challenge.message.nonce, nonce, 'future@127.0.0.1');
      await expectRefused(peer, (ws) => ws.send(encodeCbor({ t: 'auth', v: PROTOCOL_VERSION + 98, node: 'future@127.0.0.1', address: null, nonce, proof })));
    });

    it('closes on garbage and on a wrong frame version after a good handshake', async () => {
      const first = await authenticated(alpha.address);
      await expectRefused(first, (ws) => ws.send(Buffer.from('c0ffee', 'hex')));
      const second = await authenticated(alpha.address);
      await expectRefused(second, (ws) => ws.send(encodeCbor([PROTOCOL_VERSION + 1, 0, '/node/info', { type: 'ping' }])));
      const third = await authenticated(alpha.address);
      await expectRefused(third, (ws) => ws.send(encodeCbor([PROTOCOL_VERSION, 0, '/node/info'])));
    });

    it('answers a message the actor does not accept with BadMessage and keeps the link', async () => {
      const peer = await authenticated(alpha.address);
      const answer = new Promise<Buffer>((resolve) => peer.ws.once('message', (data) => resolve(data as Buffer)));
      peer.ws.send(encodeCbor([PROTOCOL_VERSION, 0, '/node/info', { type: 'format_disk', replyTo: { node: `raw_${peer.localPort}@127.0.0.1`, ask: 7 } }]));
      const { decodeCbor } = await import('../../src/protocol/cluster/cbor.js');
      const frame = decodeCbor(await answer) as unknown[];
      expect(frame.slice(0, 3)).to.deep.equal([PROTOCOL_VERSION, 1, 7]);
      expect(frame[3]).to.include({ ok: false, code: 'BadMessage' });
      peer.ws.close();
    });

    it('drops a connection that speaks no HTTP at all', async () => {
      const [host, port] = alpha.address.split(':') as [string, string];
      const socket = tcpConnect(Number(port), host);
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.on('error', () => {});
      socket.write('\x16\x03\x01 definitely not http\r\n\r\n');
      await withTimeout(closed, 5000, 'the node kept a garbage connection open');
      expect(await ping(alpha.name)).to.include({ ok: true });
    });
  });

  describe('a crowd of connections that never authenticate', () => {
    it('lets the admin client into the manager while 320 clients hold handshakes open, and keeps the log short', async () => {
      const seen = manager.lines.length;
      const startedAt = Date.now();
      const maxOpens = 50_000;
      const flood = startHandshakeFlood(manager.address, { clients: 320, maxOpens });
      try {
        await eventually(() => flood.opened >= 320 && flood.held >= 32, 15_000);
        const openedBefore = flood.opened;
        const admin = await openAdminClient({ manager: manager.address, cookie: COOKIE, timeoutMs: 10_000 });
        try {
          const status = await admin.run({ command: 'status' });
          expect(status).to.include({ ok: true });
        } finally {
          await admin.close();
        }
        expect(flood.opened, 'the crowd kept pressing all along').to.be.above(openedBefore).and.below(maxOpens);
        const seenByManager = await peersSeenBy(manager.name);
        for (const node of [alpha, beta]) expect(seenByManager.find((peer) => peer.node === node.name)?.state, node.name).to.equal('up');
      } finally {
        await flood.stop();
      }
      const elapsedMs = Date.now() - startedAt;
      const about = manager.lines.slice(seen).filter((line) => line.component === 'transport' && line.level === 'warn');
      // At most refusalLogLines (10) and one summary per 10-second interval, of which the test spans a few.
      expect(about.length, `warnings in ${elapsedMs} ms`).to.be.at.most((Math.floor(elapsedMs / 10_000) + 2) * 11);
      expect(flood.closed, 'connections the manager closed').to.be.above(about.length * 2);
    });
  });
});

async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(message)), timeoutMs))]);
}
