/**
 * A storage node's compaction (LeoFS's compact-start, -suspend, -resume, -status) and its disk use
 * (du). A compaction gives the LMDB file's free pages back to the file system while the node serves
 * (object-store.ts `compact`); body files need none. Suspending stops a compaction that runs (its
 * copy is dropped) and refuses new ones until resumed; resuming starts it again.
 *
 * Automatic compaction (LeoFS's autonomic compaction): every `autoCompactionIntervalMs` the node looks
 * whether a compaction would give back at least `autoCompactionMinReclaimPercent` of an LMDB file of at
 * least `autoCompactionMinFileBytes`, and starts one if so and the disk has room for the copy (with the
 * free space the node keeps for writes to spare). It looks only once the store has settled
 * (its file and records moved by less than a hundredth since the previous check, or by less than that
 * hundredth scaled to the time between them when the checks came less than a minute apart: a compaction
 * while writes pour in would be undone by them), not while the watchdog throttles background work, and not
 * again while the file and its records stay within a twentieth of what the last look saw: looking
 * reads the sizes of every record (lmdb-survey.ts), paced like the compaction.
 * Deletes and overwrites leave free pages, and keys written in random order leave pages a third empty:
 * both are what a compaction gives back. (Overwrites that reuse free pages move neither the file nor
 * its records: such a store looks settled while written to, and a compaction then replays the writes
 * made meanwhile, as it does for an operator's.)
 */
import type { Behavior } from '../../runtime/actor.js';
import { SelfTimer } from '../../runtime/self-timer.js';
import type { CompactionReply, CompactionStatus, CompactionTrigger, CompactorMessage } from '../../protocol/cluster/storage.js';
import type { CompactionOutlook, StoreShape } from '../../store/object-store.js';
import type { StorageContext } from './storage-context.js';

/** A store whose file or records moved less than this share since the last look is not looked at again. */
const RESURVEY_CHANGE = 0.05;
/** A store whose file and records moved less than this share since the previous check has settled. */
const SETTLED_CHANGE = 0.01;
/**
 * Checks less than this far apart ask for SETTLED_CHANGE scaled down to the time between them: a steady
 * stream of writes into a large store moves it by little in a few seconds, and is no settled store.
 */
const SETTLED_WINDOW_MS = 60_000;

interface CompactorState {
  status: CompactionStatus;
  running: AbortController | undefined;
  /** Resumed while a suspended compaction was still stopping: it starts again once stopped. */
  restart: boolean;
  readonly timer: SelfTimer<CompactorMessage> | undefined;
  /** The look automatic compaction is taking. */
  surveying: AbortController | undefined;
  /** What the last look saw, to tell whether the store changed enough to look again. */
  surveyedShape: StoreShape | undefined;
  /** What the previous check saw, to tell whether the store has settled. */
  checkedShape: StoreShape | undefined;
  /** When it looked, on the clock that is never stepped. */
  checkedAtElapsedMs: number;
}

export function compactorBehavior(context: StorageContext): Behavior<CompactorState, CompactorMessage> {
  const { options } = context;
  const pauseMs = (): number => (context.pace.throttled ? context.pace.stretch(0) : 0);
  return {
    accepts: ['compaction', 'disk_usage'],
    init: (ctx) => {
      const timer = options.autoCompactionIntervalMs > 0 ? new SelfTimer<CompactorMessage>(ctx, { type: 'auto_check' }, context.pace) : undefined;
      timer?.schedule(options.autoCompactionIntervalMs);
      const state: CompactorState = { status: { state: 'idle' }, running: undefined, restart: false, timer, surveying: undefined, surveyedShape: undefined, checkedShape: undefined, checkedAtElapsedMs: 0 };
      // The work ends with the incarnation that began it (a restart begins with nothing running, and not suspended).
      ctx.onEnd(() => {
        state.surveying?.abort();
        state.running?.abort();
      });
      return state;
    },
    receive(state, message, ctx) {
      const answer = (reply: CompactionReply): void => {
        if (message.type === 'compaction') ctx.system.reply(message.replyTo, reply);
      };
      const refuse = (code: 'AlreadyRunning' | 'Suspended' | 'NotRunning', text: string): void => answer({ ok: false, code, message: text });
      const start = (trigger: CompactionTrigger): void => {
        state.surveying?.abort();
        const controller = new AbortController();
        state.running = controller;
        state.status = { ...state.status, state: 'running', trigger, lastStartedAtMs: ctx.clock.now() };
        ctx.log.info('compaction started', { trigger });
        void context.store.compact(controller.signal, pauseMs).then(
          (result) => ctx.system.dispatch(ctx.self, { type: 'finished', outcome: { ok: true, result } }),
          (error: unknown) =>
            ctx.system.dispatch(ctx.self, { type: 'finished', outcome: { ok: false, message: error instanceof Error ? error.message : String(error), cancelled: controller.signal.aborted } }),
        );
      };
      switch (message.type) {
        case 'compaction':
          switch (message.action) {
            case 'status':
              break;
            case 'start':
              if (state.status.state === 'running') return refuse('AlreadyRunning', 'a compaction is running on this node'), state;
              if (state.status.state === 'suspended') return refuse('Suspended', 'compaction is suspended on this node; resume it'), state;
              start('operator');
              break;
            case 'suspend':
              if (state.status.state === 'suspended') break;
              state.running?.abort();
              state.surveying?.abort();
              state.status = { ...state.status, state: 'suspended' };
              ctx.log.info('compaction suspended');
              break;
            case 'resume':
              if (state.status.state !== 'suspended') return refuse('NotRunning', 'compaction is not suspended on this node'), state;
              // Resumed by an operator: whatever starts now is theirs.
              if (state.running !== undefined) {
                state.restart = true;
                state.status = { ...state.status, state: 'running', trigger: 'operator' };
              } else {
                start('operator');
              }
              break;
          }
          answer({ ok: true, ...state.status });
          return state;
        case 'disk_usage':
          void context.store.diskUsage().then(
            (usage) => ctx.system.reply(message.replyTo, { ok: true, ...usage }),
            (error: unknown) => ctx.system.reply(message.replyTo, { ok: false, code: 'StoreError', message: error instanceof Error ? error.message : String(error) }),
          );
          return state;
        case 'finished': {
          state.running = undefined;
          const { outcome } = message;
          const finishedAtMs = ctx.clock.now();
          if (outcome.ok) {
            state.status = { ...withoutError(state.status), state: state.status.state === 'suspended' ? 'suspended' : 'idle', lastFinishedAtMs: finishedAtMs, last: outcome.result };
            // What the compaction left is the baseline the next look compares with.
            state.surveyedShape = context.store.shape();
          } else {
            if (!outcome.cancelled) ctx.log.warn('compaction failed', { reason: outcome.message });
            state.status = { ...state.status, state: state.status.state === 'suspended' ? 'suspended' : 'idle', ...(outcome.cancelled ? {} : { lastError: outcome.message }) };
          }
          if (state.restart) {
            state.restart = false;
            start('operator');
          }
          return state;
        }
        case 'auto_check': {
          state.timer?.schedule(options.autoCompactionIntervalMs);
          if (state.status.state !== 'idle' || state.surveying !== undefined || context.pace.throttled) return state;
          const shape = context.store.shape();
          const atElapsedMs = ctx.clock.elapsed();
          const settled = state.checkedShape !== undefined && !changed(state.checkedShape, shape, settledChange(atElapsedMs - state.checkedAtElapsedMs));
          state.checkedShape = shape;
          state.checkedAtElapsedMs = atElapsedMs;
          if (!settled || shape.fileBytes < options.autoCompactionMinFileBytes) return state;
          if (state.surveyedShape !== undefined && !changed(state.surveyedShape, shape, RESURVEY_CHANGE)) return state;
          const controller = new AbortController();
          state.surveying = controller;
          void context.store.compactionOutlook(controller.signal, pauseMs).then(
            (outlook) => ctx.system.dispatch(ctx.self, { type: 'outlook', outcome: { ok: true, outlook } }),
            (error: unknown) => ctx.system.dispatch(ctx.self, { type: 'outlook', outcome: { ok: false, message: error instanceof Error ? error.message : String(error), cancelled: controller.signal.aborted } }),
          );
          return state;
        }
        case 'outlook': {
          state.surveying = undefined;
          const { outcome } = message;
          if (!outcome.ok) {
            if (!outcome.cancelled) ctx.log.warn('cannot tell what a compaction would give back', { reason: outcome.message });
            return state;
          }
          const { outlook } = outcome;
          state.surveyedShape = context.store.shape();
          state.status = { ...state.status, lastOutlook: { atMs: ctx.clock.now(), fileBytes: outlook.fileBytes, compactedBytes: outlook.compactedBytes } };
          if (state.status.state !== 'idle' || !pays(outlook, options.autoCompactionMinReclaimPercent)) return state;
          if (!outlook.roomForCopy) {
            // The copy must not take the space that writes need: an operator frees some, or compacts knowingly.
            ctx.log.warn('a compaction would give back a large share of the store, but the disk has no room for its copy', { fileBytes: outlook.fileBytes, compactedBytes: outlook.compactedBytes });
            return state;
          }
          ctx.log.info('a compaction would give back a large share of the store', { fileBytes: outlook.fileBytes, compactedBytes: outlook.compactedBytes });
          start('automatic');
          return state;
        }
      }
    },
  };
}

/** The share of a store's file and records that may move in `elapsedMs` between two checks of a settled store. */
function settledChange(elapsedMs: number): number {
  return SETTLED_CHANGE * Math.min(1, Math.max(0, elapsedMs) / SETTLED_WINDOW_MS);
}

/** Whether the file or its records moved by more than `share` of what they were. */
function changed(before: StoreShape, now: StoreShape, share: number): boolean {
  const moved = (a: number, b: number): boolean => Math.abs(b - a) > share * Math.max(a, 1);
  return moved(before.fileBytes, now.fileBytes) || moved(before.records, now.records);
}

function pays(outlook: CompactionOutlook, minReclaimPercent: number): boolean {
  return outlook.fileBytes > 0 && (outlook.fileBytes - outlook.compactedBytes) * 100 >= minReclaimPercent * outlook.fileBytes;
}

function withoutError(status: CompactionStatus): CompactionStatus {
  const { lastError: _dropped, ...rest } = status;
  return rest;
}
