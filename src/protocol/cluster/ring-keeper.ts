/**
 * The contract of the manager's ring keeper: how a node joins the cluster, and what the admin asks
 * of the cluster's members, settings and ring.
 */
import type { ClusterSettings, RingDocument } from '../../core/ring/ring-document.js';
import type { ReplyTo } from '../../runtime/refs.js';
import type { NodeEvent } from '../../runtime/system.js';
import type { Role } from './roles.js';

/**
 * LeoFS's node states. Storage: `attached` (joined, not in the ring), `running` (in the ring, up),
 * `stop` (in the ring, down), `suspend` and `detached` (set by later commands). Others: running, stop.
 */
export const MEMBER_STATES = ['attached', 'running', 'stop', 'suspend', 'detached'] as const;
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
  | { readonly type: 'node_event'; readonly event: NodeEvent }
  | { readonly type: 'check_rings'; readonly timer: number }
  | { readonly type: 'ring_reported'; readonly node: string; readonly epoch: number; readonly checksum: number; readonly fromCheck: boolean };
