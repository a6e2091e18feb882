/**
 * Drains the durable queues (LeoFS's leo_storage_mq consumers): repairs make one key equal on this
 * node and a peer; reverts undo a write that failed its quorum. A batch runs every tick; an item that
 * fails comes back after a capped exponential backoff, or at once when its peer comes back up.
 * Each queue's state as LeoFS shows it: idling (nothing due), running, suspended (mq-suspend); a
 * suspended queue keeps its items and takes new ones, and is drained again once resumed.
 */
import type { Behavior } from '../../runtime/actor.js';
import { preferenceList } from '../../core/ring/ring.js';
import { keyPosition } from '../../core/ring/position.js';
import { isFresh } from '../../runtime/clock.js';
import { SelfTimer } from '../../runtime/self-timer.js';
import { isQueueName, QUEUE_NAMES, type QueueControl, type QueueName, type QueueState, type QueueStats } from '../../protocol/cluster/queues.js';
import type { NodeEvent } from '../../runtime/system.js';
import type { QueueItem } from '../../store/durable-queue.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import { syncKey } from './key-sync.js';
import { resolveStaleWrites } from './stale-writes.js';
import { routerOf } from '../../protocol/cluster/storage.js';
import { repairItemKey, type RepairItem, type RevertItem, type StorageContext } from './storage-context.js';
import { ask } from '../../runtime/typed-ask.js';

/** How often writes left unsettled past the grace period are looked at, at most. */
const STALE_SWEEP_MS = 60_000;

export type RecovererMessage =
  | QueueControl
  | { readonly type: 'tick' }
  | { readonly type: 'batch_done'; readonly full: boolean }
  | { readonly type: 'sweep_done'; readonly last?: ObjectAddress }
  | { readonly type: 'node_event'; readonly event: NodeEvent };

interface RecovererState {
  /** Whether the last batch found work (running) or none (idling). */
  status: 'idling' | 'running';
  /** Queues held by mq-suspend. */
  readonly suspended: Set<QueueName>;
  busy: boolean;
  /** A sweep of stale unsettled writes is running. */
  sweeping: boolean;
  /** Where the next sweep of stale writes goes on (from the first when none). */
  sweepAfter: ObjectAddress | undefined;
  readonly timer: SelfTimer<RecovererMessage>;
  /** When the last sweep of stale writes began, by the clock that is never stepped. */
  lastSweepMs: number;
}

export interface RecovererDeps {
  readonly watchNodes: (listener: (event: NodeEvent) => void) => () => void;
}

export function recovererBehavior(context: StorageContext, deps: RecovererDeps): Behavior<RecovererState, RecovererMessage> {
  const { repairs, reverts, options } = context;
  const queueState = (state: RecovererState, name: QueueName): QueueState => (state.suspended.has(name) ? 'suspended' : state.status);
  const stats = (state: RecovererState): QueueStats => ({
    ok: true,
    queues: [
      { name: 'repair', size: repairs.size, state: queueState(state, 'repair') },
      { name: 'revert', size: reverts.size, state: queueState(state, 'revert') },
    ],
  });

  /** The key's replicas on the current ring; undefined while there is no ring. */
  const currentHolders = (bucket: string, key: string): readonly string[] | undefined => {
    const snapshot = context.ringView.current;
    return snapshot ? preferenceList(snapshot.current, keyPosition(bucket, key), snapshot.doc.settings.n) : undefined;
  };
  /** Whether `node` is a member of the current or the previous ring. */
  const inRing = (node: string): boolean => {
    const snapshot = context.ringView.current;
    return [...(snapshot?.current.members ?? []), ...(snapshot?.previous?.members ?? [])].some((member) => member.node === node);
  };

  return {
    accepts: ['suspend', 'resume', 'stats'],
    init(ctx) {
      ctx.onEnd(deps.watchNodes((event) => ctx.system.dispatch(ctx.self, { type: 'node_event', event })));
      const state: RecovererState = { status: 'idling', suspended: new Set(), busy: false, sweeping: false, sweepAfter: undefined, timer: new SelfTimer<RecovererMessage>(ctx, { type: 'tick' }, context.pace), lastSweepMs: ctx.clock.elapsed() };
      state.timer.schedule(options.recovererIntervalMs);
      return state;
    },
    receive(state, message, ctx) {
      const schedule = (delayMs: number): void => state.timer.schedule(delayMs);
      switch (message.type) {
        case 'tick': {
          const nowMs = ctx.clock.now();
          const elapsedMs = ctx.clock.elapsed();
          if (!state.sweeping && !isFresh(elapsedMs - state.lastSweepMs, Math.min(STALE_SWEEP_MS, options.settleGraceMs / 4))) {
            state.lastSweepMs = elapsedMs;
            state.sweeping = true;
            void resolveStaleWrites(ctx.system, context, state.sweepAfter).then(
              ({ settled, reverted, waiting, last }) => {
                if (settled > 0 || reverted > 0) ctx.log.info('ended writes whose coordinator went away', { settled, reverted, waiting });
                ctx.system.dispatch(ctx.self, { type: 'sweep_done', ...(last ? { last } : {}) });
              },
              (error: unknown) => {
                ctx.log.warn('sweep of unsettled writes failed', { error });
                ctx.system.dispatch(ctx.self, { type: 'sweep_done' });
              },
            );
          }
          if (state.busy) return state;
          // A node back from a long absence repairs nothing until it knows whether to drop what it holds.
          if (!context.presence.serving) {
            schedule(options.recovererIntervalMs);
            return state;
          }
          const batch = [
            ...(state.suspended.has('revert') ? [] : reverts.due(nowMs, options.recovererBatchSize).map((item) => ({ queue: 'revert' as const, item }))),
            ...(state.suspended.has('repair') ? [] : repairs.due(nowMs, options.recovererBatchSize).map((item) => ({ queue: 'repair' as const, item }))),
          ];
          if (batch.length === 0) {
            state.status = 'idling';
            schedule(options.recovererIntervalMs);
            return state;
          }
          state.status = 'running';
          state.busy = true;
          const full = batch.length >= options.recovererBatchSize;
          void Promise.all(batch.map(({ queue, item }) => (queue === 'repair' ? runRepair(item as QueueItem<RepairItem>) : runRevert(item as QueueItem<RevertItem>)))).finally(() =>
            ctx.system.dispatch(ctx.self, { type: 'batch_done', full }),
          );
          return state;

          // The item stays queued as it was, so it comes back on a later tick.
          function queueFailed(error: unknown): void {
            ctx.log.warn('cannot update a queue item', { error });
          }

          async function runRepair(item: QueueItem<RepairItem>): Promise<void> {
            const { peer, objectKind, bucket, key } = item.payload;
            const holders = currentHolders(bucket, key);
            // A repair for a node that left the ring goes to the key's holders now (a rebalance moved its ranges).
            if (holders && !inRing(peer)) {
              try {
                for (const holder of holders.filter((node) => node !== context.node && node !== peer)) {
                  const retargeted = { ...item.payload, peer: holder };
                  await repairs.enqueue(repairItemKey(retargeted), retargeted, ctx.clock.now());
                }
                await repairs.complete(item.itemKey);
                ctx.log.debug('repair for a node that left the ring sent to the key\'s holders', { peer, bucket, key });
              } catch (error) {
                queueFailed(error);
              }
              return;
            }
            try {
              const outcome = await syncKey(ctx.system, context, { kind: objectKind, bucket, key }, peer);
              ctx.log.debug('repaired', { peer, bucket, key, outcome });
              await repairs.complete(item.itemKey);
            } catch (error) {
              context.counters.queuedWorkFailed('repair');
              await repairs.retry(item.itemKey, ctx.clock.now(), (error as Error).message).catch(queueFailed);
            }
          }

          async function runRevert(item: QueueItem<RevertItem>): Promise<void> {
            const { peer, objectKind, bucket, key, clock } = item.payload;
            // A node that left the ring drops what it held of its old ranges: nothing to revert there.
            if (context.ringView.current && !inRing(peer)) {
              await reverts.complete(item.itemKey).catch(queueFailed);
              return;
            }
            const reply = await ask(
              ctx.system,
              routerOf(peer),
              { type: 'replica_revert', objectKind, bucket, key, clock },
              options.replicaTimeoutMs,
            );
            if (reply.ok) {
              await reverts.complete(item.itemKey).catch(queueFailed);
              return;
            }
            context.counters.queuedWorkFailed('revert');
            await reverts.retry(item.itemKey, ctx.clock.now(), `${reply.code}: ${reply.message}`).catch(queueFailed);
          }
        }
        case 'sweep_done':
          state.sweeping = false;
          state.sweepAfter = message.last;
          // A full batch: more are waiting, and the next sweep goes on at the next tick.
          if (message.last) state.lastSweepMs = Number.NEGATIVE_INFINITY;
          return state;
        case 'batch_done':
          state.busy = false;
          schedule(message.full ? 0 : options.recovererIntervalMs);
          return state;
        case 'node_event':
          if (message.event.type === 'nodeup') {
            const peer = message.event.node;
            const nowMs = ctx.clock.now();
            void Promise.all([repairs.wake(nowMs, (item) => item.payload.peer === peer), reverts.wake(nowMs, (item) => item.payload.peer === peer)]).then(([a, b]) => {
              if (a + b > 0) ctx.log.info('peer is back; its queued repairs are due now', { peer, items: a + b });
            });
          }
          return state;
        case 'suspend':
        case 'resume': {
          const queue = message.queue;
          if (queue !== undefined && !isQueueName(queue)) {
            if (message.replyTo) ctx.system.reply(message.replyTo, { ok: false, code: 'UnknownQueue', message: `no queue ${JSON.stringify(queue)} (queues: ${QUEUE_NAMES.join(', ')})` });
            return state;
          }
          for (const name of queue === undefined ? QUEUE_NAMES : [queue]) {
            if (message.type === 'suspend') state.suspended.add(name);
            else state.suspended.delete(name);
          }
          ctx.log.info(message.type === 'suspend' ? 'queue suspended' : 'queue resumed', { queue: queue ?? 'all' });
          if (message.type === 'resume' && !state.busy) schedule(0);
          if (message.replyTo) ctx.system.reply(message.replyTo, stats(state));
          return state;
        }
        case 'stats':
          ctx.system.reply(message.replyTo, stats(state));
          return state;
      }
    },
  };
}
