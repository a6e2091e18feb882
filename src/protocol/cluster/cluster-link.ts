/**
 * The contract of multi-cluster replication (LeoFS's multi data center replication): clusters linked
 * with `join-cluster` ship each other their writes, asynchronously, storage node to storage node.
 *
 *   manager  <-> remote manager   link_hello: who are you, which storage nodes take your shipments
 *   storage   -> own manager      link_view: this cluster's id and the linked clusters to ship to
 *   storage   -> remote storage   link_lacking, link_apply: which chunks are missing; store these versions
 *   storage   -> remote storage   link_digest, link_compare: the periodic comparison (link-sync.ts)
 *   manager   -> own storage      link_stats: what each node still has to ship, per linked cluster
 *
 * Nodes of another cluster reach only CLUSTER_LINK_PATH and LINK_RECEIVER_PATH, with the link's own
 * secret (runtime/remote/link-realms.ts). Versions cross with their clock, so every cluster orders
 * them alike (newest wins, ties by node name) and all converge; a tombstone crosses like any version.
 * Buckets cross by name: each cluster stores the version in its own incarnation of the bucket.
 */
import type { Hlc } from '../../core/hlc.js';
import type { ObjectMeta } from '../../core/object-meta.js';
import { actorRef, type ActorRef, type ReplyTo } from '../../runtime/refs.js';
import { isRealmId } from './realm-names.js';

/** On every manager: answers linked clusters' managers and this cluster's storage nodes. */
export const CLUSTER_LINK_PATH = '/node/manager/cluster_link';
/** On every storage node: takes shipments from linked clusters. */
export const LINK_RECEIVER_PATH = '/node/storage/link_receiver';
/** On every storage node: ships this node's writes to the linked clusters. */
export const LINK_SHIPPER_PATH = '/node/storage/link_shipper';
/** What nodes of a linked cluster may send to (nothing else of this cluster answers them). */
export const LINK_OFFERED_PATHS: readonly string[] = [CLUSTER_LINK_PATH, LINK_RECEIVER_PATH];

/** A cluster linked with this one, as the managers keep it (`join-cluster`). */
export interface LinkedCluster {
  readonly clusterId: string;
  /** Its managers' cluster addresses (host:port), as the operator gave them and as they told us since. */
  readonly managers: readonly string[];
  /** The link's own secret: both clusters are given the same one. */
  readonly secret: string;
  readonly joinedAtMs: number;
  /** The buckets whose objects are shipped to it, by name; absent: every bucket. */
  readonly buckets?: readonly string[];
}

/** Both clusters are given the same secret; a short one could be guessed from the handshakes. */
export const MIN_LINK_SECRET_LENGTH = 16;
const CLUSTER_ADDRESS = /^[A-Za-z0-9_.[\]:-]+:(\d{1,5})$/;

/** A cluster address (host:port) as another cluster's managers may name one: bounded, of the right form. */
export function isClusterAddress(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 255) return false;
  const port = CLUSTER_ADDRESS.exec(value)?.[1];
  return port !== undefined && Number(port) > 0 && Number(port) <= 65535;
}

/** The most managers and storage nodes a hello answer may name; a larger answer is refused. */
export const MAX_HELLO_MANAGERS = 16;
export const MAX_HELLO_STORAGE_NODES = 4_096;
const NODE_NAME = /^[A-Za-z0-9_.-]{1,64}@[A-Za-z0-9_.:-]{1,190}$/;

/** A node's own name as nodes are named (name@host), never realm-qualified. */
export function isNodeName(value: unknown): value is string {
  return typeof value === 'string' && NODE_NAME.test(value);
}

/** What is wrong with the operator's words for a link (join-cluster), or undefined when nothing is. */
export function linkJoinProblem(manager: string, clusterId: string, secret: string, buckets?: readonly string[]): string | undefined {
  const port = CLUSTER_ADDRESS.exec(manager)?.[1];
  if (port === undefined || Number(port) > 65535) return `${JSON.stringify(manager)} is not the host:port of a manager's cluster port, e.g. 10.0.0.5:4010`;
  if (!isRealmId(clusterId)) return `${JSON.stringify(clusterId)} is not a cluster id (leofs-adm cluster-status on that cluster shows it)`;
  if (secret.length < MIN_LINK_SECRET_LENGTH) return `the link secret must be at least ${MIN_LINK_SECRET_LENGTH} characters`;
  if (buckets !== undefined && (buckets.length === 0 || buckets.length > MAX_LINK_BUCKETS || !buckets.every((bucket) => typeof bucket === 'string' && bucket.length > 0 && bucket.length <= 63))) {
    return `--buckets names between 1 and ${MAX_LINK_BUCKETS} bucket names, comma-separated`;
  }
  return undefined;
}

export function isLinkedCluster(value: unknown): value is LinkedCluster {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    isRealmId(record.clusterId) &&
    Array.isArray(record.managers) && record.managers.every((manager) => typeof manager === 'string') &&
    typeof record.secret === 'string' && record.secret.length > 0 &&
    Number.isSafeInteger(record.joinedAtMs) &&
    (record.buckets === undefined || (Array.isArray(record.buckets) && record.buckets.every((bucket) => typeof bucket === 'string')))
  );
}

/** A storage node that takes shipments: its own name (without realm) and its cluster address. */
export interface LinkEndpoint {
  readonly node: string;
  readonly address: string;
}

export type LinkHelloReply =
  | { readonly ok: true; readonly clusterId: string; readonly managers: readonly string[]; readonly storage: readonly LinkEndpoint[] }
  | { readonly ok: false; readonly code: 'NotLinked'; readonly message: string };

/** A linked cluster as a storage node ships to it. */
export interface LinkTarget {
  readonly clusterId: string;
  readonly secret: string;
  /** Its storage nodes that take shipments; empty while its managers have not answered. */
  readonly storage: readonly LinkEndpoint[];
  /** The buckets shipped to it, by name; absent: every bucket. */
  readonly buckets?: readonly string[];
}

/** Whether objects of the bucket named `bucket` are shipped to `target`. */
export function shipsBucket(target: Pick<LinkTarget, 'buckets'> | undefined, bucket: string): boolean {
  return target?.buckets === undefined || target.buckets.includes(bucket);
}

/** The most buckets one link may name. */
export const MAX_LINK_BUCKETS = 1_000;

export type LinkViewReply =
  | { readonly ok: true; readonly self: string; readonly clusters: readonly LinkTarget[] }
  | { readonly ok: false; readonly code: 'Unavailable'; readonly message: string };

export type ClusterLinkMessage =
  /** From a linked cluster's manager; `clusterId` is the asker's cluster, which must be linked here. */
  | { readonly type: 'link_hello'; readonly clusterId: string; readonly replyTo: ReplyTo<LinkHelloReply> }
  /** From this cluster's storage nodes. */
  | { readonly type: 'link_view'; readonly replyTo: ReplyTo<LinkViewReply> };

/** One version shipped: `meta.bucket` is the bucket's name, never a namespace. */
export interface LinkEntry {
  readonly objectKind: 'object' | 'chunk';
  readonly meta: ObjectMeta;
  readonly body?: Uint8Array;
}

export type LinkEntryResult =
  | { readonly ok: true; readonly applied: boolean }
  | { readonly ok: false; readonly code: string; readonly message: string };

export type LinkApplyReply =
  | { readonly ok: true; readonly results: readonly LinkEntryResult[] }
  | { readonly ok: false; readonly code: string; readonly message: string };

export type LinkLackingReply =
  | { readonly ok: true; readonly lacking: readonly number[] }
  | { readonly ok: false; readonly code: string; readonly message: string };

export type LinkCompareReply =
  | { readonly ok: true; readonly behind: readonly number[] }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** A key's newest version as one cluster holds it, for a comparison with another. */
export interface LinkVersionSummary {
  readonly bucket: string;
  readonly key: string;
  readonly clock: Hlc;
  readonly deleted: boolean;
}

/**
 * A stretch of one bucket's keys, (after, upTo] in the order the stores keep keys (their UTF-8 bytes);
 * without `after` from the bucket's first key, without `upTo` to its last.
 */
export interface LinkScope {
  /** The bucket's name. */
  readonly bucket: string;
  readonly after?: string;
  readonly upTo?: string;
}

export type LinkDigestReply =
  /**
   * `upTo`, when present: this cluster holds too many keys in the stretch to fold it at once, and folded
   * it only as far as that key (the asker compares that shorter stretch). `digest` null: compare the
   * stretch key by key.
   */
  | { readonly ok: true; readonly digest: number | null; readonly keys: number; readonly upTo?: string }
  | { readonly ok: false; readonly code: string; readonly message: string };

export type LinkReceiverMessage =
  /** Which of these chunks (bucket name and chunk key) this cluster does not hold: their indexes. */
  | { readonly type: 'link_lacking'; readonly chunks: ReadonlyArray<{ readonly bucket: string; readonly key: string }>; readonly replyTo: ReplyTo<LinkLackingReply> }
  /** Store these versions (chunks before the objects that name them); one result per entry. */
  | { readonly type: 'link_apply'; readonly entries: readonly LinkEntry[]; readonly replyTo: ReplyTo<LinkApplyReply> }
  /** Which of these versions this cluster lacks (it holds none of the key, or an older one): their indexes. */
  | { readonly type: 'link_compare'; readonly versions: readonly LinkVersionSummary[]; readonly replyTo: ReplyTo<LinkCompareReply> }
  /** This cluster's digest of the stretch (core/link-digest.ts). */
  | { readonly type: 'link_digest'; readonly scope: LinkScope; readonly replyTo: ReplyTo<LinkDigestReply> };

/** Whether `value` is a well-formed LinkScope. */
export function isLinkScope(value: unknown): value is LinkScope {
  if (typeof value !== 'object' || value === null) return false;
  const { bucket, after, upTo } = value as Record<string, unknown>;
  const isKey = (key: unknown): boolean => key === undefined || (typeof key === 'string' && key.length <= MAX_SCOPE_KEY_LENGTH);
  return typeof bucket === 'string' && bucket.length > 0 && bucket.length <= 255 && isKey(after) && isKey(upTo);
}

/** Longer than any key S3 allows, with room for what names a chunk. */
const MAX_SCOPE_KEY_LENGTH = 2_048;

/** What one storage node has yet to ship to one linked cluster. */
export interface LinkQueueStats {
  readonly clusterId: string;
  /** Keys waiting to be shipped. */
  readonly queued: number;
  /** When the oldest of them was written (ms since the epoch), null when none waits. */
  readonly oldestMs: number | null;
  readonly shippedObjects: number;
  readonly shippedBytes: number;
  /** Why the last shipment failed, when it did. */
  readonly lastError?: string;
  /** The comparison of this cluster's keys with the linked cluster's, where this node leads it (what the queues missed is queued again). */
  readonly sync?: LinkSyncStats;
}

export interface LinkSyncStats {
  /** Whole passes over the buckets shipped there done while this node led. */
  readonly passes: number;
  /** Keys compared (by digests of stretches of keys) in the pass under way. */
  readonly compared: number;
  /** Keys found missing or older there, and queued, since the node started leading. */
  readonly behind: number;
  /** When the last whole pass ended; null before the first. */
  readonly lastPassMs: number | null;
}

export type LinkShipperMessage = { readonly type: 'link_stats'; readonly replyTo: ReplyTo<{ readonly ok: true; readonly clusters: readonly LinkQueueStats[] }> };

export const clusterLinkRef = (managerNode: string): ActorRef<ClusterLinkMessage> => actorRef(managerNode, CLUSTER_LINK_PATH);
export const linkReceiverRef = (storageNode: string): ActorRef<LinkReceiverMessage> => actorRef(storageNode, LINK_RECEIVER_PATH);
export const linkShipperRef = (storageNode: string): ActorRef<LinkShipperMessage> => actorRef(storageNode, LINK_SHIPPER_PATH);
