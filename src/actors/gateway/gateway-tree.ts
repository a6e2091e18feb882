/**
 * The gateway's tree. Its HTTP listener and request handlers hang here, next to the copy of users,
 * keys, buckets and endpoints they authenticate and authorize with.
 *
 *   /node/gateway          one_for_one
 *     /node/gateway/auth   users, keys, buckets, endpoints pushed by the manager
 *     /node/gateway/http   the S3 API (request handlers run in their own scopes, not in its mailbox)
 *     /node/gateway/nfs    the NFS v3 gateway, when enabled (nfs/), on the same storage paths and cache
 *     /node/gateway/rest   the unsigned REST API, when configured (rest/), on the same request pipeline and cache
 */
import { worker, type ChildSpec, type SupervisorSpec } from '../../runtime/supervisor.js';
import type { ClusterNode } from '../../runtime/node.js';
import { isAuthSnapshot } from '../../core/auth-snapshot.js';
import type { NodeState } from '../../store/node-state.js';
import { sealedSnapshotCodec } from '../../store/sealed-auth-records.js';
import type { SecretBox } from '../../store/secret-box.js';
import type { Logger } from '../../runtime/logger.js';
import { AUTH_CACHE_TABLE, authCacheBehavior } from '../common/auth-cache.js';
import type { AuthView } from '../common/auth-view.js';
import type { RingView } from '../common/ring-view.js';
import { hostOf, StorageClient } from '../common/storage-client.js';
import { machineIdentity } from '../../store/same-machine.js';
import { SameMachineReads } from './same-machine-reads.js';
import { removeStagedBodies, StagingArea } from '../../store/staged-bodies.js';
import { managerBucketAdmin } from './bucket-admin.js';
import type { ManagerLink } from '../common/manager-link.js';
import type { GatewayConfig } from './gateway-config.js';
import { httpListenerBehavior, LISTENER_STOP_MARGIN_MS } from './http-listener.js';
import { ObjectCache } from './object-cache.js';
import { DISK_CACHE_DIR, diskCacheOf } from './gateway-server.js';
import { managerCachePeers } from './cache-peers.js';
import { gatewayMetrics } from './gateway-metrics.js';
import type { Registry } from 'prom-client';
import type { MasterKeys } from '../../core/object-encryption.js';
import { join } from 'node:path';
import { isHandleRecord } from './nfs/file-handles.js';
import { nfsListenerBehavior } from './nfs/nfs-listener.js';
import { dropCopiesOfEndedBuckets } from './cache-incarnations.js';
import { restListenerBehavior } from './rest/rest-listener.js';

/** How long a bucket change may take at the manager. */
const BUCKET_ADMIN_TIMEOUT_MS = 10_000;
/** A deletion seals, lists and announces on every storage node, each within the manager's own deadlines. */
const BUCKET_DELETE_TIMEOUT_MS = 30_000;

export interface GatewayTreeOptions {
  readonly nodeState: NodeState;
  /** Seals users' secrets in the cached snapshot; made from the cluster cookie. */
  readonly secrets: SecretBox;
  /** Read by request handlers; kept current by the auth cache. */
  readonly authView: AuthView;
  /** The S3 API; without it the tree only keeps the auth cache (as tests of the manager use it). */
  readonly s3?: GatewayS3Options;
}

export interface GatewayS3Options {
  readonly node: ClusterNode;
  readonly ringView: RingView;
  readonly config: GatewayConfig;
  /** Finds the managers' leader, which creates and deletes buckets. */
  readonly managers: ManagerLink;
  /** Where the gateway's instruments go, when the node exports metrics. */
  readonly metrics?: Registry;
  /** The operator's keys that wrap SSE-S3 objects' data keys; without them SSE-S3 is refused. */
  readonly masterKeys?: MasterKeys;
  /** The gateway's data directory: NFS buffers files too large for memory under it, the disk cache lives under it. */
  readonly dataDir?: string;
}

export function gatewayTree(options: GatewayTreeOptions): SupervisorSpec {
  const children: ChildSpec[] = [
    worker('auth', authCacheBehavior({ view: options.authView, table: options.nodeState.table(AUTH_CACHE_TABLE, isAuthSnapshot, sealedSnapshotCodec(options.secrets)) })),
  ];
  if (options.s3 !== undefined) children.push(...s3Listeners(options.authView, options.nodeState, options.s3));
  return { strategy: 'one_for_one', maxRestarts: 10, periodMs: 60_000, children };
}

/**
 * Run at start, before the tree: seals a cached snapshot that an earlier release stored in plain text.
 * A snapshot that does not open with this cookie is dropped; the manager sends a new one.
 */
export async function upgradeGatewayState(nodeState: NodeState, secrets: SecretBox, logger: Logger): Promise<void> {
  const codec = sealedSnapshotCodec(secrets);
  const { unreadable } = await nodeState.upgrade(AUTH_CACHE_TABLE, isAuthSnapshot, codec);
  if (unreadable.length === 0) return;
  logger.warn('the cached users and buckets cannot be decrypted with this cluster cookie; dropped them until the manager sends them again');
  const table = nodeState.table(AUTH_CACHE_TABLE, isAuthSnapshot, codec);
  for (const key of unreadable) await table.remove(key);
}

function s3Listeners(authView: AuthView, nodeState: NodeState, options: GatewayS3Options): ChildSpec[] {
  const { node, config } = options;
  const thisMachine = config.sameMachineReads || config.sameMachineWrites ? machineIdentity() : undefined;
  if ((config.sameMachineReads || config.sameMachineWrites) && thisMachine === undefined) node.logger.info('this system cannot tell which storage nodes share its machine; bodies are sent');
  // Staging files live under the data directory: a gateway without one sends every body.
  const stagingDir = options.dataDir === undefined ? undefined : join(options.dataDir, STAGING_DIR);
  const staging = config.sameMachineWrites && thisMachine !== undefined && stagingDir !== undefined ? new StagingArea(stagingDir, thisMachine, node.logger) : undefined;
  // What a gateway that stopped left there goes at start, also when it no longer stages.
  if (staging !== undefined) void staging.open();
  else if (stagingDir !== undefined) void removeStagedBodies(stagingDir, node.logger);
  const client = new StorageClient({
    system: node.system,
    ringView: options.ringView,
    isKnownDown: (peer) => node.transport.isKnownDown(peer) || options.ringView.isSuspended(peer),
    isUp: (peer) => node.transport.isUp(peer),
    requestTimeoutMs: config.storageTimeoutMs,
    nearHost: hostOf(node.system.node),
    ...(staging ? { staging } : {}),
    now: () => node.clock.now(),
  });
  const machine = config.sameMachineReads ? thisMachine : undefined;
  const sameMachine = machine === undefined ? undefined : new SameMachineReads(client, machine, node.logger);
  const storage = sameMachine ?? client;
  const bucketAdmin = managerBucketAdmin({ managers: options.managers, timeoutMs: BUCKET_ADMIN_TIMEOUT_MS, deleteTimeoutMs: BUCKET_DELETE_TIMEOUT_MS });
  const cache = new ObjectCache(config.cacheBytes, config.cacheMaxObjectBytes);
  const diskCache = diskCacheOf(config, join(options.dataDir ?? '.', DISK_CACHE_DIR), node.clock, node.logger);
  dropCopiesOfEndedBuckets(authView, [cache, diskCache]);
  const cachePeers = managerCachePeers({ api: node.system, managers: options.managers, clock: node.clock, log: node.logger });
  const requests = options.metrics ? gatewayMetrics(options.metrics, cache, diskCache, sameMachine, client) : undefined;
  const masterKeys = options.masterKeys;
  const listenerDeps = { config, storage, authView, bucketAdmin, cache, diskCache, cachePeers, ...(masterKeys ? { masterKeys } : {}) };
  const http = worker('http', httpListenerBehavior({ ...listenerDeps, ...(requests ? { requests } : {}) }), {
    shutdownTimeoutMs: config.shutdownTimeoutMs + LISTENER_STOP_MARGIN_MS,
  });
  const listeners = [http];
  if (config.rest !== undefined) {
    listeners.push(worker('rest', restListenerBehavior({ ...listenerDeps, ...(requests ? { requests } : {}), rest: config.rest }), {
      shutdownTimeoutMs: config.shutdownTimeoutMs + LISTENER_STOP_MARGIN_MS,
    }));
  }
  if (!config.nfs.enabled) return listeners;
  const nfs = worker('nfs', nfsListenerBehavior({
    ...listenerDeps,
    nfs: config.nfs,
    handleTable: nodeState.table(NFS_HANDLE_TABLE, isHandleRecord),
    spillDir: join(options.dataDir ?? '.', 'nfs-spill'),
  }), { shutdownTimeoutMs: config.shutdownTimeoutMs + LISTENER_STOP_MARGIN_MS });
  return [...listeners, nfs];
}

/** Where large bodies are staged for the storage nodes on this machine, under the gateway's data directory. */
const STAGING_DIR = 'staging';

/** hash → key of NFS handles too long to hold their key, kept across restarts. */
const NFS_HANDLE_TABLE = 'nfs_handles';
