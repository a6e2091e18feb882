/**
 * The contract of a gateway's NFS listener actor: its status (where it listens, files being written).
 */
import { actorRef, type ActorRef, type ReplyTo } from '../../runtime/refs.js';

export const NFS_LISTENER_PATH = '/node/gateway/nfs';

export interface NfsListenerStatus {
  readonly ok: true;
  readonly host: string;
  readonly port: number;
  /** Files with buffered writes. */
  readonly openFiles: number;
}

export type NfsListenerMessage = { readonly type: 'status'; readonly replyTo: ReplyTo<NfsListenerStatus> };

export const nfsListenerRef = (gatewayNode: string): ActorRef<NfsListenerMessage> => actorRef(gatewayNode, NFS_LISTENER_PATH);
