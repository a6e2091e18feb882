import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Behavior } from '../../../src/runtime/actor.js';
import { ManualClock, type Clock } from '../../../src/runtime/clock.js';
import { memoryLogger, type Logger } from '../../../src/runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../../../src/runtime/node.js';
import { actorRef, type ActorRef, type ReplyTo } from '../../../src/runtime/refs.js';
import type { TlsOptions, TransportLimits } from '../../../src/runtime/remote/transport.js';
import { worker } from '../../../src/runtime/supervisor.js';
import { WebSocket } from 'ws';
import { startHandshakeFlood } from '../../support/handshake-flood.js';

type EchoMessage =
  | { readonly type: 'echo'; readonly payload: unknown; readonly replyTo: ReplyTo<{ ok: true; payload: unknown; from: string }> }
  | { readonly type: 'note'; readonly n: number };

const COOKIE = 'unit-transport-cookie';

function echo(received: number[]): Behavior<null, EchoMessage> {
  return {
    accepts: ['echo', 'note'],
    init: () => null,
    receive(state, message, ctx) {
      if (message.type === 'echo') ctx.system.reply(message.replyTo, { ok: true, payload: message.payload, from: ctx.system.node });
      else received.push(message.n);
      return state;
    },
  };
}

interface TestNode {
  readonly node: ClusterNode;
  readonly received: number[];
  readonly echoRef: ActorRef<EchoMessage>;
}

async function testNode(name: string, options: { limits?: Partial<TransportLimits>; tls?: TlsOptions; cookie?: string; listen?: boolean; logger?: Logger; clock?: Clock } = {}): Promise<TestNode> {
  const node = await startClusterNode({
    ...(options.clock ? { clock: options.clock } : {}),
    node: name,
    cookie: options.cookie ?? COOKIE,
    logger: options.logger ?? memoryLogger('error').logger,
    ...(options.listen === false ? {} : { listen: { host: '127.0.0.1', port: 0 } }),
    ...(options.limits ? { transportLimits: options.limits } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  const received: number[] = [];
  await node.system.startRoot('t', { strategy: 'one_for_one', maxRestarts: 3, periodMs: 1000, children: [worker('echo', echo(received))] }, () => {});
  return { node, received, echoRef: actorRef(name, '/t/echo') };
}

function askEcho(from: TestNode, to: TestNode, payload: unknown, timeoutMs = 3000): Promise<{ ok: boolean; code?: string; payload?: unknown; from?: string }> {
  return from.node.system.ask<EchoMessage, { ok: true; payload: unknown; from: string }>(to.echoRef, (replyTo) => ({ type: 'echo', payload, replyTo }), timeoutMs);
}

/** The raw socket of `node`'s link to `peer`; tests pause it to play a peer that stops reading. */
function linkSocketOf(node: ClusterNode, peer: string): { pause(): void; resume(): void } {
  const peers = (node.transport as unknown as { peers: Map<string, { link?: { ws: { _socket: { pause(): void; resume(): void } } } }> }).peers;
  const socket = peers.get(peer)?.link?.ws._socket;
  if (!socket) throw new Error(`no link from ${node.system.node} to ${peer}`);
  return socket;
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), timeoutMs)));
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

describe('runtime/remote/transport (in process, loopback)', function () {
  this.timeout(20_000);
  const nodes: TestNode[] = [];
  const make = async (...args: Parameters<typeof testNode>): Promise<TestNode> => {
    const created = await testNode(...args);
    nodes.push(created);
    return created;
  };
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.node.stop()));
  });

  it('opens a link on first use, delivers in order, and reuses the link', async () => {
    const a = await make('a@127.0.0.1');
    const b = await make('b@127.0.0.1');
    a.node.transport.addPeer('b@127.0.0.1', b.node.transport.address!);
    for (let n = 0; n < 1000; n++) a.node.system.dispatch(b.echoRef, { type: 'note', n });
    const reply = await askEcho(a, b, { hello: 'world', bytes: Buffer.from([1, 2, 3]) });
    expect(reply).to.deep.include({ ok: true, from: 'b@127.0.0.1' });
    expect(Buffer.from((reply.payload as { bytes: Uint8Array }).bytes)).to.deep.equal(Buffer.from([1, 2, 3]));
    expect(b.received).to.deep.equal([...Array(1000).keys()]);
    expect(a.node.transport.peerInfo().find((p) => p.node === 'b@127.0.0.1')).to.include({ state: 'up', links: 1 });
    expect(b.node.transport.unauthenticatedConnections, 'the link left admission control once authenticated').to.equal(0);
    // b learned a's address from the handshake, so it can answer and dial back.
    expect(await askEcho(b, a, 'back')).to.deep.include({ ok: true, payload: 'back' });
  });

  it('keeps one link when both ends dial at once, without a nodedown', async () => {
    const a = await make('a@127.0.0.1');
    const b = await make('b@127.0.0.1');
    const events: string[] = [];
    a.node.system.onNodeEvent((e) => events.push(`a:${e.type}`));
    b.node.system.onNodeEvent((e) => events.push(`b:${e.type}`));
    a.node.transport.addPeer('b@127.0.0.1', b.node.transport.address!);
    b.node.transport.addPeer('a@127.0.0.1', a.node.transport.address!);
    const [ab, ba] = await Promise.all([askEcho(a, b, 1), askEcho(b, a, 2)]);
    expect(ab.ok && ba.ok).to.equal(true);
    await eventually(() => a.node.transport.peerInfo()[0]?.links === 1 && b.node.transport.peerInfo()[0]?.links === 1, 6000);
    for (let i = 0; i < 20; i++) expect((await Promise.all([askEcho(a, b, i), askEcho(b, a, i)])).every((r) => r.ok)).to.equal(true);
    expect(events.filter((e) => e.endsWith('nodedown'))).to.deep.equal([]);
  });

  it('fails at once for an unknown node and for a node nobody listens for', async () => {
    const a = await make('a@127.0.0.1');
    const started = Date.now();
    expect(await askEcho(a, { echoRef: actorRef('ghost@127.0.0.1', '/t/echo') } as TestNode, 1)).to.include({ ok: false, code: 'NodeDown' });
    a.node.transport.addPeer('gone@127.0.0.1', '127.0.0.1:1');
    expect(await askEcho(a, { echoRef: actorRef('gone@127.0.0.1', '/t/echo') } as TestNode, 1, 10_000)).to.include({ ok: false, code: 'NodeDown' });
    expect(Date.now() - started).to.be.below(2000);
  });

  it('refuses a message larger than a frame with TooLarge and keeps serving small ones', async () => {
    const limits = { maxFrameBytes: 1024 * 1024 };
    const a = await make('a@127.0.0.1', { limits });
    const b = await make('b@127.0.0.1', { limits });
    a.node.transport.addPeer('b@127.0.0.1', b.node.transport.address!);
    const [big, small] = await Promise.all([askEcho(a, b, Buffer.alloc(2 * 1024 * 1024)), askEcho(a, b, 'small')]);
    expect(big).to.include({ ok: false, code: 'TooLarge' });
    expect(small).to.include({ ok: true, payload: 'small' });
    // Many messages that fit alone but not together are split across frames.
    const replies = await Promise.all([...Array(8).keys()].map(() => askEcho(a, b, Buffer.alloc(300 * 1024))));
    expect(replies.every((r) => r.ok)).to.equal(true);
  });

  it('makes large senders wait above the high-water mark instead of buffering without bound', async () => {
    const a = await make('a@127.0.0.1', { limits: { highWaterMarkBytes: 1024 * 1024 } });
    const b = await make('b@127.0.0.1');
    a.node.transport.addPeer('b@127.0.0.1', b.node.transport.address!);
    expect(await askEcho(a, b, 'warm-up')).to.include({ ok: true });
    // b stops reading from its socket: a slow peer.
    const bSocket = linkSocketOf(b.node, 'a@127.0.0.1');
    bSocket.pause();
    const payload = Buffer.alloc(1024 * 1024, 7);
    const sends: Array<Promise<{ ok: boolean }>> = [];
    let blocked = false;
    for (let i = 0; i < 200 && !blocked; i++) {
      const writable = a.node.transport.whenWritable('b@127.0.0.1', payload.length).then(() => true);
      blocked = !(await Promise.race([writable, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 300))]));
      if (!blocked) sends.push(a.node.system.ask<EchoMessage, { ok: true }>(b.echoRef, (replyTo) => ({ type: 'echo', payload, replyTo }), 20_000));
    }
    expect(blocked, 'the sender was made to wait').to.equal(true);
    expect(sends.length, 'messages sent before waiting').to.be.below(100);
    expect(a.node.transport.peerInfo()[0]!.bufferedBytes).to.be.below(64 * 1024 * 1024);
    bSocket.resume();
    await a.node.transport.whenWritable('b@127.0.0.1');
    const replies = await Promise.all(sends);
    expect(replies.every((r) => r.ok)).to.equal(true);
  });

  it('speaks TLS when configured', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'leofs-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
      const key = readFileSync(join(dir, 'key.pem'), 'utf8');
      const tls: TlsOptions = { cert, key, ca: cert };
      const a = await make('a@127.0.0.1', { tls });
      const b = await make('b@127.0.0.1', { tls });
      a.node.transport.addPeer('b@127.0.0.1', b.node.transport.address!);
      expect(await askEcho(a, b, 'over tls')).to.include({ ok: true, payload: 'over tls' });
      expect(b.node.transport.unauthenticatedConnections, 'the link left admission control once authenticated').to.equal(0);
      // A plain-text peer cannot talk to a TLS port.
      const plain = await make('plain@127.0.0.1');
      plain.node.transport.addPeer('b@127.0.0.1', b.node.transport.address!);
      expect(await askEcho(plain, b, 'clear', 5000)).to.include({ ok: false, code: 'NodeDown' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a node with another cookie', async () => {
    const a = await make('a@127.0.0.1');
    const intruder = await make('intruder@127.0.0.1', { cookie: 'some-other-cookie' });
    await intruder.node.transport.connect(a.node.transport.address!).then(
      () => expect.fail('connected with the wrong cookie'),
      (error: Error) => expect(error.message).to.match(/cannot connect/),
    );
    intruder.node.transport.addPeer('a@127.0.0.1', a.node.transport.address!);
    expect(await askEcho(intruder, a, 'let me in')).to.include({ ok: false, code: 'NodeDown' });
  });

  it('lets a dial-only node talk to a server and get answers back over the same link', async () => {
    const server = await make('server@127.0.0.1');
    const client = await make('cli@127.0.0.1', { listen: false });
    const name = await client.node.transport.connect(server.node.transport.address!);
    expect(name).to.equal('server@127.0.0.1');
    expect(await askEcho(client, server, 'from a client')).to.include({ ok: true });
    expect(await askEcho(server, client, 'to a client')).to.include({ ok: true });
  });

  describe('connections that never authenticate', () => {
    it('lets a peer in and answers it while a crowd presses from the same address', async () => {
      const a = await make('a@127.0.0.1');
      const maxOpens = 50_000;
      const flood = startHandshakeFlood(a.node.transport.address!, { clients: 320, maxOpens });
      try {
        await eventually(() => flood.opened >= 320 && flood.held >= 32, 10_000);
        const openedBefore = flood.opened;
        const peer = await make('peer@127.0.0.1', { listen: false });
        expect(await peer.node.transport.connect(a.node.transport.address!)).to.equal('a@127.0.0.1');
        expect(await askEcho(peer, a, 'through the crowd')).to.include({ ok: true, payload: 'through the crowd' });
        expect(flood.opened, 'the crowd kept pressing all along').to.be.above(openedBefore).and.below(maxOpens);
      } finally {
        await flood.stop();
      }
    });

    it('never makes room for a crowd from one address at the expense of another address', async () => {
      const { logger, lines } = memoryLogger('debug');
      const a = await make('a@127.0.0.1', { logger, limits: { maxHandshakingConnections: 32, maxHandshakingPerAddress: 1_000, refusalLogLines: 100_000 } });
      // Another loopback address plays another host.
      const flood = startHandshakeFlood(a.node.transport.address!, { clients: 160, maxOpens: 2_000, localAddress: '127.0.0.2' });
      try {
        await eventually(() => flood.opened >= 160 && flood.held >= 16, 10_000);
        const peers = await Promise.all(['p1', 'p2', 'p3'].map((name) => make(`${name}@127.0.0.1`, { listen: false })));
        for (const peer of peers) {
          await peer.node.transport.connect(a.node.transport.address!);
          expect(await askEcho(peer, a, 'next door')).to.include({ ok: true });
        }
        const evicted = lines.filter((line) => String(line.reason).startsWith('making room'));
        expect(evicted.length, 'the crowd was making room for itself').to.be.above(0);
        expect(evicted.filter((line) => !String(line.peer).startsWith('127.0.0.2:')), 'connections evicted from other addresses').to.deep.equal([]);
      } finally {
        await flood.stop();
      }
    });

    it('closes connections that stay silent, stop inside the HTTP request, or never answer the challenge, at the deadline', async () => {
      const clock = new ManualClock();
      const a = await make('a@127.0.0.1', { clock, limits: { inboundHandshakeTimeoutMs: 3_000 } });
      const [host, port] = a.node.transport.address!.split(':') as [string, string];
      const rawSocket = (firstBytes: string): Promise<void> => {
        const socket = tcpConnect(Number(port), host);
        socket.on('error', () => {});
        if (firstBytes.length > 0) socket.write(firstBytes);
        return new Promise<void>((resolve) => socket.on('close', () => resolve()));
      };
      const silent = rawSocket('');
      const halfRequest = rawSocket('GET /cluster HTTP/1.1\r\nHost: x\r\n');
      const mute = new WebSocket(`ws://${a.node.transport.address}/cluster`, { perMessageDeflate: false });
      mute.on('error', () => {});
      const muteClosed = new Promise<void>((resolve) => mute.on('close', () => resolve()));
      await new Promise<void>((resolve) => mute.once('message', () => resolve()));
      const peer = await make('peer@127.0.0.1', { listen: false });
      await peer.node.transport.connect(a.node.transport.address!);
      await eventually(() => a.node.transport.unauthenticatedConnections === 3);

      clock.advance(3_000);
      await withTimeout(Promise.all([silent, halfRequest, muteClosed]), 5_000, 'a connection outlived the deadline');
      expect(a.node.transport.unauthenticatedConnections).to.equal(0);
      // The link that proved the cookie is not held to the deadline.
      expect(await askEcho(peer, a, 'still here')).to.include({ ok: true });
      expect(a.node.transport.peerInfo().find((info) => info.node === 'peer@127.0.0.1')).to.include({ state: 'up', links: 1 });
    });

    it('keeps its log to a few lines per interval during a flood and reports how many it left out', async () => {
      const { logger, lines } = memoryLogger('debug');
      const a = await make('a@127.0.0.1', { logger, limits: { maxHandshakingConnections: 16, refusalLogLines: 5, refusalLogIntervalMs: 60_000 } });
      const [host, port] = a.node.transport.address!.split(':') as [string, string];
      const badRequests = [...Array(100).keys()].map(() => {
        const socket = tcpConnect(Number(port), host);
        socket.on('error', () => {});
        socket.write('NOT HTTP AT ALL\r\n\r\n');
        return new Promise<void>((resolve) => socket.on('close', () => resolve()));
      });
      const flood = startHandshakeFlood(a.node.transport.address!, { clients: 100, maxOpens: 300 });
      try {
        await withTimeout(Promise.all(badRequests), 10_000, 'bad requests were not all closed');
        await eventually(() => flood.opened >= 300 && flood.closed >= 200, 10_000);
      } finally {
        await flood.stop();
      }
      const seen = lines.length;
      await a.node.stop();
      const warnings = lines.filter((line) => line.component === 'transport' && line.level === 'warn');
      const summaries = warnings.filter((line) => line.msg === 'more lines about unauthenticated cluster connections suppressed');
      expect(warnings.length - summaries.length, 'lines written').to.equal(5);
      expect(summaries.length, 'summary lines').to.equal(1);
      expect(lines.indexOf(summaries[0]!), 'the summary comes on shutdown at the latest').to.be.at.least(seen);
      // Every bad request and every connection of the crowd that was closed is counted, written or not.
      expect(5 + Number(summaries[0]!.suppressed)).to.be.at.least(100 + 200);
    });
  });
});
