/**
 * Anti-entropy: walks the ranges this node holds, one every few milliseconds, and reconciles each
 * with the range's other replicas. When a peer comes back up, the ranges shared with it are walked
 * first, without pause, so a restarted node converges quickly.
 *
 * While a rebalance moves data, a range is not compared with a node that receives part of it: its
 * hand-off (handoff.ts) brings that data, and comparing meanwhile would send the same bytes twice.
 */
import { rangesOfNode, type RingRange } from '../../core/ring/ranges.js';
import { planRebalance } from '../../core/ring/rebalance.js';
import type { Behavior } from '../../runtime/actor.js';
import { SelfTimer } from '../../runtime/self-timer.js';
import type { AntiEntropyControl, AntiEntropyStats } from '../../protocol/cluster/anti-entropy.js';
import type { NodeEvent } from '../../runtime/system.js';
import { reconcileRange } from './range-reconcile.js';
import type { StorageContext } from './storage-context.js';

export { ANTI_ENTROPY_PATH, antiEntropyRef, type AntiEntropyStats } from '../../protocol/cluster/anti-entropy.js';

export type AntiEntropyMessage =
  | AntiEntropyControl
  | { readonly type: 'tick' }
  | { readonly type: 'round_done'; readonly synced: number }
  | { readonly type: 'node_event'; readonly event: NodeEvent };

interface Work {
  readonly range: RingRange;
  readonly peers: readonly string[];
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
  busy: boolean;
  readonly timer: SelfTimer<AntiEntropyMessage>;
  roundsDone: number;
  keysSynced: number;
}

export interface AntiEntropyDeps {
  readonly watchNodes: (listener: (event: NodeEvent) => void) => () => void;
}

export function antiEntropyBehavior(context: StorageContext, deps: AntiEntropyDeps): Behavior<AntiEntropyState, AntiEntropyMessage> {
  const refreshRanges = (state: AntiEntropyState): void => {
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
  };

  return {
    accepts: ['stats', 'recover_peer', 'full_pass'],
    init(ctx) {
      ctx.onEnd(deps.watchNodes((event) => ctx.system.dispatch(ctx.self, { type: 'node_event', event })));
      const state: AntiEntropyState = { ringChecksum: 0, ringShape: '', ranges: [], receiving: new Map(), cursor: 0, urgent: [], busy: false, timer: new SelfTimer<AntiEntropyMessage>(ctx, { type: 'tick' }), roundsDone: 0, keysSynced: 0 };
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
          refreshRanges(state);
          const work = state.urgent.shift() ?? nextRegular(state);
          if (!work) {
            schedule(Math.max(1_000, context.options.antiEntropyIntervalMs));
            return state;
          }
          const receiving = state.receiving.get(work.range.index);
          const peers = receiving?.has(context.node) ? [] : work.peers.filter((peer) => peer !== context.node && !context.isKnownDown(peer) && !receiving?.has(peer));
          state.busy = true;
          const checksum = state.ringChecksum;
          void (async () => {
            let synced = 0;
            for (const peer of peers) {
              try {
                synced += (await reconcileRange(ctx.system, context, work.range, peer, checksum)).synced;
              } catch (error) {
                ctx.log.warn('anti-entropy round failed', { peer, error });
              }
            }
            return synced;
          })().then((synced) => ctx.system.dispatch(ctx.self, { type: 'round_done', synced }));
          return state;
        }
        case 'round_done':
          state.busy = false;
          state.roundsDone++;
          state.keysSynced += message.synced;
          if (message.synced > 0) ctx.log.info('anti-entropy repaired keys', { keys: message.synced });
          schedule(state.urgent.length > 0 ? 0 : context.options.antiEntropyIntervalMs);
          return state;
        case 'node_event': {
          if (message.event.type !== 'nodeup') return state;
          refreshRanges(state);
          const peer = message.event.node;
          const shared = state.ranges.filter((range) => range.nodes.includes(peer));
          state.urgent.push(...shared.map((range) => ({ range, peers: [peer] })));
          if (!state.busy) schedule(0);
          return state;
        }
        case 'recover_peer':
        case 'full_pass': {
          refreshRanges(state);
          const peer = message.type === 'recover_peer' ? message.peer : undefined;
          if (peer !== undefined && typeof peer !== 'string') return state;
          const work = state.ranges
            .filter((range) => peer === undefined || range.nodes.includes(peer))
            .map((range) => ({ range, peers: peer === undefined ? range.nodes : [peer] }));
          state.urgent.push(...work);
          ctx.log.info(peer === undefined ? 'full anti-entropy pass asked for' : 'recovery of a peer asked for', { ranges: work.length, ...(peer ? { peer } : {}) });
          if (!state.busy) schedule(0);
          if (message.replyTo) ctx.system.reply(message.replyTo, statsOf(state));
          return state;
        }
        case 'stats':
          ctx.system.reply(message.replyTo, statsOf(state));
          return state;
      }
    },
  };
}

function statsOf(state: AntiEntropyState): AntiEntropyStats {
  return { ok: true, rangesHeld: state.ranges.length, roundsDone: state.roundsDone, keysSynced: state.keysSynced, urgentPending: state.urgent.length };
}

function nextRegular(state: AntiEntropyState): Work | undefined {
  if (state.ranges.length === 0) return undefined;
  const range = state.ranges[state.cursor % state.ranges.length]!;
  state.cursor++;
  return { range, peers: range.nodes };
}
