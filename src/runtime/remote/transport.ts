/**
 * The cluster transport: one WebSocket server per node, links to peers opened on demand and reused,
 * heartbeats, node up/down events, reconnection with capped exponential backoff, and the limits that
 * keep a slow or hostile peer from growing our memory. Connections not yet authenticated are kept in
 * check by admission.ts, so that a flood of them can neither lock peers out nor fill the log.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { MESSAGE, REPLY } from '../../protocol/cluster/frame.js';
import { issueTicket, MAX_HANDSHAKE_BYTES, TICKET_HEADER } from '../../protocol/cluster/handshake.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { RuntimeFailureCode } from '../failures.js';
import type { Logger } from '../logger.js';
import type { NodeEvent, RemoteLink, SendOutcome } from '../system.js';
import { ThrottledLog } from '../throttled-log.js';
import { HandshakeAdmission, limitBytesBeforeHandshake, socketKey } from './admission.js';
import { CLOSE, Connection, type ConnectionOwner, type ConnectionSettings } from './connection.js';
import { TicketLedger } from './ticket-ledger.js';
import type { LinkRealms } from './link-realms.js';
import { foreignName, realmOf } from '../../protocol/cluster/realm-names.js';
import { replyToOf } from '../refs.js';

export interface TransportLimits {
  /** Largest WebSocket message accepted or sent; a 5 MiB chunk and its envelope must fit. */
  readonly maxFrameBytes: number;
  /** Above this many unsent bytes on a link, `whenWritable` makes large senders wait. */
  readonly highWaterMarkBytes: number;
  /** Above this many unsent bytes on a link, messages are refused as Overloaded. */
  readonly maxBufferedBytes: number;
  /** Envelopes kept for a peer while its link is being opened. */
  readonly maxQueuedWhileConnecting: number;
  /**
   * Inbound connections not yet authenticated (from TCP accept to a completed handshake) at once, and
   * of those from one address (IPv6: one /64). A full pool makes room rather than refusing: see admission.ts.
   */
  readonly maxHandshakingConnections: number;
  readonly maxHandshakingPerAddress: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  /** How long an outbound link may take for its WebSocket upgrade and handshake. */
  readonly handshakeTimeoutMs: number;
  /** How long an inbound connection may take from TCP accept to a completed handshake. */
  readonly inboundHandshakeTimeoutMs: number;
  /**
   * Lines logged per interval about unauthenticated connections refused, evicted or failed and bad
   * requests on the cluster port; one summary line counts the rest.
   */
  readonly refusalLogLines: number;
  readonly refusalLogIntervalMs: number;
  readonly reconnectInitialMs: number;
  readonly reconnectMaxMs: number;
}

export const DEFAULT_TRANSPORT_LIMITS: TransportLimits = {
  maxFrameBytes: 16 * 1024 * 1024,
  highWaterMarkBytes: 8 * 1024 * 1024,
  maxBufferedBytes: 256 * 1024 * 1024,
  maxQueuedWhileConnecting: 10_000,
  maxHandshakingConnections: 256,
  maxHandshakingPerAddress: 64,
  heartbeatIntervalMs: 1_000,
  heartbeatTimeoutMs: 5_000,
  handshakeTimeoutMs: 5_000,
  inboundHandshakeTimeoutMs: 3_000,
  refusalLogLines: 10,
  refusalLogIntervalMs: 10_000,
  reconnectInitialMs: 100,
  reconnectMaxMs: 5_000,
};

export interface TlsOptions {
  /**
   * PEM certificate chain and key of this node's server; required to listen. A node that only dials
   * out (the admin tools) needs none: the cluster port does not ask dialers for one, the cookie
   * handshake is what authenticates them.
   */
  readonly cert?: string;
  readonly key?: string;
  /** PEM CA bundle that peers' certificates must chain to (defaults to the system store). */
  readonly ca?: string;
}

export interface TransportOptions {
  readonly node: string;
  readonly cookie: string;
  /** Where to accept connections; absent for a node that only dials out (the admin CLI). */
  readonly listen?: { readonly host: string; readonly port: number };
  readonly tls?: TlsOptions;
  readonly limits?: Partial<TransportLimits>;
  /** Linked clusters whose nodes may connect with their link secret (multi-cluster replication). */
  readonly realms?: LinkRealms;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** What the transport hands inbound traffic to; the actor system implements it. */
export interface TransportSink {
  deliverFromRemote(fromNode: string, path: string, message: unknown): void;
  /** `from`: the node the answer came from; when given, it settles only an ask that was sent to that node. */
  deliverReply(ask: number, value: unknown, from?: string): void;
  nodeEvent(event: NodeEvent): void;
  failRequest(message: unknown, code: RuntimeFailureCode, text: string): void;
}

export interface PeerInfo {
  readonly node: string;
  readonly address: string | null;
  readonly state: 'up' | 'connecting' | 'down';
  readonly links: number;
  readonly bufferedBytes: number;
}

/** Re-dialling a down peer on demand is allowed this often; the backoff timer covers the rest. */
const MIN_DIAL_INTERVAL_MS = 200;
/** How long a stopping node lets peers finish the close handshake before cutting links. */
const SHUTDOWN_GRACE_MS = 500;
/** A duplicate link is kept this long before closing, so the far end never sees a gap. */
const DUPLICATE_GRACE_MS = 2_000;

interface Dial {
  readonly connection: Connection;
  readonly address: string;
  readonly expected: string | undefined;
  readonly settle: (result: { ok: true; node: string } | { ok: false; reason: string; refused: boolean }) => void;
}

/** A dial the peer answered but refused in the handshake (a wrong cluster cookie), not a peer out of reach. */
export class HandshakeRefused extends Error {
  override readonly name = 'HandshakeRefused';
}

class Peer {
  address: string | null = null;
  link: Connection | undefined;
  readonly links = new Set<Connection>();
  dial: Dial | undefined;
  /** [kind, target, body] triples queued while the link is being opened. */
  queue: unknown[] = [];
  reconnectTimer: TimerHandle | undefined;
  backoffMs = 0;
  lastDialMs = 0;
  /** When the last link was lost or the last dial failed; cleared once a link is up again. */
  failedAtMs: number | undefined;
  forgotten = false;

  constructor(readonly name: string) {}

  get state(): PeerInfo['state'] {
    return this.link ? 'up' : this.dial ? 'connecting' : 'down';
  }
}

export class ClusterTransport implements RemoteLink, ConnectionOwner {
  readonly clock: Clock;
  readonly log: Logger;
  readonly unauthenticatedLog: ThrottledLog;
  private readonly limits: TransportLimits;
  private readonly admission: HandshakeAdmission;
  private readonly tickets: TicketLedger;
  private readonly peers = new Map<string, Peer>();
  private readonly dirty = new Set<Connection>();
  /** Inbound links in their handshake, each with what releases it from admission control once authenticated. */
  private readonly handshaking = new Map<Connection, () => void>();
  /** Outbound links still in their handshake, by connection. */
  private readonly pendingDials = new Map<Connection, Dial>();
  private flushScheduled = false;
  private heartbeat: TimerHandle | undefined;
  private httpServer: HttpServer | undefined;
  private wss: WebSocketServer | undefined;
  private listenAddress: string | null = null;
  private sink: TransportSink | undefined;
  private closing = false;
  private readonly flushAll = (): void => {
    this.flushScheduled = false;
    for (const connection of this.dirty) connection.flush();
    this.dirty.clear();
  };

  constructor(private readonly options: TransportOptions) {
    this.clock = options.clock;
    this.log = options.logger.child({ component: 'transport' });
    this.limits = { ...DEFAULT_TRANSPORT_LIMITS, ...options.limits };
    this.unauthenticatedLog = new ThrottledLog(this.log, this.clock, {
      maxLines: this.limits.refusalLogLines,
      intervalMs: this.limits.refusalLogIntervalMs,
      summary: 'more lines about unauthenticated cluster connections suppressed',
    });
    this.admission = new HandshakeAdmission(
      { maxConnections: this.limits.maxHandshakingConnections, maxPerAddress: this.limits.maxHandshakingPerAddress, deadlineMs: this.limits.inboundHandshakeTimeoutMs },
      this.clock,
      this.unauthenticatedLog,
    );
    options.realms?.onRevoked((realm) => this.forgetRealm(realm));
    this.tickets = new TicketLedger(() => [options.cookie, ...(options.realms?.allSecrets() ?? [])], this.clock);
  }

  get node(): string {
    return this.options.node;
  }

  /** host:port where this node accepts connections, once listening. */
  get address(): string | null {
    return this.listenAddress;
  }

  /** Starts listening (when configured) and heartbeating. Inbound traffic goes to `sink`. */
  async start(sink: TransportSink): Promise<void> {
    this.sink = sink;
    if (this.options.listen) await this.listen(this.options.listen.host, this.options.listen.port);
    this.heartbeat = this.clock.setInterval(() => this.beat(), this.limits.heartbeatIntervalMs);
  }

  /** Records where a node accepts connections; the link itself is opened on first use. */
  addPeer(node: string, address: string): void {
    if (node === this.node) return;
    const peer = this.peerFor(node);
    peer.forgotten = false;
    peer.address = address;
  }

  /** Closes every link with the nodes of a linked cluster whose link was removed or given a new secret. */
  private forgetRealm(realm: string): void {
    for (const name of [...this.peers.keys()]) {
      if (realmOf(name) !== realm) continue;
      this.log.info('closing the links with a cluster whose link was removed or changed', { peer: name });
      this.forgetPeer(name);
    }
  }

  /**
   * Stops reconnecting to a node and closes its links. What was waiting for it fails now rather than at
   * its deadline: messages queued for a link that will not open, and asks sent on the links closed.
   */
  forgetPeer(node: string): void {
    const peer = this.peers.get(node);
    if (!peer) return;
    peer.forgotten = true;
    peer.reconnectTimer?.cancel();
    const reached = peer.link !== undefined || peer.dial !== undefined;
    for (const connection of peer.links) connection.close(CLOSE.shutdown, 'peer removed');
    this.peers.delete(node);
    const queue = peer.queue;
    peer.queue = [];
    for (let i = 0; i < queue.length; i += 3) {
      if (queue[i] === MESSAGE) this.sink?.failRequest(queue[i + 2], 'NodeDown', `${node} was forgotten`);
    }
    if (reached) this.sink?.nodeEvent({ type: 'nodedown', node });
  }

  /**
   * Dials an address whose node name we may not know yet (the manager given on the command line) and
   * resolves with the name it proved; rejects if the link cannot be opened.
   */
  connect(address: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.openDial(address, undefined, (result) => {
        if (result.ok) resolve(result.node);
        else reject(new (result.refused ? HandshakeRefused : Error)(`cannot connect to ${address}: ${result.reason}`));
      });
    });
  }

  /**
   * Dials a node of the linked cluster `realm` at `address` (its manager, given by an operator) and
   * resolves with its realm-qualified name; rejects if the link cannot be opened.
   */
  connectForeign(address: string, realm: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.openDial(address, undefined, (result) => {
        if (result.ok) resolve(result.node);
        else reject(new (result.refused ? HandshakeRefused : Error)(`cannot connect to ${address} of cluster ${realm}: ${result.reason}`));
      }, realm);
    });
  }

  peerInfo(): PeerInfo[] {
    return [...this.peers.values()].map((peer) => ({
      node: peer.name,
      address: peer.address,
      state: peer.state,
      links: peer.links.size,
      bufferedBytes: peer.link?.bufferedAmount ?? 0,
    }));
  }

  /** Inbound connections accepted and not yet authenticated. */
  get unauthenticatedConnections(): number {
    return this.admission.size;
  }

  isUp(node: string): boolean {
    return this.peers.get(node)?.link !== undefined;
  }

  /**
   * True when the node cannot be reached now: its link was lost or the last dial failed, and no link
   * is up. A node never contacted yet is not known down: the first message will dial it.
   */
  isKnownDown(node: string): boolean {
    if (node === this.node) return false;
    const peer = this.peers.get(node);
    if (!peer) return true;
    return !peer.link && !peer.dial && peer.failedAtMs !== undefined;
  }

  // ---- RemoteLink ----

  sendMessage(node: string, path: string, message: unknown): SendOutcome {
    return this.send(node, MESSAGE, path, message);
  }

  sendReply(node: string, ask: number, value: unknown): SendOutcome {
    // Our own name as linked clusters know it: the answer (a failure of a message that never left) is ours.
    const self = this.options.realms?.self;
    if (self !== undefined && realmOf(node) === self && node === foreignName(self, this.node)) {
      this.sink?.deliverReply(ask, value);
      return 'sent';
    }
    return this.send(node, REPLY, ask, value);
  }

  whenWritable(node: string, sizeBytes = 0): Promise<void> {
    const link = this.peers.get(node)?.link;
    return link ? link.whenWritable(sizeBytes) : Promise.resolve();
  }

  // ---- ConnectionOwner ----

  deliver(from: string, path: string, body: unknown): void {
    const realm = realmOf(from);
    if (realm !== undefined) {
      // A node of a linked cluster reaches only what the link offers, never this cluster's own actors,
      // and nothing once the link is removed (its connection may outlive the secret). Its requests must
      // be answered to itself: a reply address naming any other node would make us answer on its behalf.
      if (replyToOf(body)?.node !== from) {
        this.unauthenticatedLog.warn('refused a message from a linked cluster', { peer: from, path, reason: 'not a request answered to its sender' });
        return;
      }
      if (this.options.realms?.admits(path) !== true || this.options.realms.secretFor(realm) === undefined) {
        this.unauthenticatedLog.warn('refused a message from a linked cluster', { peer: from, path, reason: 'not offered' });
        this.sink?.failRequest(body, 'BadMessage', `${path} is not offered to cluster ${realm}`);
        return;
      }
    }
    this.sink?.deliverFromRemote(from, path, body);
  }

  reply(from: string, ask: number, body: unknown): void {
    // A linked cluster's node may answer only the asks sent to it.
    this.sink?.deliverReply(ask, body, realmOf(from) !== undefined ? from : undefined);
  }

  markDirty(connection: Connection): void {
    this.dirty.add(connection);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushAll);
  }

  undeliverable(bodies: unknown[], reason: 'too-large'): void {
    for (const body of bodies) this.sink?.failRequest(body, 'TooLarge', `message exceeds the ${this.limits.maxFrameBytes}-byte frame limit (${reason})`);
  }

  established(connection: Connection): void {
    this.handshaking.get(connection)?.();
    this.handshaking.delete(connection);
    const name = connection.peer!;
    const peer = this.peerFor(name);
    peer.forgotten = false;
    const dial = this.pendingDials.get(connection);
    if (dial?.expected !== undefined && dial.expected !== name) {
      connection.fail(CLOSE.authFailed, `expected ${dial.expected} at ${dial.address}, found ${name}`);
      return;
    }
    // A node of a linked cluster is dialled only where its managers said it is, never where it says it is.
    if (connection.peerAddress && realmOf(name) === undefined) peer.address = connection.peerAddress;
    else if (dial) peer.address ??= dial.address;
    if (peer.dial?.connection === connection) peer.dial = undefined;
    this.pendingDials.delete(connection);
    dial?.settle({ ok: true, node: name });

    peer.links.add(connection);
    peer.failedAtMs = undefined;
    peer.reconnectTimer?.cancel();
    peer.reconnectTimer = undefined;
    peer.backoffMs = 0;
    const current = peer.link;
    if (!current) {
      peer.link = connection;
      this.log.info('node up', { peer: name, address: peer.address, via: connection.role });
      this.drainQueue(peer);
      this.sink?.nodeEvent({ type: 'nodeup', node: name });
      return;
    }
    const keep = preferredLink(current, connection);
    const retire = keep === current ? connection : current;
    peer.link = keep;
    this.drainQueue(peer);
    this.clock.setTimeout(() => retire.close(CLOSE.duplicate, 'duplicate link'), DUPLICATE_GRACE_MS);
  }

  closed(connection: Connection, reason: string, wasOpen: boolean): void {
    this.handshaking.delete(connection);
    this.dirty.delete(connection);
    const dial = this.pendingDials.get(connection);
    if (!wasOpen) {
      if (dial) this.dialFailed(dial, reason, connection.refusedByPeer);
      return;
    }
    const peer = connection.peer ? this.peers.get(connection.peer) : undefined;
    if (!peer) return;
    peer.links.delete(connection);
    if (peer.link !== connection) return;
    peer.link = [...peer.links].find((link) => link.state === 'open');
    if (peer.link) return;
    peer.failedAtMs = this.clock.now();
    if (this.closing) this.log.debug('link closed on shutdown', { peer: peer.name });
    else if (connection.closedByPeerOrderly) this.log.info('node left', { peer: peer.name, reason });
    else this.log.warn('node down', { peer: peer.name, reason });
    this.sink?.nodeEvent({ type: 'nodedown', node: peer.name });
    this.scheduleReconnect(peer);
  }

  // ---- shutdown ----

  async close(): Promise<void> {
    this.closing = true;
    this.heartbeat?.cancel();
    for (const peer of this.peers.values()) {
      peer.reconnectTimer?.cancel();
      for (const connection of [...peer.links]) connection.close(CLOSE.shutdown, 'node stopping', SHUTDOWN_GRACE_MS);
    }
    for (const dial of this.pendingDials.values()) dial.connection.close(CLOSE.shutdown, 'node stopping', 0);
    for (const connection of [...this.handshaking.keys()]) connection.close(CLOSE.shutdown, 'node stopping', 0);
    this.admission.closeAll();
    this.unauthenticatedLog.flush();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.httpServer ? this.httpServer.close(() => resolve()) : resolve()));
  }

  // ---- internals ----

  private send(node: string, kind: typeof MESSAGE | typeof REPLY, target: string | number, body: unknown): SendOutcome {
    const peer = this.peers.get(node);
    if (!peer || this.closing) return 'unreachable';
    if (kind === MESSAGE) body = this.asSeenByPeer(node, body);
    const link = peer.link;
    if (link) {
      if (link.bufferedAmount > this.limits.maxBufferedBytes) return 'overloaded';
      if (kind === MESSAGE) link.enqueueMessage(target as string, body);
      else link.enqueueReply(target as number, body);
      return 'sent';
    }
    if (!peer.dial) {
      if (!peer.address || this.clock.now() - peer.lastDialMs < MIN_DIAL_INTERVAL_MS) return 'unreachable';
      if (this.cannotDial(realmOf(node)) !== undefined) return 'unreachable';
      peer.reconnectTimer?.cancel();
      peer.reconnectTimer = undefined;
      this.openDial(peer.address, peer.name, () => {});
    }
    if (peer.queue.length / 3 >= this.limits.maxQueuedWhileConnecting) return 'overloaded';
    peer.queue.push(kind, target, body);
    return 'sent';
  }

  /** A node of another cluster knows this node by its realm-qualified name: that is where its answer goes. */
  private asSeenByPeer(node: string, body: unknown): unknown {
    const self = this.options.realms?.self;
    if (self === undefined || realmOf(node) === undefined || typeof body !== 'object' || body === null) return body;
    const replyTo = (body as { replyTo?: { node?: unknown } }).replyTo;
    if (replyTo?.node !== this.node) return body;
    return { ...body, replyTo: { ...replyTo, node: foreignName(self, this.node) } };
  }

  private drainQueue(peer: Peer): void {
    const link = peer.link;
    if (!link || peer.queue.length === 0) return;
    const queue = peer.queue;
    peer.queue = [];
    for (let i = 0; i < queue.length; i += 3) {
      if (queue[i] === MESSAGE) link.enqueueMessage(queue[i + 1] as string, queue[i + 2]);
      else link.enqueueReply(queue[i + 1] as number, queue[i + 2]);
    }
  }

  private openDial(address: string, expected: string | undefined, settle: Dial['settle'], realm = expected === undefined ? undefined : realmOf(expected)): void {
    const { tls, realms } = this.options;
    const refusal = this.cannotDial(realm);
    if (refusal !== undefined) {
      queueMicrotask(() => settle({ ok: false, reason: refusal, refused: true }));
      return;
    }
    const secret = realm === undefined ? this.options.cookie : realms!.secretFor(realm)!;
    const url = `${tls ? 'wss' : 'ws'}://${address}/cluster`;
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      maxPayload: this.limits.maxFrameBytes,
      handshakeTimeout: this.limits.handshakeTimeoutMs,
      headers: { [TICKET_HEADER]: issueTicket(secret, this.clock.now()) },
      // The link is authenticated by the cookie handshake and never crosses a browser or a caching
      // proxy, which is what masking defends against; a zero mask lets ws skip the XOR pass.
      generateMask: (mask: Buffer) => {
        mask.fill(0);
      },
      ...(tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}),
    });
    const connection = new Connection(ws, 'client', address, this.connectionSettings('outbound', realm), this);
    const dial: Dial = { connection, address, expected, settle };
    this.pendingDials.set(connection, dial);
    if (expected !== undefined) {
      const peer = this.peerFor(expected);
      peer.dial = dial;
      peer.lastDialMs = this.clock.now();
    }
  }

  /** Why a link to a node of `realm` (undefined: of this cluster) cannot be dialled now, if it cannot. */
  private cannotDial(realm: string | undefined): string | undefined {
    if (realm === undefined) return undefined;
    const { realms } = this.options;
    if (realms?.secretFor(realm) === undefined) return `no link with cluster ${realm}`;
    if (realms.self === undefined) return 'this cluster does not know its own id yet';
    return undefined;
  }

  private dialFailed(dial: Dial, reason: string, refused: boolean): void {
    this.pendingDials.delete(dial.connection);
    dial.settle({ ok: false, reason, refused });
    const peer = dial.expected !== undefined ? this.peers.get(dial.expected) : undefined;
    if (!peer || peer.dial !== dial) return;
    peer.dial = undefined;
    peer.failedAtMs = this.clock.now();
    const queue = peer.queue;
    peer.queue = [];
    for (let i = 0; i < queue.length; i += 3) {
      if (queue[i] === MESSAGE) this.sink?.failRequest(queue[i + 2], 'NodeDown', `${peer.name} is unreachable: ${reason}`);
    }
    this.scheduleReconnect(peer);
  }

  private scheduleReconnect(peer: Peer): void {
    if (this.closing || peer.forgotten || !peer.address || peer.reconnectTimer || peer.dial || peer.link) return;
    peer.backoffMs = Math.min(this.limits.reconnectMaxMs, peer.backoffMs === 0 ? this.limits.reconnectInitialMs : peer.backoffMs * 2);
    const jittered = peer.backoffMs * (0.8 + Math.random() * 0.4);
    peer.reconnectTimer = this.clock.setTimeout(() => {
      peer.reconnectTimer = undefined;
      if (!peer.link && !peer.dial && !peer.forgotten && peer.address && !this.closing) this.openDial(peer.address, peer.name, () => {});
    }, jittered);
  }

  private peerFor(node: string): Peer {
    let peer = this.peers.get(node);
    if (!peer) {
      peer = new Peer(node);
      this.peers.set(node, peer);
    }
    return peer;
  }

  private connectionSettings(direction: 'inbound' | 'outbound', dialRealm?: string): ConnectionSettings {
    const { realms } = this.options;
    return {
      node: dialRealm !== undefined && realms?.self !== undefined ? foreignName(realms.self, this.options.node) : this.options.node,
      address: this.listenAddress,
      cookie: this.options.cookie,
      ...(dialRealm !== undefined ? { dialRealm } : {}),
      ...(realms ? { secretFor: (realm: string) => realms.secretFor(realm) } : {}),
      handshakeTimeoutMs: direction === 'inbound' ? this.limits.inboundHandshakeTimeoutMs : this.limits.handshakeTimeoutMs,
      maxFrameBytes: this.limits.maxFrameBytes,
      highWaterMarkBytes: this.limits.highWaterMarkBytes,
    };
  }

  private beat(): void {
    const nowMs = this.clock.now();
    for (const peer of this.peers.values()) {
      for (const connection of peer.links) {
        if (nowMs - connection.lastSeenMs > this.limits.heartbeatTimeoutMs) {
          connection.fail(CLOSE.heartbeatTimeout, `no heartbeat for ${nowMs - connection.lastSeenMs} ms`);
        } else {
          connection.ping();
        }
      }
    }
  }

  private async listen(host: string, port: number): Promise<void> {
    const { tls } = this.options;
    if (tls && (tls.cert === undefined || tls.key === undefined)) throw new Error('a node that listens with TLS needs a certificate and its key');
    const server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }) : createHttpServer();
    server.on('request', (request: IncomingMessage, response) => {
      this.admission.requestRead(socketKey(request.socket), false);
      response.writeHead(426, { 'content-type': 'text/plain', connection: 'close' }).end('cluster port: WebSocket only\n');
    });
    server.on('connection', (socket: Socket) => {
      if (this.closing) socket.destroy();
      else this.admission.admit(socket);
    });
    server.on('clientError', (error: Error, socket: Socket) => {
      this.unauthenticatedLog.warn('bad request on the cluster port', { peer: `${socket.remoteAddress}:${socket.remotePort}`, reason: error.message });
      socket.destroy();
    });
    const wss = new WebSocketServer({ server, maxPayload: this.limits.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
    wss.on('connection', (ws: WebSocket, request: IncomingMessage) => this.accepted(ws, request));
    wss.on('error', (error) => this.log.error('cluster server error', { error }));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address() as AddressInfo;
    this.listenAddress = `${host}:${bound.port}`;
    this.httpServer = server;
    this.wss = wss;
    this.log.info('cluster port open', { address: this.listenAddress, tls: Boolean(tls) });
  }

  /** The WebSocket upgrade is done; the connection stays under admission control until it proves the cookie. */
  private accepted(ws: WebSocket, request: IncomingMessage): void {
    const socket = request.socket;
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.closing) {
      this.unauthenticatedLog.warn('refusing cluster connection', { peer: remote, reason: 'stopping' });
      ws.terminate();
      return;
    }
    const key = socketKey(socket);
    const ticket = request.headers[TICKET_HEADER];
    this.admission.requestRead(key, typeof ticket === 'string' && this.tickets.redeem(ticket));
    const connection = new Connection(ws, 'server', remote, this.connectionSettings('inbound'), this);
    // Framing adds a few bytes to the one handshake message a client owes before it is authenticated.
    const stopCounting = limitBytesBeforeHandshake(socket, 2 * MAX_HANDSHAKE_BYTES, () => {
      connection.fail(CLOSE.tooLarge, `more than ${2 * MAX_HANDSHAKE_BYTES} bytes before the handshake was done`);
    });
    this.handshaking.set(connection, () => {
      stopCounting();
      this.admission.release(key);
    });
  }
}

/** Of two links to one peer, both ends keep the one dialled by the smaller node name (the newer on a tie). */
function preferredLink(current: Connection, candidate: Connection): Connection {
  const a = current.initiator();
  const b = candidate.initiator();
  if (a === b) return candidate;
  return a < b ? current : candidate;
}
