/**
 * Between the storage nodes of one cluster, for the periodic comparison with linked clusters: one node
 * leads each comparison and asks every node for the digest of the keys it judges in a stretch of a
 * bucket, and, where the clusters differ, to compare those keys one by one and queue what the other
 * cluster lacks. Linked clusters never reach this path.
 */
import { actorRef, type ActorRef, type ReplyTo } from '../../runtime/refs.js';
import type { LinkScope } from './cluster-link.js';

export const LINK_SYNC_PATH = '/node/storage/link_sync';

/** The most keys a node looks at for one stretch, whoever asks: more are compared key by key. */
export const MAX_SCOPE_KEYS = 4_096;

/** A stretch of keys as one cluster's nodes address it: the scope, and that cluster's namespace of its bucket. */
export interface LocalScope extends LinkScope {
  readonly namespace: string;
}

export type ScopeDigestReply =
  /**
   * The digest of the `keys` this node judges among the `looked` it looked at (tombstones included);
   * `reached` is the last key it looked at when `limit` stopped it, null when it went through the stretch.
   */
  | { readonly ok: true; readonly digest: number; readonly keys: number; readonly looked: number; readonly reached: string | null }
  | { readonly ok: false; readonly code: string; readonly message: string };

export type ScopeCompareReply =
  /** `reached`: the last key compared when the node's limit stopped it, null when it went through the stretch. */
  | { readonly ok: true; readonly compared: number; readonly behind: number; readonly reached: string | null }
  | { readonly ok: false; readonly code: string; readonly message: string };

export type LinkSyncMessage =
  | { readonly type: 'scope_digest'; readonly scope: LocalScope; readonly limit: number; readonly replyTo: ReplyTo<ScopeDigestReply> }
  /** Compare the keys this node judges in the stretch with the linked cluster's, and queue what it lacks. */
  | { readonly type: 'scope_compare'; readonly clusterId: string; readonly scope: LocalScope; readonly replyTo: ReplyTo<ScopeCompareReply> };

export const linkSyncRef = (storageNode: string): ActorRef<LinkSyncMessage> => actorRef(storageNode, LINK_SYNC_PATH);
