/**
 * Every node's copy of the ring, kept durable so that a node restarted while the manager is down
 * serves on its last ring. The manager installs documents here and reads back the checksum to find
 * nodes that missed one.
 */
import type { Behavior } from '../../runtime/actor.js';
import { validateRingDocument, type RingDocument } from '../../core/ring/ring-document.js';
import { ringChecksum } from '../../core/ring/ring.js';
import type { RingCacheMessage, RingStatus } from '../../protocol/cluster/ring-cache.js';
import type { StateTable } from '../../store/node-state.js';
import type { RingView } from './ring-view.js';

const RING_KEY = 'ring';

export interface RingCacheDeps {
  readonly view: RingView;
  readonly table: StateTable<RingDocument>;
}

export function isRingDocument(value: unknown): value is RingDocument {
  return validateRingDocument(value) === undefined;
}

export function ringCacheBehavior(deps: RingCacheDeps): Behavior<null, RingCacheMessage> {
  const status = (): RingStatus => {
    const snapshot = deps.view.current;
    return { ok: true, epoch: snapshot?.doc.epoch ?? 0, checksum: snapshot?.checksum ?? 0 };
  };
  return {
    accepts: ['install', 'status', 'get'],
    init(ctx) {
      const stored = deps.table.get(RING_KEY);
      if (stored && (deps.view.current?.doc.epoch ?? 0) < stored.epoch) {
        const snapshot = deps.view.install(stored);
        ctx.log.info('ring loaded from local state', { epoch: stored.epoch, checksum: snapshot.checksum });
      }
      return null;
    },
    async receive(state, message, ctx) {
      switch (message.type) {
        case 'install': {
          const problem = validateRingDocument(message.doc);
          if (problem) {
            ctx.log.warn('refused a malformed ring document', { problem });
            if (message.replyTo) ctx.system.reply(message.replyTo, { ok: false, code: 'BadRing', message: problem });
            return state;
          }
          const currentEpoch = deps.view.current?.doc.epoch ?? 0;
          if (message.doc.epoch < currentEpoch) {
            if (message.replyTo) ctx.system.reply(message.replyTo, { ok: false, code: 'StaleRing', message: `epoch ${message.doc.epoch} is older than ${currentEpoch}` });
            return state;
          }
          const differs = deps.view.current?.checksum !== ringChecksum(message.doc.current, { rackAware: message.doc.settings.rackAware });
          if (message.doc.epoch > currentEpoch || differs) {
            await deps.table.put(RING_KEY, message.doc);
            const snapshot = deps.view.install(message.doc);
            ctx.log.info('ring installed', { epoch: message.doc.epoch, checksum: snapshot.checksum, members: message.doc.current.length });
          }
          if (message.replyTo) ctx.system.reply(message.replyTo, status());
          return state;
        }
        case 'status':
          ctx.system.reply(message.replyTo, status());
          return state;
        case 'get':
          ctx.system.reply(message.replyTo, { ok: true, doc: deps.view.current?.doc ?? null });
          return state;
      }
    },
  };
}
