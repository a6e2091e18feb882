import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { ManualClock } from '../../../src/runtime/clock.js';
import { addressGroup, HandshakeAdmission, limitBytesBeforeHandshake, socketKey, UNREAD_GRACE_MS, type AdmissionLimits } from '../../../src/runtime/remote/admission.js';

/** Stands in for an accepted TCP socket: records whether it was destroyed, and closes when told. */
class FakeSocket extends EventEmitter {
  destroyed = false;
  readonly localAddress = '127.0.0.1';
  readonly localPort = 4000;
  constructor(readonly remoteAddress: string, readonly remotePort: number) {
    super();
  }

  destroy(): void {
    this.destroyed = true;
  }

  close(): void {
    this.emit('close');
  }
}

describe('runtime/remote/admission', () => {
  let clock: ManualClock;
  let logged: Array<{ peer: string; reason: string }>;
  let nextPort: number;
  let endOfTurn: Array<() => void>;

  beforeEach(() => {
    clock = new ManualClock();
    logged = [];
    nextPort = 10_000;
    endOfTurn = [];
  });

  function admission(limits: Partial<AdmissionLimits> = {}): HandshakeAdmission {
    const log = { warn: (_message: string, fields?: object) => logged.push(fields as { peer: string; reason: string }) };
    return new HandshakeAdmission({ maxConnections: 8, maxPerAddress: 4, deadlineMs: 3_000, ...limits }, clock, log, (callback) => endOfTurn.push(callback));
  }

  /** Ends this turn of the event loop, when room is made. */
  function endTurn(): void {
    for (const callback of endOfTurn.splice(0)) callback();
  }

  /**
   * A connection from `address`, accepted in a turn of its own; a stranger's request (no ticket) is read in
   * that turn, an unknown one's is not.
   */
  function arrive(pool: HandshakeAdmission, address: string, as: 'stranger' | 'unknown' = 'stranger'): FakeSocket {
    const socket = new FakeSocket(address, nextPort++);
    pool.admit(socket);
    if (as === 'stranger') pool.requestRead(socketKey(socket), false);
    endTurn();
    return socket;
  }

  it('evicts the oldest stranger of an address at its cap, and only that address', () => {
    const pool = admission();
    const other = arrive(pool, '10.0.0.2');
    const crowd = [...Array(4).keys()].map(() => arrive(pool, '10.0.0.1'));
    const newcomers = [...Array(3).keys()].map(() => arrive(pool, '10.0.0.1'));
    expect(crowd.map((socket) => socket.destroyed)).to.deep.equal([true, true, true, false]);
    expect(newcomers.some((socket) => socket.destroyed)).to.equal(false);
    expect(other.destroyed).to.equal(false);
    expect(pool.size).to.equal(5);
    expect(logged[0]).to.deep.equal({ peer: `10.0.0.1:${crowd[0]!.remotePort}`, reason: 'making room: 5 unauthenticated connections from 10.0.0.1' });
  });

  it('when full, takes the room from the address that holds the most, oldest first, and always admits the newcomer', () => {
    const pool = admission({ maxConnections: 6, maxPerAddress: 100 });
    const a = [arrive(pool, '10.0.0.1'), arrive(pool, '10.0.0.1')];
    const b = [arrive(pool, '10.0.0.2'), arrive(pool, '10.0.0.2'), arrive(pool, '10.0.0.2')];
    const c = arrive(pool, '10.0.0.3');
    const d = arrive(pool, '10.0.0.4');
    expect(b[0]!.destroyed, 'the oldest of the largest holder').to.equal(true);
    expect([...a, b[1]!, b[2]!, c, d].some((socket) => socket.destroyed)).to.equal(false);
    // Two addresses now hold two each: the one whose oldest came first gives way.
    const e = arrive(pool, '10.0.0.5');
    expect(a[0]!.destroyed).to.equal(true);
    expect([a[1]!, b[1]!, b[2]!, c, d, e].some((socket) => socket.destroyed)).to.equal(false);
    expect(pool.size).to.equal(6);
  });

  it('lets a stranger on a flooded address live through maxPerAddress - 1 later arrivals', () => {
    const pool = admission({ maxConnections: 100, maxPerAddress: 16 });
    for (let i = 0; i < 50; i++) arrive(pool, '127.0.0.1');
    const newcomer = arrive(pool, '127.0.0.1');
    for (let i = 0; i < 15; i++) arrive(pool, '127.0.0.1');
    expect(newcomer.destroyed).to.equal(false);
    arrive(pool, '127.0.0.1');
    expect(newcomer.destroyed).to.equal(true);
  });

  it('keeps a connection with a good ticket out of the pool, but not past its deadline', () => {
    const pool = admission({ maxConnections: 4, maxPerAddress: 4 });
    const peer = arrive(pool, '127.0.0.1', 'unknown');
    pool.requestRead(socketKey(peer), true);
    for (let i = 0; i < 100; i++) arrive(pool, '127.0.0.1');
    expect(peer.destroyed).to.equal(false);
    expect(pool.size).to.equal(5);
    clock.advance(3_000);
    expect(peer.destroyed).to.equal(true);
  });

  it('evicts strangers before connections whose request has not been read', () => {
    const pool = admission({ maxConnections: 100, maxPerAddress: 4 });
    const slowPeer = arrive(pool, '127.0.0.1', 'unknown');
    clock.advance(UNREAD_GRACE_MS);
    const strangers = [...Array(100).keys()].map(() => arrive(pool, '127.0.0.1'));
    expect(slowPeer.destroyed).to.equal(false);
    expect(strangers.filter((socket) => !socket.destroyed)).to.have.length(3);
    // Its request arrives without a ticket: it joins the strangers, last in line.
    pool.requestRead(socketKey(slowPeer), false);
    for (let i = 0; i < 3; i++) arrive(pool, '127.0.0.1');
    expect(slowPeer.destroyed).to.equal(false);
    arrive(pool, '127.0.0.1');
    expect(slowPeer.destroyed).to.equal(true);
  });

  it('gives a connection time to send its request, within twice the places, before it can be evicted', () => {
    const pool = admission({ maxConnections: 8, maxPerAddress: 4, deadlineMs: 60_000 });
    const silent = [...Array(12).keys()].map(() => arrive(pool, '10.0.0.1', 'unknown'));
    expect(silent.some((socket) => socket.destroyed), 'within the grace period').to.equal(false);
    clock.advance(UNREAD_GRACE_MS);
    const late = arrive(pool, '10.0.0.1', 'unknown');
    expect(silent.map((socket) => socket.destroyed)).to.deep.equal([...Array(9).fill(true), false, false, false]);
    expect(pool.size).to.equal(4);
    // A burst from another address: first those past their grace make room, then, since no more than
    // twice maxConnections are kept however young, the burst's own oldest.
    const burst = [...Array(20).keys()].map(() => arrive(pool, '10.0.0.2', 'unknown'));
    expect(silent.every((socket) => socket.destroyed)).to.equal(true);
    expect(late.destroyed).to.equal(false);
    expect(burst.map((socket) => socket.destroyed)).to.deep.equal([...Array(5).fill(true), ...Array(15).fill(false)]);
    expect(pool.size).to.equal(16);
  });

  it('closes a connection still unauthenticated at the deadline, and forgets released and closed ones', () => {
    const pool = admission();
    const late = arrive(pool, '10.0.0.1');
    const proven = arrive(pool, '10.0.0.1');
    const gone = arrive(pool, '10.0.0.1');
    pool.release(socketKey(proven));
    gone.close();
    expect(pool.size).to.equal(1);
    clock.advance(2_999);
    expect(late.destroyed).to.equal(false);
    clock.advance(1);
    expect(late.destroyed).to.equal(true);
    expect(proven.destroyed || gone.destroyed).to.equal(false);
    expect(logged).to.deep.equal([{ peer: `10.0.0.1:${late.remotePort}`, reason: 'no handshake within 3000 ms of connecting' }]);
    expect(pool.size).to.equal(0);
    expect(clock.pendingTimers).to.equal(0);
  });

  it('closes everything on closeAll without a line each', () => {
    const pool = admission();
    const sockets = [arrive(pool, '10.0.0.1'), arrive(pool, '10.0.0.2')];
    pool.closeAll();
    expect(sockets.every((socket) => socket.destroyed)).to.equal(true);
    expect(pool.size).to.equal(0);
    expect(logged).to.deep.equal([]);
    expect(clock.pendingTimers).to.equal(0);
  });

  it('counts IPv6 addresses by /64 and IPv4-mapped addresses as IPv4', () => {
    expect(addressGroup('10.1.2.3')).to.equal('10.1.2.3');
    expect(addressGroup('::ffff:10.1.2.3')).to.equal('10.1.2.3');
    expect(addressGroup('2001:db8:1:2:3:4:5:6')).to.equal('2001:db8:1:2::/64');
    expect(addressGroup('2001:db8:1:2::99')).to.equal('2001:db8:1:2::/64');
    expect(addressGroup('2001:0DB8:0001:0002:ffff::1')).to.equal('2001:db8:1:2::/64');
    expect(addressGroup('2001:db8::1')).to.equal('2001:db8:0:0::/64');
    expect(addressGroup('::1')).to.equal('0:0:0:0::/64');
    expect(addressGroup('fe80::1%eth0')).to.equal('fe80:0:0:0::/64');
    expect(addressGroup('64:ff9b::10.1.2.3')).to.equal('64:ff9b:0:0::/64');
    const pool = admission({ maxPerAddress: 2 });
    const first = arrive(pool, '2001:db8:1:2::1');
    arrive(pool, '2001:db8:1:2::2');
    arrive(pool, '2001:db8:1:2:ffff::3');
    expect(first.destroyed).to.equal(true);
  });

  it('stops a client that sends more than its handshake before it is authenticated', () => {
    const socket = new EventEmitter() as EventEmitter & { pause(): void; paused: boolean };
    socket.paused = false;
    socket.pause = () => {
      socket.paused = true;
    };
    let exceeded = 0;
    const stop = limitBytesBeforeHandshake(socket, 100, () => exceeded++);
    socket.emit('data', Buffer.alloc(60));
    socket.emit('data', Buffer.alloc(40));
    expect(exceeded).to.equal(0);
    socket.emit('data', Buffer.alloc(1));
    socket.emit('data', Buffer.alloc(1000));
    expect(exceeded).to.equal(1);
    expect(socket.paused).to.equal(true);
    expect(socket.listenerCount('data')).to.equal(0);

    const authenticated = new EventEmitter() as EventEmitter & { pause(): void };
    authenticated.pause = () => expect.fail('an authenticated link is not paused');
    const release = limitBytesBeforeHandshake(authenticated, 100, () => exceeded++);
    release();
    authenticated.emit('data', Buffer.alloc(1_000_000));
    expect(exceeded).to.equal(1);
    stop();
  });
});
