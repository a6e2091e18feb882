/**
 * What other nodes may ask a storage node's router (its well-known entry point): the replica
 * operations of replication and repair, and the local inspections used by `whereis` and listing.
 */
import type { ObjectMeta } from '../../core/object-meta.js';
import type { ReplyTo } from '../../runtime/refs.js';

export const STORAGE_ROUTER_PATH = '/node/storage/router';

/** Objects are what S3 lists; chunks are the pieces of large objects, ring objects of their own. */
export type ObjectKind = 'object' | 'chunk';

export type HeadLocalReply =
  | { readonly ok: true; readonly meta: ObjectMeta | null }
  | { readonly ok: false; readonly code: 'Unavailable'; readonly message: string };

export type HeadLocalMessage = {
  readonly type: 'head_local';
  readonly objectKind: ObjectKind;
  readonly bucket: string;
  readonly key: string;
  readonly replyTo: ReplyTo<HeadLocalReply>;
};
