/**
 * The contract of a gateway's HTTP listener actor, which the manager reaches for `purge-cache`: its
 * status (port, requests in flight, object cache) and purges of its cache, whole or one object.
 */
import { actorRef, type ActorRef, type ReplyTo } from '../../runtime/refs.js';

/** Where the listener lives on every gateway. */
export const HTTP_LISTENER_PATH = '/node/gateway/http';

export interface ObjectCacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly hits: number;
  readonly misses: number;
}

export interface HttpListenerStatus {
  readonly ok: true;
  readonly host: string;
  readonly port: number;
  readonly inFlight: number;
  /** The memory tier. */
  readonly cache: ObjectCacheStats;
  /** The disk tier, when it is on. */
  readonly diskCache?: ObjectCacheStats;
}

export type HttpListenerMessage =
  | { readonly type: 'status'; readonly replyTo: ReplyTo<HttpListenerStatus> }
  /** Both tiers. Both `bucket` and `key`: that object only; neither: everything. */
  | { readonly type: 'purge_cache'; readonly bucket?: string; readonly key?: string; readonly replyTo?: ReplyTo<{ readonly ok: true }> };

export const httpListenerRef = (gatewayNode: string): ActorRef<HttpListenerMessage> => actorRef(gatewayNode, HTTP_LISTENER_PATH);
