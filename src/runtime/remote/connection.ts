/**
 * One WebSocket link to a peer, from either end: the cookie handshake, then batched CBOR frames in
 * both directions. Anything malformed closes this link only, with a log line naming the peer.
 */
import type { WebSocket } from 'ws';
import type { RawData } from 'ws';
import { deliverFrame, FrameBuilder, readFrame, type FrameHandler, type ReadFrame } from '../../protocol/cluster/frame.js';
import {
  decodeHandshake,
  encodeHandshake,
  newNonce,
  proofMatches,
  proofOf,
} from '../../protocol/cluster/handshake.js';
import { PROTOCOL_VERSION } from '../../protocol/cluster/version.js';
import { foreignName, realmOf } from '../../protocol/cluster/realm-names.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../logger.js';

/** Close codes (4000-4999 are for applications). */
export const CLOSE = {
  protocolError: 4400,
  authFailed: 4401,
  handshakeTimeout: 4408,
  duplicate: 4409,
  heartbeatTimeout: 4410,
  shutdown: 4000,
  /** The standard "message too big". */
  tooLarge: 1009,
} as const;

export interface ConnectionSettings {
  /** Our name as the peer knows it: realm-qualified on a link with another cluster. */
  readonly node: string;
  readonly address: string | null;
  readonly cookie: string;
  /** A dial to a node of another cluster: its realm, whose link secret replaces the cookie. */
  readonly dialRealm?: string;
  /** The link secret of another cluster, for an inbound peer that names itself with that realm. */
  readonly secretFor?: (realm: string) => string | undefined;
  readonly handshakeTimeoutMs: number;
  readonly maxFrameBytes: number;
  readonly highWaterMarkBytes: number;
}

export interface ConnectionOwner {
  readonly clock: Clock;
  readonly log: Logger;
  /** Where failures of inbound connections not yet authenticated are logged: anyone can cause them at will. */
  readonly unauthenticatedLog: Pick<Logger, 'warn'>;
  /** A message from the authenticated peer `from` for the local actor at `path`. */
  deliver(from: string, path: string, body: unknown): void;
  /** An answer from the authenticated peer `from` to one of our asks. */
  reply(from: string, ask: number, body: unknown): void;
  established(connection: Connection): void;
  /** The link closed; `wasOpen` is false for a dial or handshake that never completed. */
  closed(connection: Connection, reason: string, wasOpen: boolean): void;
  /** Bodies that could not be sent (frame too large); requests among them must be answered. */
  undeliverable(bodies: unknown[], reason: 'too-large'): void;
  /** A frame needs sending at the end of this turn of the event loop. */
  markDirty(connection: Connection): void;
}

type State = 'handshaking' | 'open' | 'closed';

/** A batch is sent early once it holds this many envelopes, so a burst never builds an unbounded frame. */
const MAX_BATCH_ENVELOPES = 4096;

export class Connection {
  state: State = 'handshaking';
  /** The authenticated peer's node name, once the handshake is done. */
  peer: string | undefined;
  /** Where the peer accepts connections, as it told us. */
  peerAddress: string | null = null;
  /** The node that dialled this link; used to pick one link when both ends dialled at once. */
  readonly initiator: () => string;
  lastSeenMs: number;
  /** The peer closed this link on purpose (it is stopping), not by failing. */
  closedByPeerOrderly = false;
  /** The peer refused our proof of the cluster cookie in the handshake. */
  refusedByPeer = false;
  private readonly pending = new FrameBuilder();
  /** Bytes announced by senders of large messages since the last flush. */
  private announcedBytes = 0;
  /** A frame read but not delivered until its side payloads have arrived. */
  private awaiting: { readonly frame: ReadFrame; readonly payloads: Uint8Array[] } | undefined;
  private dirty = false;
  private readonly ourNonce = newNonce();
  private theirNonce: Uint8Array | undefined;
  /** The name the server gave in its challenge, before any realm is put in front of it. */
  private peerOwnName: string | undefined;
  private handshakeTimer: TimerHandle | undefined;
  private writableWaiters: Array<() => void> = [];
  private readonly onWritten = (): void => this.checkWritable();
  private readonly frames: FrameHandler = {
    message: (path, body) => this.owner.deliver(this.peer!, path, body),
    reply: (ask, body) => this.owner.reply(this.peer!, ask, body),
  };

  constructor(
    readonly ws: WebSocket,
    readonly role: 'client' | 'server',
    /** ip:port of the other end, for log lines before the peer has a name. */
    readonly remote: string,
    private readonly settings: ConnectionSettings,
    private readonly owner: ConnectionOwner,
  ) {
    this.lastSeenMs = owner.clock.now();
    this.initiator = () => (role === 'client' ? settings.node : this.peer ?? '');
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data, isBinary) => this.received(data, isBinary));
    ws.on('pong', () => {
      this.lastSeenMs = this.owner.clock.now();
    });
    ws.on('close', (code, reason) => {
      this.closedByPeerOrderly = code === CLOSE.shutdown;
      this.refusedByPeer = this.state === 'handshaking' && code === CLOSE.authFailed;
      this.onClose(`closed by peer (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''})`);
    });
    ws.on('error', (error) => this.fail(CLOSE.protocolError, `socket error: ${error.message}`));
    this.handshakeTimer = owner.clock.setTimeout(() => this.fail(CLOSE.handshakeTimeout, 'handshake timed out'), settings.handshakeTimeoutMs);
    if (role === 'server') {
      this.sendRaw(encodeHandshake({ t: 'challenge', v: PROTOCOL_VERSION, node: settings.node, nonce: this.ourNonce }));
    }
  }

  /** Who is at the other end, for logs. */
  get label(): string {
    return this.peer ? `${this.peer} (${this.remote})` : this.remote;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  enqueueMessage(path: string, body: unknown): void {
    this.pending.addMessage(path, body);
    this.scheduleFlush();
  }

  enqueueReply(ask: number, body: unknown): void {
    this.pending.addReply(ask, body);
    this.scheduleFlush();
  }

  /** Sends everything queued as one frame (or more, when one frame would exceed the limit). */
  flush(): void {
    this.dirty = false;
    this.announcedBytes = 0;
    if (this.state !== 'open' || this.pending.envelopeCount === 0) return;
    this.sendFrames(this.pending.take());
  }

  /**
   * Resolves when the link has room for `sizeBytes` more below the high-water mark (or is gone). The
   * sizes announced since the last flush count as queued, so a burst of large sends in one turn is
   * flushed early and waited for; small messages keep riding in the end-of-turn batch.
   */
  whenWritable(sizeBytes = 0): Promise<void> {
    this.announcedBytes += sizeBytes;
    if (this.state !== 'open' || this.bufferedAmount + this.announcedBytes < this.settings.highWaterMarkBytes) return Promise.resolve();
    this.flush();
    if (this.bufferedAmount < this.settings.highWaterMarkBytes) return Promise.resolve();
    return new Promise((resolve) => this.writableWaiters.push(resolve));
  }

  ping(): void {
    if (this.state === 'open') this.ws.ping();
  }

  /** Closes after the queued frames have been written; a peer that does not finish the close is cut off. */
  close(code: number, reason: string, graceMs = 2_000): void {
    if (this.state === 'closed') return;
    this.flush();
    this.ws.close(code, reason);
    const ws = this.ws;
    this.owner.clock.setTimeout(() => ws.terminate(), graceMs);
    this.onClose(reason);
  }

  /** Closes at once, logging why; used for anything the peer did wrong. */
  fail(code: number, reason: string): void {
    if (this.state === 'closed') return;
    const dialFailure = this.role === 'client' && this.state === 'handshaking' && !this.peer;
    if (dialFailure) this.owner.log.debug('dial failed', { peer: this.label, reason });
    else if (this.role === 'server' && this.state === 'handshaking') this.owner.unauthenticatedLog.warn('closing cluster connection', { peer: this.label, reason });
    else this.owner.log.warn('closing cluster connection', { peer: this.label, reason });
    try {
      this.ws.close(code, reason.slice(0, 120));
    } catch {
      // The socket may already be unusable; terminate below settles it.
    }
    const ws = this.ws;
    this.owner.clock.setTimeout(() => ws.terminate(), 1000);
    this.onClose(reason);
  }

  private sendFrames(frame: FrameBuilder): void {
    const { frame: encoded, sidePayloads } = frame.encode();
    const largest = sidePayloads.reduce((max, payload) => Math.max(max, payload.length), encoded.length);
    if (largest <= this.settings.maxFrameBytes) {
      this.sendRaw(encoded);
      for (const payload of sidePayloads) this.sendRaw(payload);
      return;
    }
    if (frame.envelopeCount === 1) {
      this.owner.log.warn('message exceeds the frame limit; not sent', { peer: this.label, bytes: largest, maxFrameBytes: this.settings.maxFrameBytes });
      this.owner.undeliverable(frame.bodies(), 'too-large');
      return;
    }
    const [first, second] = frame.split();
    this.sendFrames(first);
    this.sendFrames(second);
  }

  private sendRaw(bytes: Uint8Array): void {
    // Waiters are released once the queue falls below half the high-water mark, so every write that
    // leaves it above that mark must report when it is done, or a waiter could wait for nothing.
    const aboveLowMark = this.ws.bufferedAmount + bytes.length > this.settings.highWaterMarkBytes / 2;
    if (aboveLowMark) this.ws.send(bytes, { binary: true }, this.onWritten);
    else this.ws.send(bytes, { binary: true });
  }

  private checkWritable(): void {
    if (this.writableWaiters.length === 0) return;
    if (this.state === 'open' && this.bufferedAmount >= this.settings.highWaterMarkBytes / 2) return;
    const waiters = this.writableWaiters;
    this.writableWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private scheduleFlush(): void {
    if (this.pending.envelopeCount >= MAX_BATCH_ENVELOPES) {
      this.flush();
      return;
    }
    if (this.dirty) return;
    this.dirty = true;
    this.owner.markDirty(this);
  }

  private received(data: RawData, isBinary: boolean): void {
    this.lastSeenMs = this.owner.clock.now();
    if (!isBinary || !Buffer.isBuffer(data)) {
      this.fail(CLOSE.protocolError, 'text or fragmented data frame');
      return;
    }
    if (this.state === 'open') {
      const awaiting = this.awaiting;
      if (awaiting) {
        awaiting.payloads.push(data);
        if (awaiting.payloads.length < awaiting.frame.sidePayloads) return;
        this.awaiting = undefined;
        deliverFrame(awaiting.frame, awaiting.payloads, this.frames);
        return;
      }
      const result = readFrame(data);
      if (!result.ok) this.fail(CLOSE.protocolError, result.reason);
      else if (result.frame.sidePayloads > 0) this.awaiting = { frame: result.frame, payloads: [] };
      else deliverFrame(result.frame, [], this.frames);
      return;
    }
    if (this.state === 'handshaking') this.handshakeStep(data);
  }

  private handshakeStep(data: Buffer): void {
    const { node, address, dialRealm } = this.settings;
    if (this.role === 'client' && !this.theirNonce) {
      const decoded = decodeHandshake(data, 'challenge');
      if (!decoded.ok) return this.fail(CLOSE.protocolError, decoded.reason);
      const secret = this.secretOfDial();
      if (secret === undefined) return this.fail(CLOSE.authFailed, `no link secret for cluster ${dialRealm}`);
      if (realmOf(decoded.message.node) !== undefined) return this.fail(CLOSE.authFailed, 'peer names itself with a realm');
      this.theirNonce = decoded.message.nonce;
      this.peerOwnName = decoded.message.node;
      // A node of another cluster is known here by its realm-qualified name.
      this.peer = dialRealm !== undefined ? foreignName(dialRealm, decoded.message.node) : decoded.message.node;
      const proof = proofOf(secret, 'client', this.theirNonce, this.ourNonce, node);
      this.sendRaw(encodeHandshake({ t: 'auth', v: PROTOCOL_VERSION, node, address, nonce: this.ourNonce, proof }));
      return;
    }
    if (this.role === 'client') {
      const decoded = decodeHandshake(data, 'welcome');
      if (!decoded.ok) return this.fail(CLOSE.protocolError, decoded.reason);
      const expected = proofOf(this.secretOfDial()!, 'server', this.ourNonce, this.theirNonce!, decoded.message.node);
      if (decoded.message.node !== this.peerOwnName || !proofMatches(expected, decoded.message.proof)) {
        return this.fail(CLOSE.authFailed, dialRealm !== undefined ? 'peer failed to prove the link secret' : 'peer failed to prove the cluster cookie');
      }
      this.peerAddress = decoded.message.address;
      return this.open();
    }
    const decoded = decodeHandshake(data, 'auth');
    if (!decoded.ok) return this.fail(CLOSE.protocolError, decoded.reason);
    const { message } = decoded;
    // A peer that names itself with a realm is a node of a linked cluster and proves that link's secret.
    const realm = realmOf(message.node);
    const secret = realm === undefined ? this.settings.cookie : this.settings.secretFor?.(realm);
    if (secret === undefined) return this.fail(CLOSE.authFailed, `no link with cluster ${realm} (from ${message.node})`);
    const expected = proofOf(secret, 'client', this.ourNonce, message.nonce, message.node);
    if (!proofMatches(expected, message.proof)) return this.fail(CLOSE.authFailed, realm === undefined ? `wrong cookie from ${message.node}` : `wrong link secret from ${message.node}`);
    if (message.node === node) return this.fail(CLOSE.authFailed, 'peer claims our own node name');
    this.peer = message.node;
    this.peerAddress = message.address;
    const proof = proofOf(secret, 'server', message.nonce, this.ourNonce, node);
    this.sendRaw(encodeHandshake({ t: 'welcome', v: PROTOCOL_VERSION, node, address, proof }));
    this.open();
  }

  /** What a dial proves: the link secret of the realm it dials, or the cluster cookie. */
  private secretOfDial(): string | undefined {
    const { dialRealm } = this.settings;
    return dialRealm === undefined ? this.settings.cookie : this.settings.secretFor?.(dialRealm);
  }

  private open(): void {
    this.handshakeTimer?.cancel();
    this.handshakeTimer = undefined;
    this.state = 'open';
    this.owner.established(this);
  }

  private onClose(reason: string): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    this.handshakeTimer?.cancel();
    this.checkWritable();
    this.owner.closed(this, reason, wasOpen);
  }
}
