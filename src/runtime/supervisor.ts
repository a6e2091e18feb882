/**
 * OTP-style supervision on top of actor cells: the strategies one_for_one, one_for_all and rest_for_one,
 * restart intensity (more than `maxRestarts` restarts within `periodMs` and the supervisor gives up and
 * crashes itself, escalating to its own supervisor), and an exponential backoff between restarts.
 */
import type { ActorContext, Behavior } from './actor.js';
import type { ActorCell, AnyBehavior } from './cell.js';
import type { ActorRef, Message, ReplyTo } from './refs.js';

export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';

/** permanent: always restarted; temporary: never restarted (removed once it crashes). */
export type RestartType = 'permanent' | 'temporary';

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

export interface SupervisorSpec {
  readonly strategy: Strategy;
  readonly maxRestarts: number;
  readonly periodMs: number;
  readonly backoff?: BackoffOptions;
  /** Evaluated at every (re)start, so children that depend on current state are rebuilt from it. */
  readonly children: readonly ChildSpec[] | (() => readonly ChildSpec[]);
}

interface ChildSpecCommon {
  readonly name: string;
  readonly restart?: RestartType;
  readonly shutdownTimeoutMs?: number;
}

export interface WorkerSpec extends ChildSpecCommon {
  readonly kind: 'worker';
  readonly behavior: AnyBehavior;
}

export interface SupervisorChildSpec extends ChildSpecCommon {
  readonly kind: 'supervisor';
  readonly spec: SupervisorSpec;
}

export type ChildSpec = WorkerSpec | SupervisorChildSpec;

export function worker<S, M extends Message>(name: string, behavior: Behavior<S, M>, options: Omit<ChildSpecCommon, 'name'> = {}): WorkerSpec {
  return { kind: 'worker', name, behavior: behavior as unknown as AnyBehavior, ...options };
}

export function supervisor(name: string, spec: SupervisorSpec, options: Omit<ChildSpecCommon, 'name'> = {}): SupervisorChildSpec {
  return { kind: 'supervisor', name, spec, ...options };
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 10, maxMs: 5_000 };
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000;

export interface ChildInfo {
  readonly name: string;
  readonly kind: ChildSpec['kind'];
  readonly status: string;
  readonly incarnation: number;
}

export type StartChildReply = { ok: true; ref: ActorRef<Message> } | { ok: false; code: 'AlreadyStarted'; message: string };
export type TerminateChildReply = { ok: true } | { ok: false; code: 'NoSuchChild'; message: string };

export type SupervisorMessage =
  | { readonly type: 'child_crashed'; readonly name: string; readonly incarnation: number; readonly reason: string }
  | { readonly type: 'start_child'; readonly spec: ChildSpec; readonly replyTo: ReplyTo<StartChildReply> }
  | { readonly type: 'terminate_child'; readonly name: string; readonly replyTo: ReplyTo<TerminateChildReply> }
  | { readonly type: 'which_children'; readonly replyTo: ReplyTo<readonly ChildInfo[]> };

/** What a supervisor needs from the actor system: creating child cells under its own. */
export interface SupervisorHost {
  cellAt(path: string): ActorCell | undefined;
  childCell(parent: ActorCell, spec: ChildSpec): ActorCell;
  removeCell(cell: ActorCell): void;
}

export class SupervisorGaveUp extends Error {
  constructor(path: string, restarts: number, periodMs: number, lastReason: string) {
    super(`${path}: ${restarts} restarts within ${periodMs} ms (last: ${lastReason}); giving up`);
    this.name = 'SupervisorGaveUp';
  }
}

interface Child {
  readonly spec: ChildSpec;
  readonly cell: ActorCell;
}

interface SupervisorState {
  readonly self: ActorCell;
  readonly children: Child[];
  /** Times of the restarts within the current intensity period, oldest first. */
  readonly restartTimesMs: number[];
}

export function supervisorBehavior(spec: SupervisorSpec, host: SupervisorHost): Behavior<SupervisorState, SupervisorMessage> {
  const backoff = spec.backoff ?? DEFAULT_BACKOFF;

  return {
    accepts: ['which_children'],

    async init(ctx) {
      const self = host.cellAt(ctx.self.path);
      if (!self?.nactRef) throw new Error(`supervisor ${ctx.self.path} has no cell`);
      const state: SupervisorState = { self, children: [], restartTimesMs: [] };
      const specs = typeof spec.children === 'function' ? spec.children() : spec.children;
      for (const childSpec of specs) {
        const child = { spec: childSpec, cell: host.childCell(self, childSpec) };
        state.children.push(child);
        await child.cell.start(self.nactRef, 0);
      }
      return state;
    },

    async receive(state, message, ctx) {
      switch (message.type) {
        case 'child_crashed':
          await onChildCrashed(state, message, ctx);
          return state;
        case 'start_child':
          ctx.system.reply(message.replyTo, await startChild(state, message.spec));
          return state;
        case 'terminate_child':
          ctx.system.reply(message.replyTo, await terminateChild(state, message.name));
          return state;
        case 'which_children':
          ctx.system.reply(message.replyTo, state.children.map(describe));
          return state;
      }
    },

    async terminate(state) {
      await stopAll(state.children, 'stopped');
      for (const child of state.children) host.removeCell(child.cell);
    },
  };

  async function onChildCrashed(state: SupervisorState, message: Extract<SupervisorMessage, { type: 'child_crashed' }>, ctx: ActorContext<SupervisorMessage>): Promise<void> {
    const index = state.children.findIndex((child) => child.spec.name === message.name);
    const crashed = state.children[index];
    if (!crashed || crashed.cell.incarnation !== message.incarnation) return;

    if (crashed.spec.restart === 'temporary') {
      state.children.splice(index, 1);
      await crashed.cell.terminate('stopped', 0);
      host.removeCell(crashed.cell);
      return;
    }

    const nowMs = ctx.clock.now();
    const times = state.restartTimesMs;
    times.push(nowMs);
    while (times.length > 0 && times[0]! <= nowMs - spec.periodMs) times.shift();
    if (times.length > spec.maxRestarts) {
      ctx.log.error('restart intensity reached; supervisor gives up', { child: message.name, restarts: times.length, periodMs: spec.periodMs });
      await stopAll(state.children, 'stopped');
      throw new SupervisorGaveUp(ctx.self.path, times.length, spec.periodMs, message.reason);
    }

    const delayMs = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (times.length - 1));
    const toRestart = affectedBy(state.children, index);
    ctx.log.warn('restarting after crash', { child: message.name, strategy: spec.strategy, restarting: toRestart.map((c) => c.spec.name), delayMs });
    await stopAll(toRestart.filter((child) => child !== crashed), 'restarting');
    const parentNact = state.self.nactRef;
    if (!parentNact) return;
    for (const child of toRestart) void child.cell.start(parentNact, delayMs);
  }

  function affectedBy(children: readonly Child[], index: number): Child[] {
    switch (spec.strategy) {
      case 'one_for_one':
        return [children[index]!];
      case 'one_for_all':
        return [...children];
      case 'rest_for_one':
        return children.slice(index);
    }
  }

  async function startChild(state: SupervisorState, childSpec: ChildSpec): Promise<StartChildReply> {
    if (state.children.some((child) => child.spec.name === childSpec.name)) {
      return { ok: false, code: 'AlreadyStarted', message: `${childSpec.name} is already a child of ${state.self.path}` };
    }
    const child = { spec: childSpec, cell: host.childCell(state.self, childSpec) };
    state.children.push(child);
    await child.cell.start(state.self.nactRef!, 0);
    return { ok: true, ref: child.cell.ref };
  }

  async function terminateChild(state: SupervisorState, name: string): Promise<TerminateChildReply> {
    const index = state.children.findIndex((child) => child.spec.name === name);
    const child = state.children[index];
    if (!child) return { ok: false, code: 'NoSuchChild', message: `${state.self.path} has no child ${name}` };
    state.children.splice(index, 1);
    await child.cell.terminate('stopped', child.spec.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS);
    host.removeCell(child.cell);
    return { ok: true };
  }
}

/** Stops children in reverse start order, as OTP does, so later children never outlive what they use. */
async function stopAll(children: readonly Child[], then: 'stopped' | 'restarting'): Promise<void> {
  for (const child of [...children].reverse()) {
    await child.cell.terminate(then, child.spec.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS);
  }
}

function describe(child: Child): ChildInfo {
  return { name: child.spec.name, kind: child.spec.kind, status: child.cell.status, incarnation: child.cell.incarnation };
}
