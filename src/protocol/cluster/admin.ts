/**
 * The contract of the manager's admin actor: the administration commands (LeoFS's leofs-adm set, as
 * far as it is implemented) and their answers, as data: the CLI builds a command, the manager's admin actor runs it and answers with rows and
 * fields that the CLI prints as a table or as JSON. Commands arrive from the wire, so they are checked
 * here before anything runs.
 */
import type { AccessKeyRecord, AccessKeyView, BucketAcl, BucketRecord, EndpointRecord, UserRecord, UserRole, UserView } from '../../core/auth-snapshot.js';
import { isBucketAcl, isUserRole } from '../../core/auth-snapshot.js';
import type { RingDocument } from '../../core/ring/ring-document.js';
import { isSessionRevocation, type SessionRevocation } from '../../core/console-sessions.js';
import type { ReplyTo } from '../../runtime/refs.js';
import type { PeerInfo } from '../../runtime/remote/transport.js';
import type { DiskUsage } from '../../store/object-store.js';
import type { BucketSize } from '../../core/bucket-stats.js';
import type { DeletedBucketStats } from './bucket-deletion.js';
import type { BucketLifecycleProgress, LifecycleExplainReply } from './lifecycle.js';
import type { ClusterStatus, MemberAction, MemberState, RebalanceReply, RebalanceStatus } from './ring-keeper.js';
import type { AntiEntropyStats, RecoveryProgress } from './anti-entropy.js';
import type { HandoffStatus } from './handoff.js';
import type { QueueStats } from './queues.js';
import type { CompactionAction, CompactionStatus } from './storage.js';
import type { NodeAlarms, WatchdogStatus } from './watchdog.js';
import type { BackupHeader, ManagerStatus } from './consensus.js';
import type { LinkBacklog } from '../../core/link-backlog.js';
import type { LinkStatus } from './link-keeper.js';
import type { ActorSummary } from './node-info.js';
import type { TrafficHistoryReply } from './traffic.js';
import { linkJoinProblem } from './cluster-link.js';
import { isMemberAction } from './ring-keeper.js';

export type AdminMessage = { readonly type: 'admin'; readonly command: AdminCommand; readonly replyTo: ReplyTo<AdminReply> };

export type AdminCommand =
  | { readonly command: 'status'; readonly node?: string }
  | { readonly command: 'start'; readonly n: number; readonly w: number; readonly r: number; readonly d: number; readonly rackAware: boolean }
  | { readonly command: 'whereis'; readonly bucket: string; readonly key: string }
  | { readonly command: 'create_user'; readonly userId: string; readonly role?: UserRole; readonly accessKeyId?: string; readonly secretAccessKey?: string; readonly displayName?: string }
  | { readonly command: 'delete_user'; readonly userId: string }
  | { readonly command: 'get_users' }
  /** Ends web console sessions on every manager: one (a logout), or a user's or access key's opened up to `beforeMs`. */
  | { readonly command: 'revoke_console_sessions'; readonly revocation: SessionRevocation }
  /** Whether the secret is the access key's: how the web console checks who logs in (never listed, never logged). */
  | { readonly command: 'check_credentials'; readonly accessKeyId: string; readonly secretAccessKey: string }
  | { readonly command: 'update_user_role'; readonly userId: string; readonly role: UserRole }
  /** A second access key for the user (a user holds at most two): how a key is rotated before the old one is deleted. */
  | { readonly command: 'add_access_key'; readonly userId: string }
  | { readonly command: 'delete_access_key'; readonly userId: string; readonly accessKeyId: string }
  | { readonly command: 'get_access_keys'; readonly userId: string }
  | { readonly command: 'add_bucket'; readonly bucket: string; readonly accessKeyId: string; readonly acl?: BucketAcl }
  | { readonly command: 'delete_bucket'; readonly bucket: string; readonly accessKeyId: string }
  | { readonly command: 'delete_bucket_stats'; readonly bucket?: string }
  /** Every storage node's lifecycle passes: running and last finished, per bucket (one bucket's when given). */
  | { readonly command: 'lifecycle_status'; readonly bucket?: string }
  /** Why one key is or is not expired by its bucket's lifecycle rules now. */
  | { readonly command: 'lifecycle_explain'; readonly bucket: string; readonly key: string }
  | { readonly command: 'compact'; readonly node: string; readonly action: CompactionAction }
  | { readonly command: 'du'; readonly node: string }
  | { readonly command: 'get_buckets' }
  /**
   * Each bucket's objects and bytes (one bucket's when given), summed over the storage nodes; a result
   * a few seconds old is answered again unless `fresh`.
   */
  | { readonly command: 'bucket_stats'; readonly bucket?: string; readonly fresh?: boolean }
  | { readonly command: 'get_bucket'; readonly accessKeyId: string }
  | { readonly command: 'chown_bucket'; readonly bucket: string; readonly accessKeyId: string }
  | { readonly command: 'update_acl'; readonly bucket: string; readonly accessKeyId: string; readonly acl: BucketAcl }
  | { readonly command: 'add_endpoint'; readonly host: string }
  | { readonly command: 'delete_endpoint'; readonly host: string }
  | { readonly command: 'get_endpoints' }
  | { readonly command: 'dump_ring'; readonly node?: string }
  | { readonly command: 'update_log_level'; readonly node: string; readonly level: string }
  /** A tunable that changes live: `log_level`, or a watchdog threshold as `watchdog.<name>`. */
  | { readonly command: 'update_property'; readonly node: string; readonly key: string; readonly value: string }
  /** Drops one object from every gateway's cache. */
  | { readonly command: 'purge_cache'; readonly bucket: string; readonly key: string }
  | { readonly command: 'version' }
  /** A consistent copy of the managers' replicated state, for a backup file. */
  | { readonly command: 'backup_manager' }
  | { readonly command: 'member_action'; readonly action: MemberAction; readonly node: string }
  /** `rateBytesPerSec`: per receiving node, 0 for no limit; absent: the running one's, or the configured default. */
  | { readonly command: 'rebalance'; readonly rateBytesPerSec?: number }
  | { readonly command: 'rebalance_status' }
  | { readonly command: 'mq_stats'; readonly node: string }
  /** The last hour of a node's requests (every node's with request counters when none is named): rates, latency and bytes, sampled by the managers. */
  | { readonly command: 'metrics_history'; readonly node?: string }
  /** A node's actors with their status, mailbox depth and crashes (what `leofs shell` shows as `actors NODE`). */
  | { readonly command: 'actors'; readonly node: string }
  /** `queue` absent: every queue of the node. */
  | { readonly command: 'mq_suspend' | 'mq_resume'; readonly node: string; readonly queue?: string }
  | { readonly command: 'recover_file'; readonly bucket: string; readonly key: string }
  | { readonly command: 'recover_node' | 'recover_consistency' | 'recover_ring'; readonly node: string }
  | { readonly command: 'recovery_status' }
  /** Links this cluster with another (multi-cluster replication); its operator joins this one with the same secret. */
  /** `buckets`: ship only the objects of these buckets (by name); absent: every bucket. */
  | { readonly command: 'join_cluster'; readonly manager: string; readonly clusterId: string; readonly secret: string; readonly buckets?: readonly string[] }
  | { readonly command: 'remove_cluster'; readonly clusterId: string }
  /** This cluster's id, and each linked cluster's link and what the storage nodes still have to ship to it. */
  | { readonly command: 'cluster_status' };

export type AdminCommandName = AdminCommand['command'];

/** What one replica says about a key in `whereis`. */
export type WhereisAnswer =
  | { readonly ok: true; readonly exists: false }
  | {
      readonly ok: true;
      readonly exists: true;
      readonly sizeBytes: number;
      readonly etag: string;
      /** The version's hybrid logical clock as text: wall time, counter, stamping node. */
      readonly clock: string;
      readonly tombstone: boolean;
      readonly lastModifiedMs: number;
    }
  | { readonly ok: false; readonly error: string };

export interface WhereisRow {
  readonly node: string;
  /** `previous` rows are replicas of the ring before the last change, still read while data moves. */
  readonly ring: 'current' | 'previous';
  readonly state: MemberState | 'unknown';
  readonly answer: WhereisAnswer;
}

export interface NodeDetails {
  readonly node: string;
  readonly role: string;
  readonly address: string | null;
  readonly state: MemberState | 'unknown';
  readonly startedAtMs: number;
  readonly uptimeMs: number;
  readonly ring: { readonly epoch: number; readonly checksum: number } | null;
  readonly peers: readonly PeerInfo[];
  readonly version: string | null;
  /** Its watchdog's readings, alarms and thresholds; null when it did not answer. */
  readonly watchdog: Omit<WatchdogStatus, 'ok'> | null;
}

export type AdminResult =
  | ({
      readonly kind: 'cluster_status';
      readonly rebalance?: Omit<RebalanceStatus, 'ok'>;
      readonly alarms: readonly NodeAlarms[];
      /** Every manager: its role, log position and lag; empty when the consensus status could not be read. */
      readonly managers: readonly ManagerStatus[];
    } & Omit<ClusterStatus, 'ok'>)
  | ({ readonly kind: 'node_status' } & NodeDetails)
  | { readonly kind: 'versions'; readonly nodes: ReadonlyArray<{ readonly node: string; readonly role: string; readonly version: string | null }> }
  | { readonly kind: 'cache_purged'; readonly bucket: string; readonly key: string; readonly gateways: ReadonlyArray<{ readonly node: string; readonly purged: boolean }> }
  | { readonly kind: 'started'; readonly epoch: number; readonly checksum: number; readonly members: readonly string[] }
  | { readonly kind: 'whereis'; readonly bucket: string; readonly key: string; readonly position: string; readonly replicas: readonly WhereisRow[] }
  /** A created or imported user, with its secret: shown this once. */
  | { readonly kind: 'user'; readonly user: UserRecord }
  | { readonly kind: 'users'; readonly users: readonly UserView[] }
  /** A key just added, with its secret: shown this once. */
  | { readonly kind: 'access_key'; readonly userId: string; readonly key: AccessKeyRecord }
  | { readonly kind: 'access_keys'; readonly userId: string; readonly keys: readonly AccessKeyView[] }
  /** The user whose credentials were checked. */
  | { readonly kind: 'credentials'; readonly user: UserView }
  | { readonly kind: 'bucket'; readonly bucket: BucketRecord }
  | { readonly kind: 'buckets'; readonly buckets: readonly BucketRecord[] }
  | { readonly kind: 'endpoints'; readonly endpoints: readonly EndpointRecord[] }
  | {
      readonly kind: 'bucket_stats';
      readonly buckets: readonly BucketStatsRow[];
      /** When the storage nodes were asked, by the manager's clock (a cached result is that old). */
      readonly countedAtMs: number;
      /** The storage nodes whose counts are summed. */
      readonly nodes: readonly string[];
      /** Ring members not running: their keys are counted by their next replica. */
      readonly notRunning: readonly string[];
      /** Nodes whose counts are missing from the sums, and why. */
      readonly missing: ReadonlyArray<{ readonly node: string; readonly reason: string }>;
      /** Some keys may be uncounted: a node is missing, or every replica of some keys is not running. */
      readonly partial: boolean;
      /** A rebalance moves data: a key not yet on its new first replica is not counted until it is. */
      readonly rebalancing: boolean;
    }
  | { readonly kind: 'delete_bucket_stats'; readonly buckets: readonly DeletedBucketStats[] }
  | {
      readonly kind: 'lifecycle_status';
      readonly nodes: ReadonlyArray<{ readonly node: string; readonly buckets: readonly BucketLifecycleProgress[] }>;
      readonly unreachable: readonly string[];
    }
  | ({ readonly kind: 'lifecycle_explain'; readonly bucket: string; readonly key: string } & Omit<Extract<LifecycleExplainReply, { ok: true }>, 'ok'>)
  | ({ readonly kind: 'compaction'; readonly node: string } & CompactionStatus)
  | ({ readonly kind: 'disk_usage'; readonly node: string } & DiskUsage)
  | { readonly kind: 'ring'; readonly node: string; readonly checksum: number; readonly doc: RingDocument | null }
  | { readonly kind: 'done'; readonly message: string }
  /** A backup prepared on the leader, to fetch page by page from its consensus actor. */
  | { readonly kind: 'manager_backup'; readonly backup: BackupHeader }
  | ({ readonly kind: 'rebalance' } & Omit<Extract<RebalanceReply, { ok: true }>, 'ok'>)
  | ({ readonly kind: 'rebalance_status' } & Omit<RebalanceStatus, 'ok'>)
  | {
      readonly kind: 'queues';
      readonly node: string;
      readonly queues: QueueStats['queues'];
      readonly antiEntropy: Omit<AntiEntropyStats, 'ok'> | null;
      readonly handoff: Omit<HandoffStatus, 'ok'> | null;
    }
  /** `atMs`: the manager's clock when it answered; points are oldest first, one per sample interval. */
  | ({ readonly kind: 'metrics_history'; readonly atMs: number } & Omit<TrafficHistoryReply, 'ok'>)
  /** `atMs`: the manager's clock when the node answered, to tell how long ago a crash was. */
  | { readonly kind: 'actors'; readonly node: string; readonly atMs: number; readonly actors: readonly ActorSummary[] }
  | { readonly kind: 'recover_file'; readonly bucket: string; readonly key: string; readonly items: readonly RecoverFileItem[] }
  /** Every storage member's last recovery (null: none asked of it since it started; absent from `unreachable`). */
  | {
      readonly kind: 'recovery_status';
      readonly nodes: ReadonlyArray<{ readonly node: string; readonly recovery: RecoveryProgress | null }>;
      readonly unreachable: readonly string[];
    }
  /** A link just made with join-cluster, and how the other cluster answered the first hello. */
  | { readonly kind: 'link_joined'; readonly link: LinkStatus }
  /** `unreachable`: running storage nodes that did not say what they have to ship. */
  | { readonly kind: 'linked_clusters'; readonly clusterId: string | null; readonly clusters: readonly LinkedClusterReport[]; readonly unreachable: readonly string[] };

/** A linked cluster in cluster-status: its link, and the storage nodes' shipments to it summed. */
export type LinkedClusterReport = Omit<LinkStatus, 'storage'> & {
  /** Its storage nodes that take shipments, as its managers last said. */
  readonly storageNodes: number;
  readonly backlog: LinkBacklog;
};

/** One bucket in bucket-stats: who owns it, its ACL, and its size summed over the storage nodes. */
export type BucketStatsRow = { readonly bucket: string; readonly owner: string; readonly acl: BucketAcl } & BucketSize;

/** One ring object of a recovered file (the object, or a chunk of it) and the repairs queued for it. */
export interface RecoverFileItem {
  readonly kind: 'object' | 'chunk';
  readonly key: string;
  /** Holder of the newest version, whose recoverer makes the others equal; null when no replica answered with one. */
  readonly newestOn: string | null;
  /** Replicas queued for repair from it. */
  readonly repairing: readonly string[];
  /** Replicas that did not answer. */
  readonly unreachable: readonly string[];
}

export type AdminReply = { readonly ok: true; readonly result: AdminResult } | { readonly ok: false; readonly code: string; readonly message: string };

type Fields = Readonly<Record<string, unknown>>;

/** Checks a command from the wire; a string says what is wrong with it. */
export function parseAdminCommand(value: unknown): AdminCommand | string {
  if (typeof value !== 'object' || value === null) return 'the command is not an object';
  const raw = value as Fields;
  const text = (name: string): string | undefined => (typeof raw[name] === 'string' && (raw[name] as string).length > 0 ? (raw[name] as string) : undefined);
  const need = (name: string): string => {
    const found = text(name);
    if (found === undefined) throw new CommandError(`${name} is required`);
    return found;
  };
  const optional = (name: string): string | undefined => {
    if (raw[name] === undefined) return undefined;
    const found = text(name);
    if (found === undefined) throw new CommandError(`${name} must be a non-empty string`);
    return found;
  };
  const integer = (name: string): number => {
    const found = raw[name];
    if (typeof found !== 'number' || !Number.isInteger(found)) throw new CommandError(`${name} must be an integer (got ${JSON.stringify(found)})`);
    return found;
  };
  const acl = (name: string): BucketAcl => {
    const found = raw[name];
    if (!isBucketAcl(found)) throw new CommandError(`${name} must be one of private, public-read, public-read-write, authenticated-read (got ${JSON.stringify(found)})`);
    return found;
  };
  const role = (name: string): UserRole => {
    const found = raw[name];
    if (!isUserRole(found)) throw new CommandError(`${name} must be admin or normal (got ${JSON.stringify(found)})`);
    return found;
  };
  const withOptional = <T extends object>(base: T, extra: Fields): T => {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [name, field] of Object.entries(extra)) if (field !== undefined) out[name] = field;
    return out as T;
  };
  try {
    const command = raw.command;
    switch (command) {
      case 'status':
        return withOptional({ command }, { node: optional('node') });
      case 'start':
        return { command, n: integer('n'), w: integer('w'), r: integer('r'), d: integer('d'), rackAware: raw.rackAware === true };
      case 'whereis':
        return { command, bucket: need('bucket'), key: need('key') };
      case 'create_user':
        return withOptional(
          { command, userId: need('userId') },
          { role: raw.role === undefined ? undefined : role('role'), accessKeyId: optional('accessKeyId'), secretAccessKey: optional('secretAccessKey'), displayName: optional('displayName') },
        );
      case 'delete_user':
      case 'add_access_key':
      case 'get_access_keys':
        return { command, userId: need('userId') };
      case 'delete_access_key':
        return { command, userId: need('userId'), accessKeyId: need('accessKeyId') };
      case 'check_credentials':
        return { command, accessKeyId: need('accessKeyId'), secretAccessKey: need('secretAccessKey') };
      case 'revoke_console_sessions': {
        const revocation = raw.revocation;
        if (!isSessionRevocation(revocation)) throw new CommandError('revocation must name a session, user or access key (kind, subject) with beforeMs and untilMs');
        const { kind, subject, beforeMs, untilMs } = revocation;
        return { command, revocation: { kind, subject, beforeMs, untilMs } };
      }
      case 'get_users':
      case 'get_buckets':
      case 'get_endpoints':
        return { command };
      case 'update_user_role':
        return { command, userId: need('userId'), role: role('role') };
      case 'add_bucket':
        return withOptional({ command, bucket: need('bucket'), accessKeyId: need('accessKeyId') }, { acl: raw.acl === undefined ? undefined : acl('acl') });
      case 'delete_bucket':
      case 'chown_bucket':
        return { command, bucket: need('bucket'), accessKeyId: need('accessKeyId') };
      case 'get_bucket':
        return { command, accessKeyId: need('accessKeyId') };
      case 'bucket_stats': {
        if (raw.fresh !== undefined && typeof raw.fresh !== 'boolean') throw new CommandError('fresh must be true or false');
        return withOptional({ command }, { bucket: optional('bucket'), fresh: raw.fresh === true ? true : undefined });
      }
      case 'delete_bucket_stats':
      case 'lifecycle_status':
        return withOptional({ command }, { bucket: optional('bucket') });
      case 'lifecycle_explain':
        return { command, bucket: need('bucket'), key: need('key') };
      case 'compact': {
        const action = raw.action;
        if (action !== 'start' && action !== 'suspend' && action !== 'resume' && action !== 'status') throw new CommandError('action must be start, suspend, resume or status');
        return { command, node: need('node'), action };
      }
      case 'du':
        return { command, node: need('node') };
      case 'update_acl':
        return { command, bucket: need('bucket'), accessKeyId: need('accessKeyId'), acl: acl('acl') };
      case 'add_endpoint':
      case 'delete_endpoint':
        return { command, host: need('host') };
      case 'dump_ring':
      case 'metrics_history':
        return withOptional({ command }, { node: optional('node') });
      case 'update_log_level':
        return { command, node: need('node'), level: need('level') };
      case 'update_property':
        return { command, node: need('node'), key: need('key'), value: need('value') };
      case 'purge_cache':
        return { command, bucket: need('bucket'), key: need('key') };
      case 'version':
      case 'backup_manager':
        return { command };
      case 'member_action': {
        const action = raw.action;
        if (!isMemberAction(action)) throw new CommandError('action must be detach, rollback, suspend or resume');
        return { command, action, node: need('node') };
      }
      case 'rebalance': {
        const rate = raw.rateBytesPerSec;
        if (rate === undefined) return { command };
        if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) throw new CommandError(`rateBytesPerSec must be a number of at least 0 (got ${JSON.stringify(rate)})`);
        return { command, rateBytesPerSec: rate };
      }
      case 'rebalance_status':
      case 'recovery_status':
        return { command };
      case 'mq_stats':
      case 'actors':
      case 'recover_node':
      case 'recover_consistency':
      case 'recover_ring':
        return { command, node: need('node') };
      case 'mq_suspend':
      case 'mq_resume':
        return withOptional({ command, node: need('node') }, { queue: optional('queue') });
      case 'recover_file':
        return { command, bucket: need('bucket'), key: need('key') };
      case 'join_cluster': {
        const joined = { command, manager: need('manager'), clusterId: need('clusterId'), secret: need('secret') };
        const buckets = raw.buckets;
        if (buckets !== undefined && !Array.isArray(buckets)) throw new CommandError('buckets must be a list of bucket names');
        const problem = linkJoinProblem(joined.manager, joined.clusterId, joined.secret, buckets as string[] | undefined);
        if (problem !== undefined) throw new CommandError(problem);
        return buckets === undefined ? joined : { ...joined, buckets: buckets as string[] };
      }
      case 'remove_cluster':
        return { command, clusterId: need('clusterId') };
      case 'cluster_status':
        return { command };
      default:
        return `unknown command ${JSON.stringify(command)}`;
    }
  } catch (error) {
    if (error instanceof CommandError) return error.message;
    throw error;
  }
}

class CommandError extends Error {}
