/**
 * The supervision tree every node starts, whatever its role:
 *
 *   /node                 one_for_one
 *     /node/info          introspection (ping, peers, actors, log level)
 *     /node/ring          this node's durable copy of the ring
 *     /node/directory     cluster members and their addresses
 *     /node/watchdog      samples the node's vital signs, raises alarms, tells the managers' leader
 *     /node/<role>        the role's own tree
 */
import type { LogLevel } from '../runtime/logger.js';
import type { ClusterNode } from '../runtime/node.js';
import { supervisor, worker, type ChildSpec, type SupervisorSpec } from '../runtime/supervisor.js';
import { directoryBehavior } from './common/directory.js';
import { nodeInfoBehavior } from './common/node-info.js';
import { watchdogBehavior, type WatchdogDeps } from './common/watchdog.js';
import { isRingDocument, ringCacheBehavior } from './common/ring-cache.js';
import type { RingView } from './common/ring-view.js';
import type { NodeHealth } from './common/node-health.js';
import type { ManagerLink } from './common/manager-link.js';
import type { NodeState } from '../store/node-state.js';
import type { StorageJoin } from '../protocol/cluster/ring-keeper.js';
import type { Role } from '../protocol/cluster/roles.js';
import type { TrafficCounters } from '../core/traffic-history.js';

export interface NodeTreeOptions {
  readonly role: Role;
  /** Finds and follows the managers' leader; absent on the managers themselves. */
  readonly managers?: ManagerLink;
  readonly roleTree: SupervisorSpec;
  readonly startedAtMs: number;
  readonly nodeState: NodeState;
  readonly ringView: RingView;
  /** A storage node's weight and rack, told to the manager when it joins. */
  readonly storage?: StorageJoin;
  /** Told whether the node has joined the cluster (readiness). */
  readonly health?: NodeHealth;
  /** The release the node runs, told to whoever asks. */
  readonly version?: string;
  readonly watchdog?: WatchdogDeps;
  /** The node's request counters, which the managers sample for their charts. */
  readonly traffic?: () => Promise<TrafficCounters | null>;
}

/** What the common tree needs of the node it runs on. */
export type NodeTreeHost = Pick<ClusterNode, 'system' | 'logger'> & {
  readonly transport: Pick<ClusterNode['transport'], 'address' | 'peerInfo' | 'addPeer'>;
};

export function nodeTree(node: NodeTreeHost, options: NodeTreeOptions): SupervisorSpec {
  const { system, transport } = node;
  const children: ChildSpec[] = [
    worker(
      'info',
      nodeInfoBehavior({
        facts: () => ({ node: system.node, role: options.role, address: transport.address, startedAtMs: options.startedAtMs, ...(options.version ? { version: options.version } : {}) }),
        peers: () => transport.peerInfo(),
        actors: () => system.listActors(),
        setLogLevel: (level: LogLevel) => node.logger.setLevel(level),
        deliverGuarded: (path, message) => system.deliverGuarded(path, message),
        onLogLine: (observer) => node.logger.onLine(observer),
        linkBacklogBytes: (peer) => transport.peerInfo().find((info) => info.node === peer)?.bufferedBytes ?? 0,
        ...(options.traffic ? { traffic: options.traffic } : {}),
      }),
    ),
    worker('ring', ringCacheBehavior({ view: options.ringView, table: options.nodeState.table('ring', isRingDocument) })),
    worker(
      'directory',
      directoryBehavior({
        self: { node: system.node, role: options.role },
        ...(options.storage ? { storage: options.storage } : {}),
        address: () => transport.address,
        managers: options.managers,
        addPeer: (peer, address) => transport.addPeer(peer, address),
        watchNodes: (listener) => system.onNodeEvent(listener),
        ...(options.health ? { health: options.health } : {}),
      }),
    ),
    ...(options.watchdog ? [worker('watchdog', watchdogBehavior(options.watchdog))] : []),
    supervisor(options.role, options.roleTree),
  ];
  return { strategy: 'one_for_one', maxRestarts: 10, periodMs: 60_000, children };
}
