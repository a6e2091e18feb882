/**
 * The coordinator of reads on this node; see read-coordinator.ts. Reads run concurrently.
 */
import { isBodySlice } from '../../core/body-slice.js';
import { OBJECT_KINDS } from '../../core/object-meta.js';
import type { Behavior } from '../../runtime/actor.js';
import type { ReaderMessage } from '../../protocol/cluster/reader.js';
import { coordinateRead } from './read-coordinator.js';
import type { StorageContext } from './storage-context.js';

export function readerBehavior(context: StorageContext): Behavior<null, ReaderMessage> {
  return {
    accepts: ['get'],
    init: () => null,
    receive(state, message, ctx) {
      context.clientRequests.note();
      const { objectKind, bucket, key, bodySlice, fileOnMachine } = message;
      const malformed =
        !OBJECT_KINDS.includes(objectKind) ||
        typeof bucket !== 'string' ||
        typeof key !== 'string' ||
        (bodySlice !== undefined && !isBodySlice(bodySlice)) ||
        (fileOnMachine !== undefined && typeof fileOnMachine !== 'string');
      if (malformed) {
        ctx.system.reply(message.replyTo, { ok: false, code: 'InternalError', message: 'malformed read request' });
        return state;
      }
      const request = { objectKind, bucket, key, withBody: message.withBody === true, ...(bodySlice ? { bodySlice } : {}), ...(fileOnMachine === undefined ? {} : { fileOnMachine }) };
      void coordinateRead(ctx.system, context, ctx.log, request).then((result) => ctx.system.reply(message.replyTo, result));
      return state;
    },
  };
}
