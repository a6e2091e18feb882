/**
 * Admission control for inbound connections that have not proved the cookie yet. Anyone who can reach
 * the cluster port can open them at no cost, so each gets a deadline from TCP accept to a completed
 * handshake, and they share a bounded pool of places. How that keeps peers getting in during a flood:
 *
 * - A full pool makes room rather than refusing: refusing lets whoever filled it first keep everyone
 *   else out, peers included, for as long as they hold on.
 * - Room is taken from the address that holds the most places (one at its own cap pays for its
 *   newcomers itself), so a flood from one address only ever displaces its own connections, at any
 *   rate. IPv6 addresses count by /64, the block one host usually has, so a host cannot pose as many.
 * - On an address a peer shares with the flood (loopback, NAT), ages and addresses cannot tell them
 *   apart: an attacker that reconnects as fast as we evict churns through any number of places faster
 *   than a peer's round trip. So a peer says who it is up front, with a ticket made with the cookie in
 *   its upgrade request (`issueTicket`). Once the request is read, a good ticket takes the connection
 *   out of the pool (`vouched`); without one it is a `stranger`, evicted before any connection whose
 *   request is still unread (`unknown`, maybe a peer). Among equals the oldest goes.
 * - An unknown connection has `UNREAD_GRACE_MS` to send its request before it can be evicted, and room
 *   is made at the end of a turn of the event loop, after the requests that arrived in it were read.
 *   Unknown connections within their grace may hold up to twice `maxConnections`; past that the oldest
 *   go regardless, which bounds what a flood of silent connections holds.
 *
 * Left over: silent connections arriving faster than twice `maxConnections` per grace period, from a
 * peer's own address, can displace it before its request is read; its dial fails and is retried. Nodes
 * without tickets (an older version) count as strangers, which matters only during a flood. A connection
 * that proves the cookie leaves admission control for good: authenticated links are never touched here.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { LogFields } from '../logger.js';

/** How long a connection may take to send its HTTP request (TLS included) before it can be evicted. */
export const UNREAD_GRACE_MS = 1_000;

export interface AdmissionLimits {
  /** Connections not vouched for at once, over all addresses (and, apart, connections vouched for). */
  readonly maxConnections: number;
  /** Connections not vouched for at once from one address (IPv6: one /64). */
  readonly maxPerAddress: number;
  /** From TCP accept to a completed handshake; a connection still unauthenticated then is closed. */
  readonly deadlineMs: number;
}

/** The part of a socket admission needs (a `net.Socket`, or a test double). */
export interface AdmittedSocket {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  destroy(): void;
  once(event: 'close', listener: () => void): unknown;
}

export interface AdmissionLog {
  warn(message: string, fields?: LogFields): void;
}

/** Before its HTTP request is read; after, without a good ticket; after, with one. */
type Stage = 'unknown' | 'stranger' | 'vouched';

interface Pending {
  readonly socket: AdmittedSocket;
  readonly key: string;
  readonly group: string;
  readonly label: string;
  /** Arrival order; ties between addresses go to the one whose next victim arrived first. */
  readonly seq: number;
  readonly acceptedAtMs: number;
  readonly deadline: TimerHandle;
  stage: Stage;
}

/** One address's connections not vouched for, each stage in arrival order, oldest first. */
class Group {
  readonly unknown = new Set<Pending>();
  readonly strangers = new Set<Pending>();

  get size(): number {
    return this.unknown.size + this.strangers.size;
  }

  /** Who goes first when this address must give up a place; none while only unknowns accepted after `graceStartMs` are left. */
  victim(graceStartMs: number): Pending | undefined {
    const stranger = first(this.strangers);
    if (stranger) return stranger;
    const unknown = first(this.unknown);
    return unknown && unknown.acceptedAtMs <= graceStartMs ? unknown : undefined;
  }
}

export class HandshakeAdmission {
  private readonly byKey = new Map<string, Pending>();
  private readonly byGroup = new Map<string, Group>();
  private vouchedCount = 0;
  private nextSeq = 0;
  private roomScheduled = false;
  private readonly makeRoomNow = (): void => this.makeRoom();

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly clock: Clock,
    private readonly log: AdmissionLog,
    /** Runs a callback at the end of this turn of the event loop. */
    private readonly atEndOfTurn: (callback: () => void) => void = setImmediate,
  ) {}

  /** Unauthenticated connections held now, vouched for or not. */
  get size(): number {
    return this.byKey.size;
  }

  /** A TCP connection was accepted: starts its deadline; room is made at the end of this turn if needed. */
  admit(socket: AdmittedSocket): void {
    if (socket.remoteAddress === undefined) {
      // The peer is already gone; there is nothing to admit.
      socket.destroy();
      return;
    }
    const pending: Pending = {
      socket,
      key: socketKey(socket),
      group: addressGroup(socket.remoteAddress),
      label: `${socket.remoteAddress}:${socket.remotePort}`,
      seq: this.nextSeq++,
      acceptedAtMs: this.clock.now(),
      deadline: this.clock.setTimeout(() => this.drop(pending, `no handshake within ${this.limits.deadlineMs} ms of connecting`), this.limits.deadlineMs),
      stage: 'unknown',
    };
    // A closed connection whose close event has not come yet may have had this address and port.
    const stale = this.byKey.get(pending.key);
    if (stale) this.forget(stale);
    this.byKey.set(pending.key, pending);
    this.joinGroup(pending);
    socket.once('close', () => this.forget(pending));
    if (!this.roomScheduled) {
      this.roomScheduled = true;
      this.atEndOfTurn(this.makeRoomNow);
    }
  }

  /**
   * The HTTP request of the connection on `key` (see `socketKey`) was read: with a good ticket it is
   * vouched for and strangers can no longer take its place; without one it is a stranger.
   */
  requestRead(key: string, ticketHonoured: boolean): void {
    const pending = this.byKey.get(key);
    if (!pending || pending.stage !== 'unknown') return;
    this.leaveGroup(pending);
    // The cap on connections vouched for is only ever reached with the cookie.
    if (ticketHonoured && this.vouchedCount < this.limits.maxConnections) {
      pending.stage = 'vouched';
      this.vouchedCount++;
      return;
    }
    pending.stage = 'stranger';
    this.joinGroup(pending);
  }

  /** The connection on `key` proved the cookie: it leaves admission control. */
  release(key: string): void {
    const pending = this.byKey.get(key);
    if (pending) this.forget(pending);
  }

  /** Closes every unauthenticated connection, without a log line each (the node is stopping). */
  closeAll(): void {
    for (const pending of [...this.byKey.values()]) {
      this.forget(pending);
      pending.socket.destroy();
    }
  }

  private makeRoom(): void {
    this.roomScheduled = false;
    const nowMs = this.clock.now();
    const graceStartMs = nowMs - Math.min(UNREAD_GRACE_MS, this.limits.deadlineMs / 2);
    for (const [address, group] of this.byGroup) {
      for (let victim = group.victim(graceStartMs); victim && group.size > this.limits.maxPerAddress; victim = group.victim(graceStartMs)) {
        this.drop(victim, `making room: ${group.size} unauthenticated connections from ${address}`);
      }
    }
    this.shrinkTo(this.limits.maxConnections, graceStartMs);
    this.shrinkTo(2 * this.limits.maxConnections, Number.POSITIVE_INFINITY);
  }

  /** Evicts, address that holds the most first, until at most `places` are held or no one may be evicted. */
  private shrinkTo(places: number, graceStartMs: number): void {
    while (this.byKey.size - this.vouchedCount > places) {
      let chosen: { readonly group: Group; readonly victim: Pending } | undefined;
      for (const group of this.byGroup.values()) {
        const victim = group.victim(graceStartMs);
        if (!victim) continue;
        if (!chosen || group.size > chosen.group.size || (group.size === chosen.group.size && victim.seq < chosen.victim.seq)) chosen = { group, victim };
      }
      if (!chosen) return;
      const { group, victim } = chosen;
      this.drop(victim, `making room: ${this.byKey.size - this.vouchedCount} unauthenticated connections, ${group.size} of them from ${victim.group}`);
    }
  }

  private drop(pending: Pending, reason: string): void {
    this.forget(pending);
    pending.socket.destroy();
    this.log.warn('closing cluster connection', { peer: pending.label, reason });
  }

  private forget(pending: Pending): void {
    if (this.byKey.get(pending.key) !== pending) return;
    pending.deadline.cancel();
    this.byKey.delete(pending.key);
    if (pending.stage === 'vouched') this.vouchedCount--;
    else this.leaveGroup(pending);
  }

  private joinGroup(pending: Pending): void {
    let group = this.byGroup.get(pending.group);
    if (!group) {
      group = new Group();
      this.byGroup.set(pending.group, group);
    }
    (pending.stage === 'stranger' ? group.strangers : group.unknown).add(pending);
  }

  private leaveGroup(pending: Pending): void {
    const group = this.byGroup.get(pending.group);
    if (!group) return;
    (pending.stage === 'stranger' ? group.strangers : group.unknown).delete(pending);
    if (group.size === 0) this.byGroup.delete(pending.group);
  }
}

function first(members: Set<Pending>): Pending | undefined {
  return members.values().next().value;
}

/**
 * Names one TCP connection the same way whether it is seen as the accepted socket or as the TLS socket
 * layered on it, so the upgrade and the handshake can be matched to the admitted connection.
 */
export function socketKey(socket: Pick<AdmittedSocket, 'remoteAddress' | 'remotePort' | 'localAddress' | 'localPort'>): string {
  return `${socket.localAddress}:${socket.localPort}<${socket.remoteAddress}:${socket.remotePort}`;
}

/** IPv4 addresses (also when mapped into IPv6) stand for themselves; IPv6 addresses for their /64. */
export function addressGroup(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const withoutZone = address.split('%')[0]!.toLowerCase();
  const halves = withoutZone.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  let groups = head;
  if (halves.length > 1) {
    const tail = halves[1] ? halves[1].split(':') : [];
    // A dotted IPv4 tail fills the last two groups.
    const tailGroups = tail.reduce((count, part) => count + (part.includes('.') ? 2 : 1), 0);
    groups = [...head, ...Array<string>(Math.max(0, 8 - head.length - tailGroups)).fill('0'), ...tail];
  }
  const prefix = groups.slice(0, 4).map((part) => (/^[0-9a-f]{1,4}$/.test(part) ? Number.parseInt(part, 16).toString(16) : part));
  while (prefix.length < 4) prefix.push('0');
  return `${prefix.join(':')}::/64`;
}

/** The part of a socket `limitBytesBeforeHandshake` needs. */
export interface CountedSocket {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  pause(): unknown;
}

/**
 * Counts what an upgraded but unauthenticated connection sends and calls `exceeded` once it passes
 * `maxBytes`: the client owes one small handshake message, and must not make us buffer frames of up
 * to the frame limit before it has proved anything. Reading stops there. Returns what stops counting.
 */
export function limitBytesBeforeHandshake(socket: CountedSocket, maxBytes: number, exceeded: () => void): () => void {
  let receivedBytes = 0;
  let counting = true;
  const stop = (): void => {
    if (!counting) return;
    counting = false;
    socket.off('data', count);
  };
  function count(chunk: Buffer): void {
    if (!counting) return;
    receivedBytes += chunk.length;
    if (receivedBytes <= maxBytes) return;
    stop();
    socket.pause();
    exceeded();
  }
  socket.on('data', count);
  return stop;
}
