/**
 * The contract of a storage node's reader, the coordinator of reads: what a gateway (or any client of
 * the cluster) sends to read one object from the replicas of its key.
 */
import type { BodySlice } from '../../core/body-slice.js';
import type { ObjectKind } from '../../core/object-meta.js';
import { actorRef, type ReplyTo } from '../../runtime/refs.js';
import type { GetResult } from './storage-api.js';

export const READER_PATH = '/node/storage/reader';

/** One object to read from the replicas of its key. */
export interface ReadRequest {
  readonly objectKind: ObjectKind;
  readonly bucket: string;
  readonly key: string;
  readonly withBody: boolean;
  /** With `withBody`: only these bytes of the body. */
  readonly bodySlice?: BodySlice;
  /** With `withBody`: see GetOptions.fileOnMachine. */
  readonly fileOnMachine?: string;
}

export type ReaderMessage = ReadRequest & { readonly type: 'get'; readonly replyTo: ReplyTo<GetResult> };

export const readerRef = (node: string) => actorRef<ReaderMessage>(node, READER_PATH);
