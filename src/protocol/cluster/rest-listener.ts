/**
 * The contract of a gateway's REST listener actor: its status (where it listens, requests in flight).
 */
import { actorRef, type ActorRef, type ReplyTo } from '../../runtime/refs.js';

export const REST_LISTENER_PATH = '/node/gateway/rest';

export interface RestListenerStatus {
  readonly ok: true;
  readonly host: string;
  readonly port: number;
  readonly inFlight: number;
}

export type RestListenerMessage = { readonly type: 'status'; readonly replyTo: ReplyTo<RestListenerStatus> };

export const restListenerRef = (gatewayNode: string): ActorRef<RestListenerMessage> => actorRef(gatewayNode, REST_LISTENER_PATH);
