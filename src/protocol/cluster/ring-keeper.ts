/**
 * The contract of the manager's ring keeper: how a node joins the cluster, and what the admin asks
 * of the cluster's members, settings and ring.
 */
import type { ClusterSettings, RingDocument } from '../../core/ring/ring-document.js';
import type { ReplyTo } from '../../runtime/refs.js';
import type { NodeEvent } from '../../runtime/system.js';
import type { HandoffStatus } from './handoff.js';
import type { Role } from './roles.js';

/**
 * LeoFS's node states. Storage: `attached` (joined, not in the ring), `running` (in the ring, up),
 * `stop` (in the ring, down), `suspend` (in the ring, left out of requests by the operator),
 * `restarted` (suspended, and restarted since: it waits for `resume`), `detached` (to leave the ring at
 * the next rebalance). Others: running, stop.
 */
export const MEMBER_STATES = ['attached', 'running', 'stop', 'suspend', 'restarted', 'detached'] as const;
export type MemberState = (typeof MEMBER_STATES)[number];


export interface StorageInfo {
  readonly alias: string;
  readonly numOfVnodes: number;
  readonly rack?: string;
}

/** What a storage node says about itself when it joins (from its config). */
export interface StorageJoin {
  readonly numOfVnodes: number;
  readonly rack?: string;
  readonly alias?: string;
}


export interface MemberView {
  readonly node: string;
  readonly role: Role;
  readonly address: string | null;
  readonly state: MemberState;
  readonly joinedAtMs: number;
  readonly storage?: StorageInfo;
}

export interface RingReport {
  readonly epoch: number;
  readonly checksum: number;
  readonly atMs: number;
}

export interface MemberStatus extends MemberView {
  /** The ring the member last reported; null before it has. */
  readonly ring: RingReport | null;
}

export interface ClusterStatus {
  readonly ok: true;
  /** Null until `start`. */
  readonly settings: ClusterSettings | null;
  readonly epoch: number;
  readonly checksum: number;
  readonly previousChecksum: number | null;
  /** Whether every running member reported the current ring. */
  readonly consistent: boolean;
  readonly members: readonly MemberStatus[];
}

export interface StartSettings {
  readonly n: number;
  readonly w: number;
  readonly r: number;
  readonly d: number;
  readonly rackAware?: boolean;
}

export type JoinReply =
  | { readonly ok: true; readonly members: readonly MemberView[] }
  | { readonly ok: false; readonly code: 'BadJoin' | 'RoleMismatch' | 'AliasInUse'; readonly message: string };

export type StartReply =
  | { readonly ok: true; readonly epoch: number; readonly checksum: number; readonly members: readonly string[] }
  | { readonly ok: false; readonly code: 'AlreadyStarted' | 'BadQuorum' | 'NotEnoughNodes' | 'BadMembers'; readonly message: string };

/** Operator commands on one storage node (LeoFS's detach, rollback, suspend, resume). */
export const MEMBER_ACTIONS = ['detach', 'rollback', 'suspend', 'resume'] as const;
export type MemberAction = (typeof MEMBER_ACTIONS)[number];

export function isMemberAction(value: unknown): value is MemberAction {
  return (MEMBER_ACTIONS as readonly unknown[]).includes(value);
}

export type MemberActionReply =
  | { readonly ok: true; readonly node: string; readonly state: MemberState; readonly message: string }
  | { readonly ok: false; readonly code: 'UnknownNode' | 'NotStorage' | 'NotStarted' | 'BadState' | 'NotEnoughNodes' | 'RebalanceRunning'; readonly message: string };

export type RebalanceReply =
  | {
      readonly ok: true;
      /** Whether a new ring was made (false: only the rate of the running rebalance changed). */
      readonly started: boolean;
      readonly epoch: number;
      readonly checksum: number;
      readonly joined: readonly string[];
      readonly left: readonly string[];
      /** Nodes that receive data. */
      readonly receivers: readonly string[];
      readonly segments: number;
      readonly rateBytesPerSec: number;
    }
  | { readonly ok: false; readonly code: 'NotStarted' | 'NothingToDo' | 'NotEnoughNodes' | 'BadMembers' | 'RebalanceRunning' | 'RingsDiffer' | 'BadRate' | 'ReleasePending'; readonly message: string };

export interface ReceiverProgress {
  readonly node: string;
  /** The node's last answer; null while it has not answered for this change. */
  readonly status: HandoffStatus | null;
}

export interface RebalanceStatus {
  readonly ok: true;
  /** Whether data is still moving (the ring keeps its previous membership). */
  readonly running: boolean;
  readonly epoch: number;
  readonly checksum: number;
  readonly previousChecksum: number | null;
  readonly rateBytesPerSec: number;
  readonly receivers: readonly ReceiverProgress[];
}

export type RingKeeperMessage =
  | {
      readonly type: 'join';
      readonly node: string;
      readonly role: string;
      readonly address: string | null;
      readonly storage?: StorageJoin;
      readonly replyTo: ReplyTo<JoinReply>;
    }
  | { readonly type: 'list'; readonly replyTo: ReplyTo<{ readonly ok: true; readonly members: readonly MemberView[] }> }
  | { readonly type: 'status'; readonly replyTo: ReplyTo<ClusterStatus> }
  | { readonly type: 'get_ring'; readonly replyTo: ReplyTo<{ readonly ok: true; readonly doc: RingDocument | null }> }
  | { readonly type: 'start'; readonly settings: StartSettings; readonly replyTo: ReplyTo<StartReply> }
  | { readonly type: 'member_action'; readonly action: MemberAction; readonly node: string; readonly replyTo: ReplyTo<MemberActionReply> }
  /** `rateBytesPerSec`: the limit per receiving node (0: none); alone while one runs, it changes that one's rate. */
  | { readonly type: 'rebalance'; readonly rateBytesPerSec?: number; readonly replyTo: ReplyTo<RebalanceReply> }
  | { readonly type: 'rebalance_status'; readonly replyTo: ReplyTo<RebalanceStatus> }
  | { readonly type: 'handoff_reported'; readonly node: string; readonly status: HandoffStatus }
  | { readonly type: 'node_event'; readonly event: NodeEvent }
  | { readonly type: 'check_rings'; readonly timer: number }
  | { readonly type: 'ring_reported'; readonly node: string; readonly epoch: number; readonly checksum: number; readonly fromCheck: boolean };
