/**
 * Everything a storage node needs besides the common tree: its object store (opened once, outliving
 * actor restarts), the shared context of its actors, and their supervision tree.
 */
import type { ClusterNode } from '../../runtime/node.js';
import type { SupervisorSpec } from '../../runtime/supervisor.js';
import { machineIdentity } from '../../store/same-machine.js';
import { ObjectStore } from '../../store/object-store.js';
import type { MetaFormat } from '../../store/meta-encoding.js';
import type { RingView } from '../common/ring-view.js';
import { presenceTiming } from '../../core/purge-rules.js';
import { HlcSource } from './hlc-source.js';
import { PeerAbsence } from './peer-absence.js';
import { PresenceGate } from './presence-gate.js';
import { RangeDigests } from './range-digests.js';
import { LinkQueues } from './link-queues.js';
import { SettleBatcher } from './settle-batcher.js';
import { DEFAULT_STORAGE_OPTIONS, isRepairItem, isRevertItem, UNCOUNTED, type StorageContext, type StorageOptions } from './storage-context.js';
import { storageMetrics } from './storage-metrics.js';
import { BackgroundPace } from './background-pace.js';
import { ClientRequests } from './client-requests.js';
import { WriteGate } from './write-gate.js';
import { throttles, type Alarm, type WatchdogThresholds } from '../../core/watchdog-rules.js';
import type { HealthCheck } from '../common/node-health.js';
import type { Registry } from 'prom-client';
import { storageTree } from './storage-tree.js';
import { BytesOnlyPeers } from '../common/bytes-only-peers.js';
import { StorageClient } from '../common/storage-client.js';
import type { BucketRecord } from '../../core/auth-snapshot.js';
import type { LinkViewReply } from '../../protocol/cluster/cluster-link.js';
import type { LinkRealms } from '../../runtime/remote/link-realms.js';

export interface StorageRoleOptions {
  readonly dataDir: string;
  readonly ringView: RingView;
  readonly capacityBytes?: number;
  readonly minFreeDiskBytes?: number;
  readonly tuning?: Partial<StorageOptions>;
  /** Sync every commit to disk (default); a simulation that never loses power may skip it. */
  readonly durable?: boolean;
  /** Write body files past the page cache where the file system allows it (default true). */
  readonly directBodyWrites?: boolean;
  /** The format metadata records are written in (store/meta-encoding.ts; default 3). */
  readonly metaFormat?: MetaFormat;
  /** The node's randomness (Math.random by default; a simulation seeds it). */
  readonly random?: () => number;
  /** Where the storage instruments go, when the node exports metrics. */
  readonly metrics?: Registry;
  /** Every bucket, from the manager (for the lifecycle worker); undefined while it cannot be asked. */
  readonly buckets?: () => Promise<readonly BucketRecord[] | undefined>;
  /** The linked clusters, from the manager (multi-cluster replication); absent: none. */
  readonly linkView?: () => Promise<LinkViewReply | undefined>;
  /** The transport's book of linked clusters, which the shipper keeps up to date. */
  readonly realms?: LinkRealms;
  /** The machine this node runs on, as same-machine readers and writers name it (store/same-machine.ts; the kernel's by default). */
  readonly machine?: string;
}

export interface StorageRole {
  readonly context: StorageContext;
  readonly tree: SupervisorSpec;
  /** What the node's watchdog alarms do here: slow background work, refuse writes, turn read-only. */
  applyAlarms(alarms: readonly Alarm[], thresholds: WatchdogThresholds): void;
  /** Readiness: serving its data, and writable. */
  readonly healthChecks: ReadonlyArray<() => HealthCheck>;
  close(): Promise<void>;
}

/** What a storage node needs of the node it runs on: its actor system, clock, logger and who is up. */
export type StorageHost = Pick<ClusterNode, 'system' | 'clock' | 'logger'> & {
  readonly transport: Pick<ClusterNode['transport'], 'isUp' | 'isKnownDown' | 'addPeer'>;
};

export function storageRole(node: StorageHost, options: StorageRoleOptions): StorageRole {
  const storageOptions = { ...DEFAULT_STORAGE_OPTIONS, ...options.tuning };
  const store = ObjectStore.open({
    path: options.dataDir,
    logger: node.logger,
    now: () => node.clock.now(),
    elapsed: () => node.clock.elapsed(),
    ...(options.durable === false ? { durable: false } : {}),
    ...(options.directBodyWrites === false ? { directBodyWrites: false } : {}),
    ...(options.metaFormat !== undefined ? { metaFormat: options.metaFormat } : {}),
    ...(options.capacityBytes !== undefined ? { capacityBytes: options.capacityBytes } : {}),
    ...(options.minFreeDiskBytes !== undefined ? { minFreeDiskBytes: options.minFreeDiskBytes } : {}),
    // A coordinator decides a write within its replica timeout, which the nodes of a cluster share.
    writeDecidedWithinMs: storageOptions.replicaTimeoutMs,
  });
  // Files a crash left without their record go; files written from now on are never touched by it.
  void store.sweepBodyFiles().catch((error: unknown) => node.logger.warn('cannot sweep body files', { error }));
  const self = node.system.node;
  const absence = new PeerAbsence({ self, clock: node.clock, isUp: (peer) => node.transport.isUp(peer) });
  const stopWatchingNodes = node.system.onNodeEvent((event) => absence.observe(event));
  // Closed before any actor starts when the node comes back from a long absence.
  const timing = presenceTiming(storageOptions.purgeHorizonMs, storageOptions.presenceRefreshMs);
  const presence = new PresenceGate(node.clock, timing, store.presence.lastPresentMs());
  const repairs = store.queue('repair', isRepairItem);
  const reverts = store.queue('revert', isRevertItem);
  const pace = new BackgroundPace();
  const writes = new WriteGate();
  const links = new LinkQueues(store);
  const counters = options.metrics ? storageMetrics(options.metrics, { system: node.system, store, queues: { repair: repairs, revert: reverts }, pace, writes, links, now: () => node.clock.now() }) : UNCOUNTED;
  const context: StorageContext = {
    node: self,
    store,
    ringView: options.ringView,
    hlc: new HlcSource(self, node.clock, store.clockFloor),
    clock: node.clock,
    random: options.random ?? Math.random,
    // A node that does not serve its data (or is suspended) counts itself down, so its coordinators leave it out.
    isKnownDown: (peer) => (peer === self ? !presence.serving || options.ringView.isSuspended(self) : node.transport.isKnownDown(peer) || options.ringView.isSuspended(peer)),
    absence,
    presence,
    repairs,
    reverts,
    digests: new RangeDigests(store, options.ringView, () => node.clock.now()),
    links,
    settles: new SettleBatcher(node.system),
    bytesOnlyPeers: new BytesOnlyPeers(() => node.clock.now()),
    machine: options.machine ?? machineIdentity(),
    counters,
    pace,
    clientRequests: new ClientRequests(),
    writes,
    options: storageOptions,
  };
  return {
    context,
    applyAlarms: (alarms, thresholds) => {
      context.pace.set(throttles(alarms) ? thresholds.throttleFactor : 1);
      context.writes.apply(alarms);
    },
    healthChecks: [
      () => (presence.serving ? { name: 'serving', ok: true, detail: 'serves its data' } : { name: 'serving', ok: false, detail: 'holds its data back after a long absence until it has caught up' }),
      () => {
        const refusing = context.writes.readOnly ?? context.writes.overloaded;
        if (refusing === undefined) return { name: 'writable', ok: true, detail: 'takes writes' };
        return { name: 'writable', ok: false, detail: context.writes.readOnly !== undefined ? `read-only: ${refusing}` : `refusing writes: ${refusing}` };
      },
    ],
    tree: storageTree(context, {
      system: node.system,
      buckets: options.buckets ?? (() => Promise.resolve(undefined)),
      storage: new StorageClient({ system: node.system, ringView: options.ringView, isKnownDown: (peer) => node.transport.isKnownDown(peer) || options.ringView.isSuspended(peer), isUp: (peer) => node.transport.isUp(peer), now: () => node.clock.now() }),
      watchNodes: (listener) => node.system.onNodeEvent(listener),
      links: {
        linkView: options.linkView ?? (() => Promise.resolve(undefined)),
        realms: options.realms,
        addPeer: (peer, address) => node.transport.addPeer(peer, address),
      },
    }),
    close: () => {
      stopWatchingNodes();
      return store.close();
    },
  };
}
