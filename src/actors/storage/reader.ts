/**
 * The coordinator of reads on this node; see read-coordinator.ts. Reads run concurrently.
 */
import { isBodySlice, type BodySlice } from '../../core/body-slice.js';
import { OBJECT_KINDS, type ObjectKind } from '../../core/object-meta.js';
import type { Behavior } from '../../runtime/actor.js';
import { actorRef, type ReplyTo } from '../../runtime/refs.js';
import type { GetResult } from '../common/storage-api.js';
import { coordinateRead } from './read-coordinator.js';
import type { StorageContext } from './storage-context.js';

export const READER_PATH = '/node/storage/reader';

export type ReaderMessage = {
  readonly type: 'get';
  readonly objectKind: ObjectKind;
  readonly bucket: string;
  readonly key: string;
  readonly withBody: boolean;
  /** With `withBody`: only these bytes of the body. */
  readonly bodySlice?: BodySlice;
  readonly replyTo: ReplyTo<GetResult>;
};

export const readerRef = (node: string) => actorRef<ReaderMessage>(node, READER_PATH);

export function readerBehavior(context: StorageContext): Behavior<null, ReaderMessage> {
  return {
    accepts: ['get'],
    init: () => null,
    receive(state, message, ctx) {
      const { objectKind, bucket, key, bodySlice } = message;
      const malformed = !OBJECT_KINDS.includes(objectKind) || typeof bucket !== 'string' || typeof key !== 'string' || (bodySlice !== undefined && !isBodySlice(bodySlice));
      if (malformed) {
        ctx.system.reply(message.replyTo, { ok: false, code: 'InternalError', message: 'malformed read request' });
        return state;
      }
      const request = { objectKind, bucket, key, withBody: message.withBody === true, ...(bodySlice ? { bodySlice } : {}) };
      void coordinateRead(ctx.system, context, ctx.log, request).then((result) => ctx.system.reply(message.replyTo, result));
      return state;
    },
  };
}
