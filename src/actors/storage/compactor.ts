/**
 * A storage node's compaction (LeoFS's compact-start, -suspend, -resume, -status) and its disk use
 * (du). A compaction gives the LMDB file's free pages back to the file system while the node serves
 * (object-store.ts `compact`); body files need none. Suspending stops a compaction that runs (its
 * copy is dropped) and refuses new ones until resumed; resuming starts it again.
 */
import type { Behavior } from '../../runtime/actor.js';
import type { CompactionReply, CompactionStatus, CompactorMessage } from '../../protocol/cluster/storage.js';
import type { StorageContext } from './storage-context.js';

interface CompactorState {
  status: CompactionStatus;
  running: AbortController | undefined;
  /** Resumed while a suspended compaction was still stopping: it starts again once stopped. */
  restart: boolean;
}

export function compactorBehavior(context: StorageContext): Behavior<CompactorState, CompactorMessage> {
  return {
    accepts: ['compaction', 'disk_usage'],
    init: () => ({ status: { state: 'idle' }, running: undefined, restart: false }),
    receive(state, message, ctx) {
      const answer = (reply: CompactionReply): void => {
        if (message.type === 'compaction') ctx.system.reply(message.replyTo, reply);
      };
      const refuse = (code: 'AlreadyRunning' | 'Suspended' | 'NotRunning', text: string): void => answer({ ok: false, code, message: text });
      const start = (): void => {
        const controller = new AbortController();
        state.running = controller;
        state.status = { ...state.status, state: 'running', lastStartedAtMs: ctx.clock.now() };
        ctx.log.info('compaction started');
        void context.store.compact(controller.signal, () => (context.pace.throttled ? context.pace.stretch(0) : 0)).then(
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
              start();
              break;
            case 'suspend':
              if (state.status.state === 'suspended') break;
              state.running?.abort();
              state.status = { ...state.status, state: 'suspended' };
              ctx.log.info('compaction suspended');
              break;
            case 'resume':
              if (state.status.state !== 'suspended') return refuse('NotRunning', 'compaction is not suspended on this node'), state;
              if (state.running !== undefined) {
                state.restart = true;
                state.status = { ...state.status, state: 'running' };
              } else {
                start();
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
          } else {
            if (!outcome.cancelled) ctx.log.warn('compaction failed', { reason: outcome.message });
            state.status = { ...state.status, state: state.status.state === 'suspended' ? 'suspended' : 'idle', ...(outcome.cancelled ? {} : { lastError: outcome.message }) };
          }
          if (state.restart) {
            state.restart = false;
            start();
          }
          return state;
        }
      }
    },
  };
}

function withoutError(status: CompactionStatus): CompactionStatus {
  const { lastError: _dropped, ...rest } = status;
  return rest;
}
