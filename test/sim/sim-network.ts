/**
 * The cluster transport's contract (RemoteLink, plus who is up) in memory, driven by a seeded scheduler:
 * every message and reply waits in one pool until the scheduler delivers it, in an order, with losses,
 * duplicates and partitions that the seed decides. Payloads go through the cluster's CBOR codec, as on
 * the wire, so nothing is shared between nodes. The pool is kept in a canonical order (by sender,
 * receiver and content, not by when a message was sent), so the same seed makes the same choices
 * however the event loop interleaved the sends of one step.
 */
import { createHash } from 'node:crypto';
import { decodeCbor, encodeCbor } from '../../src/protocol/cluster/cbor.js';
import type { ActorSystem, RemoteLink, SendOutcome } from '../../src/runtime/system.js';

export interface NetworkFaults {
  /** Chance that a message or reply is lost. */
  readonly drop: number;
  /** Chance that one is delivered twice. */
  readonly duplicate: number;
}

interface InFlight {
  readonly from: string;
  readonly to: string;
  readonly kind: 'message' | 'reply';
  readonly path: string;
  readonly ask: number;
  readonly payload: Buffer;
  /** Canonical order: sender, receiver, kind, path and content without the ask id. */
  readonly key: string;
}

export class SimNetwork {
  private readonly systems = new Map<string, ActorSystem>();
  private readonly cuts = new Set<string>();
  private pool: InFlight[] = [];
  /** Items were sent since the pool was last put in canonical order. */
  private unsorted = false;
  delivered = 0;
  dropped = 0;

  /** Faults start once the cluster has formed (`injectFaults`). */
  private faults: NetworkFaults = { drop: 0, duplicate: 0 };

  constructor(private readonly random: () => number) {}

  injectFaults(faults: NetworkFaults): void {
    this.faults = faults;
  }

  /** The link a node's actor system sends through. */
  linkOf(node: string): RemoteLink & { isUp(peer: string): boolean; isKnownDown(peer: string): boolean } {
    return {
      sendMessage: (to, path, message) => this.send(node, to, 'message', path, 0, message),
      sendReply: (to, ask, value) => this.send(node, to, 'reply', '', ask, value),
      whenWritable: () => Promise.resolve(),
      isUp: (peer) => this.reachable(node, peer),
      isKnownDown: (peer) => peer !== node && !this.reachable(node, peer),
    };
  }

  /** A node came up (started or restarted): its peers learn it, as a transport's link coming up. */
  attach(node: string, system: ActorSystem): void {
    this.systems.set(node, system);
    for (const [peer, other] of this.systems) {
      if (peer === node || !this.reachable(node, peer)) continue;
      other.nodeEvent({ type: 'nodeup', node });
      system.nodeEvent({ type: 'nodeup', node: peer });
    }
  }

  /** A node crashed: what was on its way to or from it is lost, and its peers see it go down. */
  detach(node: string): void {
    this.systems.delete(node);
    this.pool = this.pool.filter((item) => item.to !== node && item.from !== node);
    for (const other of this.systems.values()) other.nodeEvent({ type: 'nodedown', node });
  }

  isAttached(node: string): boolean {
    return this.systems.has(node);
  }

  /**
   * Cuts the link between two nodes both ways; both see each other go down. What was on its way
   * between them is lost, as with a connection that breaks: nothing sent before the break arrives after
   * the link heals.
   */
  partition(a: string, b: string): void {
    if (a === b || this.cuts.has(cutKey(a, b))) return;
    this.cuts.add(cutKey(a, b));
    this.pool = this.pool.filter((item) => cutKey(item.from, item.to) !== cutKey(a, b));
    this.systems.get(a)?.nodeEvent({ type: 'nodedown', node: b });
    this.systems.get(b)?.nodeEvent({ type: 'nodedown', node: a });
  }

  healAll(): void {
    const cuts = [...this.cuts];
    this.cuts.clear();
    for (const cut of cuts) {
      const [a, b] = cut.split('|') as [string, string];
      if (this.systems.has(a) && this.systems.has(b)) {
        this.systems.get(a)!.nodeEvent({ type: 'nodeup', node: b });
        this.systems.get(b)!.nodeEvent({ type: 'nodeup', node: a });
      }
    }
  }

  get partitioned(): boolean {
    return this.cuts.size > 0;
  }

  get inFlight(): number {
    return this.pool.length;
  }

  /** Delivers one message the seed picks (or loses it); false when nothing is in flight. */
  deliverOne(): boolean {
    if (this.pool.length === 0) return false;
    this.sortPool();
    const index = Math.floor(this.random() * this.pool.length);
    const [item] = this.pool.splice(index, 1);
    if (this.random() < this.faults.drop || !this.reachable(item!.from, item!.to)) {
      this.dropped++;
      return true;
    }
    if (this.random() < this.faults.duplicate) {
      this.pool.push(item!);
      this.unsorted = true;
    }
    const target = this.systems.get(item!.to);
    if (!target) return true;
    this.delivered++;
    const value = decodeCbor(item!.payload);
    if (item!.kind === 'message') target.deliverFromRemote(item!.from, item!.path, value);
    else target.deliverReply(item!.ask, value);
    return true;
  }

  private send(from: string, to: string, kind: 'message' | 'reply', path: string, ask: number, value: unknown): SendOutcome {
    if (!this.reachable(from, to)) return 'unreachable';
    const payload = encodeCbor(value);
    const content = kind === 'message' ? encodeCbor(withoutAsk(value)) : payload;
    const key = `${from}>${to}|${kind}|${path}|${createHash('sha1').update(content).digest('hex')}`;
    this.pool.push({ from, to, kind, path, ask, payload, key });
    this.unsorted = true;
    return 'sent';
  }

  private reachable(from: string, to: string): boolean {
    return this.systems.has(from) && this.systems.has(to) && !this.cuts.has(cutKey(from, to));
  }

  /** Items sent since the last pick join the pool in canonical order. */
  private sortPool(): void {
    if (!this.unsorted) return;
    this.pool.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.unsorted = false;
  }
}

function cutKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** A request without its reply address: two sends of one request differ only there. */
function withoutAsk(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !('replyTo' in value)) return value;
  const { replyTo: _replyTo, ...rest } = value as Record<string, unknown>;
  return rest;
}
