/**
 * Keeps a storage node from bringing back deletes that were purged while it was away.
 *
 * Tombstones are purged once every replica holds them (tombstone-reaper.ts); a replica that has been
 * unreachable for longer than the purge horizon stops blocking that, so its peers may purge
 * tombstones of keys of which it still holds an older live version. Were it to come back and hand
 * those versions on, deleted objects would reappear. So a node records, every `refreshMs`, that it is
 * present (running and in contact with a majority of the ring), in its object store; and a node last
 * present longer ago than the horizon less a margin counts as away:
 *
 *   - at start (it was stopped that long, or its objects come from an old backup), or while running
 *     (its process was paused, or it was cut off from a majority that long: its peers cannot tell
 *     either from stopped); the gate closes by itself as the record ages (presence-gate.ts),
 *   - an away node serves and hands on nothing of its own (presence-gate.ts) until a majority of the
 *     ring's members have said whether they reported it absent past the horizon since it was last
 *     present (only such reports let a purge go ahead without it, and two majorities share a member);
 *   - if any did, it drops every live version it holds (tombstones stay: they only ever delete), and
 *     anti-entropy copies back from the other replicas whatever is still live; if none did, nobody
 *     purged without it and it keeps everything. Either way it then counts as present again.
 *
 * Why not simply drop, on return, the versions older than the start of the absence (by clock)? Every
 * version a node holds arrived before it went away, but a clock stamped by a coordinator whose wall
 * clock runs ahead, or a write that arrived between the last heartbeat and the stop, is not older than
 * the recorded start: such a version would survive and could still bring a purged delete back. And a
 * whole cluster stopped for longer than the horizon would drop everything on every node, although
 * nobody purged anything meanwhile. Hence: drop everything live, but only when a purge may have gone
 * ahead without this node.
 *
 * What an operator pays: a node away past the horizon comes back without its live data while others
 * purged without it; it fills again through anti-entropy. A write acknowledged by that node alone
 * (W = 1) and never copied elsewhere before it went away is lost then.
 */
import { inContact, majorityOf, presenceTiming } from '../../core/purge-rules.js';
import { nodeInfoRef } from '../../protocol/cluster/paths.js';
import type { Behavior } from '../../runtime/actor.js';
import { actorRef, type ReplyTo } from '../../runtime/refs.js';
import { SelfTimer } from '../../runtime/self-timer.js';
import { routerOf } from '../../protocol/cluster/storage.js';
import type { StorageContext } from './storage-context.js';
import { ringMembers } from './tombstone-check.js';
import { ask } from '../../runtime/typed-ask.js';

export const PRESENCE_KEEPER_PATH = '/node/storage/presence';
/** Records dropped per transaction when a node must forget what it held. */
const DROP_BATCH = 1_000;
/** A drop pass finds writes that were in flight when the gate closed; this many passes at most. */
const DROP_PASSES = 3;
/** How often an away node says again that it still waits for a majority. */
const WAITING_LOG_MS = 60_000;

export interface PresenceStats {
  readonly ok: true;
  readonly serving: boolean;
  readonly lastPresentMs: number | null;
  /** Live versions dropped after absences, since this actor started. */
  readonly dropped: number;
}

export type PresenceMessage = { readonly type: 'tick' } | { readonly type: 'stats'; readonly replyTo: ReplyTo<PresenceStats> };

export const presenceKeeperRef = (node: string) => actorRef<PresenceMessage>(node, PRESENCE_KEEPER_PATH);

interface PresenceState {
  readonly timer: SelfTimer<PresenceMessage>;
  dropped: number;
  /** The gate was found closed and that was logged. */
  awayLogged: boolean;
  lastWaitingLogMs: number;
}

export function presenceKeeperBehavior(context: StorageContext): Behavior<PresenceState, PresenceMessage> {
  const { store } = context;
  const timing = presenceTiming(context.options.purgeHorizonMs, context.options.presenceRefreshMs);
  return {
    accepts: ['stats'],
    init(ctx) {
      const state: PresenceState = { timer: new SelfTimer<PresenceMessage>(ctx, { type: 'tick' }), dropped: 0, awayLogged: false, lastWaitingLogMs: Number.NEGATIVE_INFINITY };
      state.timer.schedule(0);
      return state;
    },
    async receive(state, message, ctx) {
      if (message.type === 'stats') {
        ctx.system.reply(message.replyTo, { ok: true, serving: context.presence.serving, lastPresentMs: store.presence.lastPresentMs() ?? null, dropped: state.dropped });
        return state;
      }
      try {
        // A new store is present from its first start on: whatever it receives is no older than that.
        if (store.presence.lastPresentMs() === undefined) await recordPresent();
        else if (context.presence.serving) await keepPresent();
        else await rejoin();
      } catch (error) {
        ctx.log.warn('presence step failed; trying again', { error });
      }
      state.timer.schedule(timing.refreshMs);
      return state;

      async function recordPresent(): Promise<void> {
        const nowMs = ctx.clock.now();
        await store.presence.markPresent(nowMs);
        context.presence.recorded(nowMs);
        state.awayLogged = false;
      }

      /** Cut off from most of the ring, it records nothing: the gate closes by itself once that lasts too long. */
      async function keepPresent(): Promise<void> {
        const snapshot = context.ringView.current;
        // Without a ring no purge can involve this node, so it counts as present.
        const present = !snapshot || (await reachesMajority(ringMembers(snapshot)));
        // The gate may have closed while the members were pinged: then the node rejoins first.
        if (present && context.presence.serving) await recordPresent();
      }

      /**
       * Links open to a majority, or pings answered: members this node has no reason to talk to (no
       * range in common) are pinged, so a quiet link never passes for being cut off.
       */
      async function reachesMajority(members: readonly string[]): Promise<boolean> {
        const isUp = (member: string): boolean => context.absence.isUp(member);
        if (inContact(members, context.node, isUp)) return true;
        const unlinked = members.filter((member) => !isUp(member));
        const pings = await Promise.all(
          unlinked.map((member) => ask(ctx.system, nodeInfoRef(member), { type: 'ping' }, context.options.readTimeoutMs)),
        );
        const answered = new Set(unlinked.filter((_, index) => pings[index]!.ok));
        return inContact(members, context.node, (member) => isUp(member) || answered.has(member));
      }

      async function rejoin(): Promise<void> {
        const lastPresentMs = store.presence.lastPresentMs() ?? 0;
        if (!state.awayLogged) {
          state.awayLogged = true;
          ctx.log.warn('this node was away from the cluster longer than the purge horizon allows (stopped, paused, or cut off from most of the ring); it serves none of its data until a majority of the ring says whether deletes were purged without it', {
            lastPresentMs,
          });
        }
        const snapshot = context.ringView.current;
        if (!snapshot) return;
        const nowMs = ctx.clock.now();
        const members = ringMembers(snapshot);
        const others = members.filter((member) => member !== context.node);
        const sinceMs = lastPresentMs - timing.reportSlackMs;
        const replies = await Promise.all(
          others.map((member) =>
            ask(ctx.system, routerOf(member), { type: 'absence_reports', node: context.node, sinceMs }, context.options.readTimeoutMs),
          ),
        );
        const answered = replies.filter((reply) => reply.ok).length;
        if (answered + 1 < majorityOf(members.length)) {
          if (nowMs - state.lastWaitingLogMs >= WAITING_LOG_MS) {
            state.lastWaitingLogMs = nowMs;
            ctx.log.warn('waiting for a majority of the ring to answer before serving data again', { answered: answered + 1, needed: majorityOf(members.length) });
          }
          return;
        }
        const reportedBy = others.filter((_, index) => {
          const reply = replies[index]!;
          return reply.ok && reply.reported === true;
        });
        if (reportedBy.length > 0) {
          const dropped = await dropLiveVersions();
          state.dropped += dropped;
          context.digests.forget();
          ctx.log.warn('dropped the live versions held from before an absence longer than the purge horizon; anti-entropy copies back what is still live', {
            dropped,
            lastPresentMs,
            reportedBy,
          });
        } else {
          ctx.log.info('was away longer than the purge horizon, but no delete was purged without this node; keeping its data', { lastPresentMs });
        }
        await recordPresent();
        ctx.log.info('serving data again');
      }
    },
  };

  async function dropLiveVersions(): Promise<number> {
    let total = 0;
    for (let pass = 0; pass < DROP_PASSES; pass++) {
      let droppedInPass = 0;
      let after: Buffer | undefined;
      do {
        const step = await store.dropLiveVersions(after, DROP_BATCH);
        droppedInPass += step.dropped;
        after = step.next;
      } while (after !== undefined);
      total += droppedInPass;
      if (droppedInPass === 0) break;
    }
    return total;
  }
}
