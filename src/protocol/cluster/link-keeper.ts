/**
 * The contract of the leader's link keeper: the clusters linked with this one (`join-cluster`), kept
 * in the replicated `linked_clusters` table, and how each answers now. The admin actor asks it; its
 * answers never carry a link's secret.
 */
import { actorRef, type ActorRef, type ReplyTo } from '../../runtime/refs.js';
import type { LinkEndpoint } from './cluster-link.js';

/** Only the managers' leader runs it. */
export const LINK_KEEPER_PATH = '/node/manager/link_keeper';

/**
 * `up`: its managers answered the last hello. `waiting`: they refuse this cluster, which is what a
 * cluster that has not run join-cluster for this one yet does (or one given another secret).
 * `down`: no manager of it could be reached. `unknown`: not asked yet.
 */
export type LinkState = 'up' | 'waiting' | 'down' | 'unknown';

export interface LinkStatus {
  readonly clusterId: string;
  readonly managers: readonly string[];
  readonly joinedAtMs: number;
  /** The buckets shipped to it; absent: every bucket. */
  readonly buckets?: readonly string[];
  readonly state: LinkState;
  /** Why it is waiting or down. */
  readonly reason?: string;
  /** When its managers last answered a hello; null when they never did since this manager leads. */
  readonly lastContactMs: number | null;
  /** Its storage nodes that take shipments, as its last answer named them. */
  readonly storage: readonly LinkEndpoint[];
}

export type LinkJoinReply = { readonly ok: true; readonly link: LinkStatus } | { readonly ok: false; readonly code: 'InvalidArgument' | 'NotReady'; readonly message: string };
export type LinkRemoveReply = { readonly ok: true } | { readonly ok: false; readonly code: 'NoSuchCluster'; readonly message: string };
export type LinksReply = { readonly ok: true; readonly self: string | null; readonly links: readonly LinkStatus[] };

export type LinkKeeperMessage =
  /** Links `clusterId` (or gives it a new secret and manager), then says hello to it once. */
  | { readonly type: 'join'; readonly clusterId: string; readonly manager: string; readonly secret: string; readonly buckets?: readonly string[]; readonly replyTo: ReplyTo<LinkJoinReply> }
  | { readonly type: 'remove'; readonly clusterId: string; readonly replyTo: ReplyTo<LinkRemoveReply> }
  | { readonly type: 'links'; readonly replyTo: ReplyTo<LinksReply> };

export const linkKeeperRef = (managerNode: string): ActorRef<LinkKeeperMessage> => actorRef(managerNode, LINK_KEEPER_PATH);
