/**
 * The contract of every node's introspection actor: liveness (ping), peers and their link state, the
 * actors of the node, its log level, a ping of another node from there, a message delivered to any of
 * its actors on an operator's behalf (guarded, so it cannot crash the actor), and its log lines
 * followed under a lease (what `leofs shell` uses), and its request counters (what the managers chart).
 */
import type { RuntimeFailure } from '../../runtime/failures.js';
import type { ActorRef, ReplyTo } from '../../runtime/refs.js';
import type { PeerInfo } from '../../runtime/remote/transport.js';
import type { TrafficCounters } from '../../core/traffic-history.js';

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

/** A batch of a followed node's log lines (JSON, as the node writes them), sent to its follower. */
export interface LogLinesMessage {
  readonly type: 'log';
  readonly node: string;
  readonly lines: readonly string[];
  /** Lines left out since the last batch: over the follower's rate or queue limit. */
  readonly dropped: number;
}

export type FollowReply =
  | { readonly ok: true; readonly node: string; readonly leaseMs: number; readonly linesPerSecond: number }
  | { readonly ok: false; readonly code: 'BadFollow' | 'TooManyFollowers'; readonly message: string };

export type PingReply = { ok: true; node: string; role: string; uptimeMs: number };
export type PingNodeReply = { ok: true; node: string; roundTripMs: number } | RuntimeFailure;
export type TrafficReply = { readonly ok: true; readonly traffic: TrafficCounters | null } | RuntimeFailure;
export type SetLogLevelReply = { ok: true } | { ok: false; code: 'BadLevel'; message: string };

export type NodeInfoMessage =
  | { readonly type: 'ping'; readonly delayMs?: number; readonly replyTo: ReplyTo<PingReply> }
  | { readonly type: 'ping_node'; readonly node: string; readonly timeoutMs: number; readonly delayMs?: number; readonly replyTo: ReplyTo<PingNodeReply> }
  | { readonly type: 'which_nodes'; readonly replyTo: ReplyTo<{ ok: true; facts: NodeFacts; peers: PeerInfo[] }> }
  | { readonly type: 'which_actors'; readonly replyTo: ReplyTo<{ ok: true; actors: ActorSummary[] }> }
  | { readonly type: 'set_log_level'; readonly level: string; readonly replyTo: ReplyTo<SetLogLevelReply> }
  /** The node's request counters now, summed over its APIs and operations; null on a node that answers no requests of clients. */
  | { readonly type: 'traffic'; readonly replyTo: ReplyTo<TrafficReply> }
  /**
   * `message` goes to the actor at `path` on this node with this message's `replyTo`, so its answer
   * goes straight to the asker; if the actor's handler throws on it, the asker gets BadMessage and the
   * actor keeps running. Unknown paths are answered NoProc, types the actor does not accept BadMessage.
   */
  | { readonly type: 'deliver'; readonly path: string; readonly message: unknown; readonly replyTo: ReplyTo<unknown> }
  /**
   * Sends this node's log lines to `subscriber` for `leaseMs` (bounded); asking again renews the lease,
   * and a follower that stops renewing is dropped once it lapses.
   */
  | { readonly type: 'follow'; readonly subscriber: ActorRef<LogLinesMessage>; readonly leaseMs: number; readonly replyTo: ReplyTo<FollowReply> }
  | { readonly type: 'unfollow'; readonly subscriber: ActorRef<LogLinesMessage>; readonly replyTo: ReplyTo<{ ok: true; wasFollowing: boolean }> }
  /** Internal: time to send the followers what was logged. */
  | { readonly type: 'flush_log' };
