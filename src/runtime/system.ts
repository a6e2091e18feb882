/**
 * One node's actor system: the registry of cells by path, dispatch and ask for local and remote refs
 * alike, the table of pending asks, node up/down events, and the root supervisor.
 */
import { randomInt } from 'node:crypto';
import { start as nactStart } from 'nact';
import type { Ref } from 'nact';
import type { ActorApi } from './actor.js';
import { ActorCell, type ActorStats, type CellHost } from './cell.js';
import type { Clock, TimerHandle } from './clock.js';
import { runtimeFailure, type RuntimeFailure, type RuntimeFailureCode } from './failures.js';
import { GuardedMessage, unguarded } from './guarded.js';
import type { Logger } from './logger.js';
import { replyToOf, type ActorRef, type Message, type ReplyTo } from './refs.js';
import {
  supervisorBehavior,
  type ChildSpec,
  type SupervisorHost,
  type SupervisorMessage,
  type SupervisorSpec,
} from './supervisor.js';

/** What the system needs from a cluster transport; implemented by remote/transport.ts. */
export interface RemoteLink {
  /** Queues a message for an actor on another node; false when the node cannot be reached now. */
  sendMessage(node: string, path: string, message: unknown): SendOutcome;
  /** Queues the answer to an ask that came from another node. */
  sendReply(node: string, ask: number, value: unknown): SendOutcome;
  /** Resolves once the link to `node` has room for `sizeBytes` more (backpressure for large transfers). */
  whenWritable(node: string, sizeBytes: number): Promise<void>;
}

export type SendOutcome = 'sent' | 'unreachable' | 'too-large' | 'overloaded';

export type NodeEvent = { readonly type: 'nodeup'; readonly node: string } | { readonly type: 'nodedown'; readonly node: string };

export interface SystemLimits {
  /** Asks waiting for an answer at once; more are refused with Overloaded. */
  readonly maxPendingAsks: number;
  /** Messages a restarting actor keeps for its next incarnation. */
  readonly maxHeldMessages: number;
  /** Messages waiting in one running actor's mailbox; more are refused with Overloaded. */
  readonly maxMailboxMessages: number;
}

export const DEFAULT_SYSTEM_LIMITS: SystemLimits = { maxPendingAsks: 100_000, maxHeldMessages: 10_000, maxMailboxMessages: 100_000 };

export interface SystemOptions {
  readonly node: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly limits?: Partial<SystemLimits>;
  /**
   * The correlation id of this system's first ask; random by default. A node's asks then take other
   * ids after each restart, so that an answer still on its way to the process before cannot settle an
   * ask of the process after it, sent to the same node under the same id.
   */
  readonly firstAsk?: number;
}

/** Default first ask ids are below this, so that ids stay safe integers however many asks follow. */
const FIRST_ASK_RANGE = 2 ** 40;

interface PendingAsk {
  readonly node: string;
  readonly resolve: (value: unknown) => void;
  readonly timer: TimerHandle;
}

export class ActorSystem implements ActorApi, CellHost, SupervisorHost {
  readonly node: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly limits: SystemLimits;
  readonly api: ActorApi = this;
  private readonly nactSystem: Ref<unknown>;
  private readonly cells = new Map<string, ActorCell>();
  private readonly pending = new Map<number, PendingAsk>();
  private readonly nodeListeners = new Set<(event: NodeEvent) => void>();
  private nextAsk: number;
  private remote: RemoteLink | undefined;
  private root: ActorCell | undefined;
  private rootGaveUp: ((reason: unknown) => void) | undefined;
  private stopped = false;

  constructor(options: SystemOptions) {
    this.node = options.node;
    this.clock = options.clock;
    this.logger = options.logger;
    this.limits = { ...DEFAULT_SYSTEM_LIMITS, ...options.limits };
    this.nextAsk = options.firstAsk ?? 1 + randomInt(FIRST_ASK_RANGE);
    this.nactSystem = nactStart();
  }

  get maxHeldMessages(): number {
    return this.limits.maxHeldMessages;
  }

  get maxMailboxMessages(): number {
    return this.limits.maxMailboxMessages;
  }

  attachRemote(remote: RemoteLink): void {
    this.remote = remote;
  }

  /**
   * Starts the root supervisor at `/<name>`. `onGiveUp` runs when the root supervisor exhausts its
   * restart intensity: the node cannot heal itself and should exit so an outer supervisor restarts it.
   */
  async startRoot(name: string, spec: SupervisorSpec, onGiveUp: (reason: unknown) => void): Promise<ActorRef<SupervisorMessage>> {
    if (this.root) throw new Error('the root supervisor is already started');
    const cell = new ActorCell(this, `/${name}`, name, supervisorBehavior(spec, this) as never, undefined, this.logger);
    this.cells.set(cell.path, cell);
    this.root = cell;
    this.rootGaveUp = onGiveUp;
    await cell.start(this.nactSystem, 0);
    return cell.ref as ActorRef<SupervisorMessage>;
  }

  // ---- messaging ----

  dispatch<M extends Message>(ref: ActorRef<M>, message: M): void {
    if (ref.node === this.node) {
      this.deliverLocal(ref.path, message);
      return;
    }
    this.sendRemote(ref.node, ref.path, message);
  }

  ask<M extends Message, R>(ref: ActorRef<M>, build: (replyTo: ReplyTo<R>) => M, timeoutMs: number): Promise<R | RuntimeFailure> {
    if (this.pending.size >= this.limits.maxPendingAsks) {
      return Promise.resolve(runtimeFailure('Overloaded', `${this.pending.size} asks already pending on ${this.node}`));
    }
    const ask = this.nextAsk++;
    const message = build({ node: this.node, ask });
    return new Promise<R | RuntimeFailure>((resolve) => {
      const timer = this.clock.setTimeout(() => this.settle(ask, runtimeFailure('Timeout', `no answer from ${ref.path}@${ref.node} within ${timeoutMs} ms`)), timeoutMs);
      this.pending.set(ask, { node: ref.node, resolve: resolve as (value: unknown) => void, timer });
      this.dispatch(ref, message);
    });
  }

  /** Like `ask`, but first waits until the link to the target node has room for `sizeBytes`. */
  async askWhenWritable<M extends Message, R>(ref: ActorRef<M>, build: (replyTo: ReplyTo<R>) => M, timeoutMs: number, sizeBytes: number): Promise<R | RuntimeFailure> {
    if (ref.node !== this.node && this.remote) await this.remote.whenWritable(ref.node, sizeBytes);
    return this.ask(ref, build, timeoutMs);
  }

  reply<R>(replyTo: ReplyTo<R>, value: R): void {
    if (replyTo.node === this.node) {
      this.settle(replyTo.ask, value);
      return;
    }
    const outcome = this.remote ? this.remote.sendReply(replyTo.node, replyTo.ask, value) : 'unreachable';
    if (outcome !== 'sent') this.logger.debug('reply not sent', { node: replyTo.node, outcome });
  }

  failRequest(message: unknown, code: RuntimeFailureCode, text: string): void {
    const replyTo = replyToOf(unguarded(message));
    if (replyTo) this.reply(replyTo, runtimeFailure(code, text));
  }

  // ---- inbound from the transport ----

  /** A message from another node for a local actor; checked against what the actor accepts. */
  deliverFromRemote(fromNode: string, path: string, message: unknown): void {
    const cell = this.acceptingCell(path, message, 'refused a remote message', { from: fromNode });
    cell?.deliver(message);
  }

  /**
   * A message an operator sends to a local actor (through the node's info actor): checked like a
   * remote one, then handled guarded, so that whatever it holds cannot crash the actor.
   */
  deliverGuarded(path: string, message: unknown): void {
    const cell = this.acceptingCell(path, message, 'refused a delivered message', {});
    cell?.deliver(new GuardedMessage(message as Message));
  }

  /** An answer from another node to one of our asks; with `from`, only to an ask that was sent to that node. */
  deliverReply(ask: number, value: unknown, from?: string): void {
    if (from !== undefined && this.pending.get(ask)?.node !== from) {
      this.logger.warn('dropped an answer to an ask that was not sent to its sender', { from });
      return;
    }
    this.settle(ask, value);
  }

  // ---- node events ----

  onNodeEvent(listener: (event: NodeEvent) => void): () => void {
    this.nodeListeners.add(listener);
    return () => this.nodeListeners.delete(listener);
  }

  /** Called by the transport. A node that went down fails every ask pending on it at once. */
  nodeEvent(event: NodeEvent): void {
    if (event.type === 'nodedown') {
      for (const [ask, entry] of this.pending) {
        if (entry.node === event.node) this.settle(ask, runtimeFailure('NodeDown', `${event.node} is down`));
      }
    }
    for (const listener of this.nodeListeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error('node event listener failed', { error });
      }
    }
  }

  // ---- introspection ----

  listActors(): ActorStats[] {
    return [...this.cells.values()].map((cell) => cell.stats());
  }

  get pendingAsks(): number {
    return this.pending.size;
  }

  // ---- CellHost and SupervisorHost ----

  cellAt(path: string): ActorCell | undefined {
    return this.cells.get(path);
  }

  childCell(parent: ActorCell, spec: ChildSpec): ActorCell {
    const path = `${parent.path}/${spec.name}`;
    const previous = this.cells.get(path);
    if (previous && previous.status !== 'stopped') this.logger.warn('replacing a live actor cell', { path, status: previous.status });
    const behavior = spec.kind === 'worker' ? spec.behavior : (supervisorBehavior(spec.spec, this) as never);
    const cell = new ActorCell(this, path, spec.name, behavior, parent, this.logger);
    this.cells.set(path, cell);
    return cell;
  }

  removeCell(cell: ActorCell): void {
    if (this.cells.get(cell.path) === cell) this.cells.delete(cell.path);
  }

  cellCrashed(cell: ActorCell, incarnation: number, reason: unknown): void {
    if (cell.parent) {
      cell.parent.deliver({ type: 'child_crashed', name: cell.name, incarnation, reason: describeReason(reason) } satisfies SupervisorMessage);
      return;
    }
    if (cell === this.root && !this.stopped) {
      this.logger.error('root supervisor gave up', { reason: describeReason(reason) });
      this.rootGaveUp?.(reason);
    }
  }

  // ---- shutdown ----

  /** Stops the whole tree in order, then refuses every pending ask. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.root) await this.root.terminate('stopped', 30_000);
    for (const ask of [...this.pending.keys()]) this.settle(ask, runtimeFailure('NoProc', `${this.node} is stopping`));
  }

  // ---- internals ----

  /** The cell at `path` if it accepts `message` from outside; otherwise the asker is answered and undefined returned. */
  private acceptingCell(path: string, message: unknown, refusal: string, fields: Record<string, unknown>): ActorCell | undefined {
    const cell = this.cells.get(path);
    if (!cell) {
      this.failRequest(message, 'NoProc', `no actor at ${path} on ${this.node}`);
      return undefined;
    }
    const type = typeof message === 'object' && message !== null ? (message as { type?: unknown }).type : undefined;
    if (typeof type !== 'string' || !(cell.behavior.accepts as readonly string[]).includes(type)) {
      this.logger.warn(refusal, { ...fields, path, type: typeof type === 'string' ? type : typeof message });
      this.failRequest(message, 'BadMessage', `${path} does not accept ${String(type)}`);
      return undefined;
    }
    return cell;
  }

  private deliverLocal(path: string, message: unknown): void {
    const cell = this.cells.get(path);
    if (cell) cell.deliver(message);
    else this.failRequest(message, 'NoProc', `no actor at ${path} on ${this.node}`);
  }

  private sendRemote(node: string, path: string, message: unknown): void {
    const outcome: SendOutcome = this.remote ? this.remote.sendMessage(node, path, message) : 'unreachable';
    switch (outcome) {
      case 'sent':
        return;
      case 'unreachable':
        this.failRequest(message, 'NodeDown', `${node} is not reachable from ${this.node}`);
        return;
      case 'too-large':
        this.failRequest(message, 'TooLarge', `message to ${path}@${node} exceeds the frame limit`);
        return;
      case 'overloaded':
        this.failRequest(message, 'Overloaded', `the link to ${node} is not draining`);
        return;
    }
  }

  private settle(ask: number, value: unknown): void {
    const entry = this.pending.get(ask);
    if (!entry) return;
    this.pending.delete(ask);
    entry.timer.cancel();
    entry.resolve(value);
  }
}

function describeReason(reason: unknown): string {
  return reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
}
