/**
 * The contract of every node's ring cache: the manager installs ring documents there and reads back
 * the epoch and checksum each node holds.
 */
import type { RingDocument } from '../../core/ring/ring-document.js';
import type { ReplyTo } from '../../runtime/refs.js';

export interface RingStatus {
  readonly ok: true;
  readonly epoch: number;
  /** CRC32 of the current ring; 0 when no ring is installed yet. */
  readonly checksum: number;
}

export type InstallReply = RingStatus | { readonly ok: false; readonly code: 'BadRing' | 'StaleRing'; readonly message: string };

export type RingCacheMessage =
  | { readonly type: 'install'; readonly doc: RingDocument; readonly replyTo?: ReplyTo<InstallReply> }
  | { readonly type: 'status'; readonly replyTo: ReplyTo<RingStatus> }
  | { readonly type: 'get'; readonly replyTo: ReplyTo<{ ok: true; doc: RingDocument | null }> };
