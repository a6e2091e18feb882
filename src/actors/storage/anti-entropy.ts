/**
 * Anti-entropy: walks the ranges this node holds, one every few milliseconds, and reconciles each
 * with the range's other replicas. When a peer comes back up, the ranges shared with it are walked
 * first, without pause, so a restarted node converges quickly.
 *
 * Once a whole walk's worth of ranges in a row were found in step with their peers, the walk goes on at
 * the quiet pace (`antiEntropyQuietIntervalMs` between ranges): an idle cluster then costs next to
 * nothing, and divergence is still found within one slow walk. A range that needed repair, or a new
 * ring, brings back the quick pace; work for a peer back up or a recovery never waits for either.
 * While a rebalance runs the walk stays quick: a delete that races a range's hand-off can leave a new
 * holder with the version it deleted, and comparing ranges is what takes that version back.
 *
 * While a rebalance moves data, a range is not compared with a node that receives part of it: its
 * hand-off (handoff.ts) brings that data, and comparing meanwhile would send the same bytes twice.
 */
import { rangesOfNode, type RingRange } from '../../core/ring/ranges.js';
import { planRebalance } from '../../core/ring/rebalance.js';
import type { Behavior } from '../../runtime/actor.js';
import { runtimeFailure } from '../../runtime/failures.js';
import type { ReplyTo } from '../../runtime/refs.js';
import { SelfTimer } from '../../runtime/self-timer.js';
import type { AntiEntropyControl, AntiEntropyStats, RecoveryProgress } from '../../protocol/cluster/anti-entropy.js';
import type { NodeEvent } from '../../runtime/system.js';
import { reconcileRange } from './range-reconcile.js';
import type { StorageContext } from './storage-context.js';

export { ANTI_ENTROPY_PATH, antiEntropyRef, type AntiEntropyStats } from '../../protocol/cluster/anti-entropy.js';

export type AntiEntropyMessage =
  | AntiEntropyControl
  | { readonly type: 'tick' }
  /**
   * `compared`: peers the range was compared with (none when every other holder was down or failed);
   * `missed`: the peers it could not be compared with.
   */
  | { readonly type: 'round_done'; readonly synced: number; readonly compared: number; readonly missed: readonly string[] }
  | { readonly type: 'node_event'; readonly event: NodeEvent };

interface Work {
  readonly range: RingRange;
  readonly peers: readonly string[];
  /** Part of this plan of this recovery: only then does its progress count the round. */
  readonly recovery?: RecoveryWork;
}

interface RecoveryWork {
  readonly of: Recovery;
  readonly plan: number;
  /** Earlier rounds of this range that missed peers, and whether any of them compared it with one. */
  readonly retries: number;
  readonly compared: boolean;
}

/**
 * A recovery's range whose round missed a peer (down, or restarted and not serving yet: a wiped node
 * that recover-node is to refill is often just that) is compared with it again, after
 * `recoveryRetryMs`, then twice that and so on, this many times before it counts as skipped.
 */
const RECOVERY_RETRIES = 5;

/** A recovery under way; `peers` empty for recover-consistency (every holder of every range). */
interface Recovery {
  kind: RecoveryProgress['kind'];
  readonly peers: Set<string>;
  /** Bumped when a new ring re-plans it: rounds of an earlier plan no longer count. */
  plan: number;
  ranges: number;
  rangesDone: number;
  rangesSkipped: number;
  keysSynced: number;
  readonly startedAtMs: number;
  finishedAtMs?: number;
}

interface AntiEntropyState {
  ringChecksum: number;
  /** The rings the ranges below were worked out from: current and previous checksums. */
  ringShape: string;
  ranges: RingRange[];
  /** By range index: nodes that receive part of that range in the rebalance in progress. */
  receiving: Map<number, Set<string>>;
  cursor: number;
  /** Ranges to compare with a peer that just came back, ahead of the regular walk. */
  urgent: Work[];
  /** Recovery ranges to compare again with the peers their round missed, each once its time comes. */
  retries: Array<{ readonly work: Work; readonly atMs: number }>;
  busy: boolean;
  /** The work of the round under way. */
  current: Work | undefined;
  recovery: Recovery | undefined;
  readonly timer: SelfTimer<AntiEntropyMessage>;
  roundsDone: number;
  keysSynced: number;
  /** Rounds in a row that compared a range with a peer and found nothing to repair. */
  inStepInRow: number;
  /** The ring has a previous one: a rebalance is moving data. */
  rebalancing: boolean;
}

export interface AntiEntropyDeps {
  readonly watchNodes: (listener: (event: NodeEvent) => void) => () => void;
}

export function antiEntropyBehavior(context: StorageContext, deps: AntiEntropyDeps): Behavior<AntiEntropyState, AntiEntropyMessage> {
  const refreshRanges = (state: AntiEntropyState, nowMs: number): void => {
    const snapshot = context.ringView.current;
    // A rebalance that ends keeps the ring but drops the previous one: what is skipped changes then too.
    const shape = `${snapshot?.checksum ?? 0}:${snapshot?.previous?.checksum ?? ''}`;
    if (!snapshot || shape === state.ringShape) return;
    state.ringShape = shape;
    state.ringChecksum = snapshot.checksum;
    state.ranges = rangesOfNode(snapshot.current, context.node, snapshot.doc.settings.n);
    state.receiving = new Map();
    if (snapshot.previous) {
      for (const move of planRebalance(snapshot.previous, snapshot.current, snapshot.doc.settings.n)) {
        const nodes = state.receiving.get(move.rangeIndex) ?? new Set<string>();
        for (const node of move.added) nodes.add(node);
        state.receiving.set(move.rangeIndex, nodes);
      }
    }
    state.cursor = 0;
    state.urgent = [];
    state.retries = [];
    state.inStepInRow = 0;
    state.rebalancing = Boolean(snapshot.previous);
    // A recovery goes on over every range of the new ring; the ranges it counted so far stay counted.
    const recovery = state.recovery;
    if (recovery && recovery.finishedAtMs === undefined) {
      recovery.plan++;
      recovery.ranges = recovery.rangesDone + recovery.rangesSkipped;
      planRecovery(state, recovery, recovery, nowMs);
    }
  };

  /** The pause before the next range of the regular walk. */
  const paceOf = (state: AntiEntropyState): number =>
    isQuiet(state) ? Math.max(context.options.antiEntropyQuietIntervalMs, context.options.antiEntropyIntervalMs) : context.options.antiEntropyIntervalMs;

  return {
    accepts: ['stats', 'recover_peer', 'full_pass'],
    init(ctx) {
      ctx.onEnd(deps.watchNodes((event) => ctx.system.dispatch(ctx.self, { type: 'node_event', event })));
      const state: AntiEntropyState = { ringChecksum: 0, ringShape: '', ranges: [], receiving: new Map(), cursor: 0, urgent: [], retries: [], busy: false, current: undefined, recovery: undefined, timer: new SelfTimer<AntiEntropyMessage>(ctx, { type: 'tick' }, context.pace), roundsDone: 0, keysSynced: 0, inStepInRow: 0, rebalancing: false };
      state.timer.schedule(context.options.antiEntropyIntervalMs);
      return state;
    },
    receive(state, message, ctx) {
      const schedule = (delayMs: number): void => state.timer.schedule(delayMs);
      switch (message.type) {
        case 'tick': {
          if (state.busy) return state;
          if (!context.presence.serving) {
            schedule(Math.max(1_000, context.options.antiEntropyIntervalMs));
            return state;
          }
          refreshRanges(state, ctx.clock.now());
          const work = state.urgent.shift() ?? dueRetry(state, ctx.clock.now()) ?? nextRegular(state);
          if (!work) {
            schedule(Math.max(1_000, context.options.antiEntropyIntervalMs));
            return state;
          }
          const receiving = state.receiving.get(work.range.index);
          // Holders receiving the range in a rebalance are left out on purpose; those known down are missed.
          const holders = receiving?.has(context.node) ? [] : work.peers.filter((peer) => peer !== context.node && !receiving?.has(peer));
          const peers = holders.filter((peer) => !context.isKnownDown(peer));
          state.busy = true;
          state.current = work;
          const checksum = state.ringChecksum;
          void (async () => {
            let synced = 0;
            let compared = 0;
            const missed = holders.filter((peer) => !peers.includes(peer));
            for (const peer of peers) {
              try {
                synced += (await reconcileRange(ctx.system, context, work.range, peer, checksum)).synced;
                compared++;
              } catch (error) {
                missed.push(peer);
                ctx.log.warn('anti-entropy round failed', { peer, error });
              }
            }
            return { synced, compared, missed };
          })().then(({ synced, compared, missed }) => ctx.system.dispatch(ctx.self, { type: 'round_done', synced, compared, missed }));
          return state;
        }
        case 'round_done': {
          state.busy = false;
          state.roundsDone++;
          state.keysSynced += message.synced;
          // A round that compared nothing (every other holder down) says nothing either way.
          if (message.synced > 0) state.inStepInRow = 0;
          else if (message.compared > 0) state.inStepInRow++;
          if (message.synced > 0) ctx.log.info('anti-entropy repaired keys', { keys: message.synced });
          const recovery = state.recovery;
          const counted = state.current?.recovery;
          const nowMs = ctx.clock.now();
          if (recovery && counted?.of === recovery && counted.plan === recovery.plan && recovery.finishedAtMs === undefined) {
            recovery.keysSynced += message.synced;
            const compared = counted.compared || message.compared > 0;
            if (message.missed.length > 0 && counted.retries < RECOVERY_RETRIES) {
              const work: Work = { range: state.current!.range, peers: message.missed, recovery: { ...counted, retries: counted.retries + 1, compared } };
              state.retries.push({ work, atMs: nowMs + context.options.recoveryRetryMs * 2 ** counted.retries });
            } else if (compared) {
              recovery.rangesDone++;
            } else {
              // A range no other holder could be compared with is counted apart: nothing was checked.
              recovery.rangesSkipped++;
            }
            if (recovery.rangesDone + recovery.rangesSkipped >= recovery.ranges) {
              recovery.finishedAtMs = ctx.clock.now();
              ctx.log.info('recovery finished', { kind: recovery.kind, ranges: recovery.ranges, skipped: recovery.rangesSkipped, keysRepaired: recovery.keysSynced, seconds: Math.round((recovery.finishedAtMs - recovery.startedAtMs) / 1000) });
            }
          }
          state.current = undefined;
          schedule(state.urgent.length > 0 ? 0 : Math.min(paceOf(state), untilNextRetry(state, nowMs)));
          return state;
        }
        case 'node_event': {
          if (message.event.type !== 'nodeup') return state;
          refreshRanges(state, ctx.clock.now());
          const peer = message.event.node;
          const shared = state.ranges.filter((range) => range.nodes.includes(peer));
          state.urgent.push(...shared.map((range) => ({ range, peers: [peer] })));
          // A recovery's ranges that missed the peer need not wait out their pause now that it is back.
          const nowMs = ctx.clock.now();
          state.retries = state.retries.map((retry) => (retry.work.peers.includes(peer) ? { ...retry, atMs: nowMs } : retry));
          if (!state.busy) schedule(0);
          return state;
        }
        case 'recover_peer':
        case 'full_pass': {
          refreshRanges(state, ctx.clock.now());
          const peer = message.type === 'recover_peer' ? message.peer : undefined;
          if (peer !== undefined && typeof peer !== 'string') {
            ctx.log.warn('refused a recovery request without a peer name', { peer: typeof peer });
            if (message.replyTo) ctx.system.reply(message.replyTo as ReplyTo<unknown>, runtimeFailure('BadMessage', 'recover_peer needs the name of the node to refill'));
            return state;
          }
          const nowMs = ctx.clock.now();
          const asked = { kind: peer === undefined ? ('consistency' as const) : ('node' as const), peers: new Set(peer === undefined ? [] : [peer]) };
          // One asked while another runs joins it, so that its progress counts both.
          let recovery = state.recovery;
          if (recovery && recovery.finishedAtMs === undefined) {
            if (asked.kind === 'consistency') recovery.kind = 'consistency';
            for (const node of asked.peers) recovery.peers.add(node);
          } else {
            recovery = { ...asked, peers: new Set(asked.peers), plan: 0, ranges: 0, rangesDone: 0, rangesSkipped: 0, keysSynced: 0, startedAtMs: nowMs };
            state.recovery = recovery;
          }
          const queued = planRecovery(state, recovery, asked, nowMs);
          ctx.log.info(peer === undefined ? 'full anti-entropy pass asked for' : 'recovery of a peer asked for', { ranges: queued, ...(peer ? { peer } : {}) });
          if (!state.busy) schedule(0);
          if (message.replyTo) ctx.system.reply(message.replyTo, statsOf(state, ctx.clock.now()));
          return state;
        }
        case 'stats':
          ctx.system.reply(message.replyTo, statsOf(state, ctx.clock.now()));
          return state;
      }
    },
  };
}

function statsOf(state: AntiEntropyState, nowMs: number): AntiEntropyStats {
  const recovery = state.recovery;
  return {
    ok: true,
    rangesHeld: state.ranges.length,
    roundsDone: state.roundsDone,
    keysSynced: state.keysSynced,
    urgentPending: state.urgent.length + state.retries.length,
    quiet: isQuiet(state),
    ...(recovery
      ? {
          recovery: {
            kind: recovery.kind,
            peers: [...recovery.peers].sort(),
            ranges: recovery.ranges,
            rangesDone: recovery.rangesDone,
            rangesSkipped: recovery.rangesSkipped,
            keysSynced: recovery.keysSynced,
            elapsedMs: (recovery.finishedAtMs ?? nowMs) - recovery.startedAtMs,
            finished: recovery.finishedAtMs !== undefined,
          },
        }
      : {}),
  };
}

/** The comparisons a recovery makes: with its peers every range shared with them, or every range with every holder. */
function recoveryWork(ranges: readonly RingRange[], recovery: Pick<Recovery, 'kind' | 'peers'>): Work[] {
  if (recovery.kind === 'consistency') return ranges.map((range) => ({ range, peers: range.nodes }));
  return ranges.filter((range) => range.nodes.some((node) => recovery.peers.has(node))).map((range) => ({ range, peers: range.nodes.filter((node) => recovery.peers.has(node)) }));
}

/** Queues the comparisons `asked` needs as part of the current plan of `recovery`; one left with none is finished. */
function planRecovery(state: AntiEntropyState, recovery: Recovery, asked: Pick<Recovery, 'kind' | 'peers'>, nowMs: number): number {
  const work = recoveryWork(state.ranges, asked).map((item) => ({ ...item, recovery: { of: recovery, plan: recovery.plan, retries: 0, compared: false } }));
  state.urgent.push(...work);
  recovery.ranges += work.length;
  if (recovery.rangesDone + recovery.rangesSkipped >= recovery.ranges) recovery.finishedAtMs ??= nowMs;
  return work.length;
}

/** Whether a whole walk's worth of ranges in a row were in step with their peers, with no rebalance running. */
function isQuiet(state: AntiEntropyState): boolean {
  return !state.rebalancing && state.ranges.length > 0 && state.inStepInRow >= state.ranges.length;
}

/** The first recovery range whose time to be compared again has come, taken off the list. */
function dueRetry(state: AntiEntropyState, nowMs: number): Work | undefined {
  const due = state.retries.findIndex((retry) => retry.atMs <= nowMs);
  return due < 0 ? undefined : state.retries.splice(due, 1)[0]!.work;
}

/** How long until a recovery range is due to be compared again; Infinity when none waits. */
function untilNextRetry(state: AntiEntropyState, nowMs: number): number {
  return state.retries.reduce((soonest, retry) => Math.min(soonest, Math.max(0, retry.atMs - nowMs)), Number.POSITIVE_INFINITY);
}

function nextRegular(state: AntiEntropyState): Work | undefined {
  if (state.ranges.length === 0) return undefined;
  const range = state.ranges[state.cursor % state.ranges.length]!;
  state.cursor++;
  return { range, peers: range.nodes };
}
