/**
 * The contract of every node's introspection actor: liveness (ping), peers and their link state, the
 * actors of the node, its log level, and a ping of another node from there.
 */
import type { RuntimeFailure } from '../../runtime/failures.js';
import type { ReplyTo } from '../../runtime/refs.js';
import type { PeerInfo } from '../../runtime/remote/transport.js';

export interface NodeFacts {
  readonly node: string;
  readonly role: string;
  readonly address: string | null;
  readonly startedAtMs: number;
  /** The release the node runs. */
  readonly version?: string;
}


/** One actor of a node as an operator sees it. */
export interface ActorSummary {
  readonly path: string;
  readonly status: string;
  readonly incarnation: number;
  /** Messages waiting for it. */
  readonly mailbox: number;
  /** Incarnations that crashed since the node started. */
  readonly crashes: number;
  readonly lastCrash: { readonly atMs: number; readonly reason: string } | null;
}

export type PingReply = { ok: true; node: string; role: string; uptimeMs: number };
export type PingNodeReply = { ok: true; node: string; roundTripMs: number } | RuntimeFailure;
export type SetLogLevelReply = { ok: true } | { ok: false; code: 'BadLevel'; message: string };

export type NodeInfoMessage =
  | { readonly type: 'ping'; readonly delayMs?: number; readonly replyTo: ReplyTo<PingReply> }
  | { readonly type: 'ping_node'; readonly node: string; readonly timeoutMs: number; readonly delayMs?: number; readonly replyTo: ReplyTo<PingNodeReply> }
  | { readonly type: 'which_nodes'; readonly replyTo: ReplyTo<{ ok: true; facts: NodeFacts; peers: PeerInfo[] }> }
  | { readonly type: 'which_actors'; readonly replyTo: ReplyTo<{ ok: true; actors: ActorSummary[] }> }
  | { readonly type: 'set_log_level'; readonly level: string; readonly replyTo: ReplyTo<SetLogLevelReply> };
