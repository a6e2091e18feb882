/**
 * The manager's tree:
 *
 *   /node/manager               one_for_one
 *     /node/manager/consensus    the managers' replicated log (on every manager)
 *     /node/manager/cluster_link what linked clusters and this cluster's storage nodes ask (on every manager)
 *     /node/manager/traffic      samples each member's request counters for the last hour (on every manager)
 *   and, on the leader only, started when it is elected and stopped when it is not any more:
 *     /node/manager/ring_keeper  members, cluster settings, the ring and its distribution
 *     /node/manager/auth         users, keys, buckets, endpoints, pushed to gateways
 *     /node/manager/bucket_deletion  ends buckets' incarnations and has storage nodes purge them
 *     /node/manager/alarms       the alarms each node's watchdog reports
 *     /node/manager/link_keeper  the clusters linked with this one, and how each answers
 *     /node/manager/console_sessions  ends web console sessions on every manager (replicated revocations)
 *     /node/manager/admin        the leofs-adm entry point
 *
 * The duties keep their state in the replicated tables, so a newly elected leader starts them on the
 * same members, rings, users and buckets its predecessor had.
 */
import type { ClusterNode } from '../../runtime/node.js';
import { isRuntimeFailure } from '../../runtime/failures.js';
import { worker, type ChildSpec, type StartChildReply, type SupervisorMessage, type SupervisorSpec, type TerminateChildReply } from '../../runtime/supervisor.js';
import { actorRef } from '../../runtime/refs.js';
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { isBucketRecord, isEndpointRecord, isUserRecord } from '../../core/auth-snapshot.js';
import { isDeletedBucketRecord, isDeletionIntent } from '../../core/bucket-deletion.js';
import { writeAdminCredentials } from '../../store/admin-credentials.js';
import type { NodeState, TableSource, TableUpgrade } from '../../store/node-state.js';
import { ConsensusStore } from '../../store/consensus-store.js';
import type { StateSnapshot } from '../../core/consensus/raft-messages.js';
import { sealedUserCodec } from '../../store/sealed-auth-records.js';
import type { SecretBox } from '../../store/secret-box.js';
import { authRef, bucketDeletionRef, ringKeeperRef } from '../../protocol/cluster/paths.js';
import { CONSENSUS_PATH } from '../../protocol/cluster/consensus.js';
import { consensusBehavior, type ConsensusActorMessage } from './consensus.js';
import { ReplicatedTables } from './replicated-tables.js';
import { adminBehavior } from './admin.js';
import { alarmBoardBehavior } from './alarm-board.js';
import { authBehavior, isAuthMeta, type AuthTables } from './auth.js';
import { bucketDeletionBehavior } from './bucket-deletion.js';
import { isMemberRecord, isStoredRing, ringKeeperBehavior, type MemberRecord } from './ring-keeper.js';
import { ask } from '../../runtime/typed-ask.js';
import { LinkRealms } from '../../runtime/remote/link-realms.js';
import { CLUSTER_LINK_PATH, isLinkedCluster, LINK_OFFERED_PATHS, type LinkedCluster, type LinkEndpoint } from '../../protocol/cluster/cluster-link.js';
import { sealedLinkCodec } from '../../store/sealed-link-records.js';
import type { StateTable } from '../../store/node-state.js';
import { clusterLinkBehavior, type ClusterLinkActorMessage } from './cluster-link.js';
import { linkKeeperBehavior } from './link-keeper.js';
import { trafficSamplerBehavior } from './traffic-sampler.js';
import { consoleSessionsBehavior } from './console-sessions.js';
import { CONSOLE_REVOCATIONS_TABLE } from '../../protocol/cluster/console-sessions.js';
import { isSessionRevocation } from '../../core/console-sessions.js';

const GATEWAY_LIST_TIMEOUT_MS = 5_000;
/** A change waits this long for a majority of managers before it is refused. */
const PROPOSE_TIMEOUT_MS = 10_000;
const DUTY_CHANGE_TIMEOUT_MS = 15_000;
const MANAGER_SUPERVISOR_PATH = '/node/manager';
const USERS_TABLE = 'users';
const LINKED_CLUSTERS_TABLE = 'linked_clusters';
const LINK_ASK_TIMEOUT_MS = 5_000;

export interface ManagerTreeOptions {
  readonly nodeState: NodeState;
  /** Seals users' secrets at rest; made from the cluster cookie. */
  readonly secrets: SecretBox;
  /** The manager's data directory, where the first admin's keys are kept. */
  readonly dataDir: string;
  readonly ringCheckIntervalMs?: number;
  /** The receiving rate per node a rebalance gets when the operator names none (0: no limit). */
  readonly defaultHandoffRateBytesPerSec?: number;
  /** How often storage nodes are brought in line with the decided bucket deletions. */
  readonly bucketReconcileIntervalMs?: number;
  /** Random bytes for keys, incarnations and ids (crypto's by default; a simulation seeds them). */
  readonly randomBytes?: (size: number) => Uint8Array;
  /** The cluster addresses of every manager, the same list in the same order on each; empty: this manager alone. */
  readonly managers?: readonly string[];
  /** This manager's own entry in `managers`. */
  readonly selfAddress?: string;
  readonly electionTimeoutMs?: readonly [number, number];
  readonly heartbeatMs?: number;
  /** Told the leading manager's node name whenever it changes (null: none known). */
  readonly leaderChanged?: (leader: string | null) => void;
  /**
   * The realms of the node's transport (ClusterNodeOptions.realms), kept in step with the linked
   * clusters; without them no other cluster can link with this manager.
   */
  readonly realms?: LinkRealms;
  /** How often the leader says hello to each linked cluster. */
  readonly linkProbeIntervalMs?: number;
  /** How often every member's request counters are sampled for the charts. */
  readonly trafficSampleIntervalMs?: number;
}

/** What the manager needs of the node it runs on: its actor system and who is up. */
export type ManagerHost = Pick<ClusterNode, 'system' | 'logger'> & {
  readonly transport: Pick<ClusterNode['transport'], 'address' | 'isUp' | 'isKnownDown' | 'addPeer' | 'connect'> & Partial<Pick<ClusterNode['transport'], 'connectForeign'>>;
};

export function managerTree(node: ManagerHost, options: ManagerTreeOptions): SupervisorSpec {
  const { system, transport } = node;
  const consensus = actorRef<ConsensusActorMessage>(system.node, CONSENSUS_PATH);
  const tables = new ReplicatedTables(options.nodeState, {
    propose: async (ops, afterIndex) => {
      const reply = await ask(system, consensus, { type: 'propose', ops, ...(afterIndex !== undefined ? { afterIndex } : {}) }, PROPOSE_TIMEOUT_MS);
      return isRuntimeFailure(reply) ? { ok: false, code: 'NotLeader', message: `the change was not confirmed by a majority of managers (${reply.code}); it may or may not be applied` } : reply;
    },
    barrier: async () => {
      const reply = await ask(system, consensus, { type: 'barrier' }, PROPOSE_TIMEOUT_MS);
      return isRuntimeFailure(reply) ? { ok: false, code: 'NotLeader', message: `the managers' log did not answer (${reply.code})` } : reply;
    },
  });
  const store = new ConsensusStore(options.nodeState);
  const links = linkTables(options, tables, store);
  const members = options.nodeState.table('members', isMemberRecord);
  const duties = leaderDuties(node, options, tables, links);
  const randomBytes = options.randomBytes ?? cryptoRandomBytes;
  return {
    strategy: 'one_for_one',
    maxRestarts: 10,
    periodMs: 60_000,
    children: [
      worker(
        'consensus',
        consensusBehavior({
          node: system.node,
          managers: options.managers ?? [],
          selfAddress: options.selfAddress ?? '',
          store,
          connect: (address) => transport.connect(address),
          leadership: dutySwitch(node, duties),
          ...(options.leaderChanged ? { leaderChanged: options.leaderChanged } : {}),
          randomId: () => Buffer.from(randomBytes(12)).toString('hex'),
          random: () => Buffer.from(randomBytes(4)).readUInt32BE(0) / 2 ** 32,
          ...(options.electionTimeoutMs ? { electionTimeoutMs: options.electionTimeoutMs } : {}),
          ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
        }),
      ),
      worker(
        'cluster_link',
        clusterLinkBehavior({
          realms: links.realms,
          clusterId: links.clusterId,
          linked: links.local,
          managers: () => (options.managers && options.managers.length > 0 ? options.managers : transport.address !== null ? [transport.address] : []),
          storage: () => linkEndpoints(node, members),
        }),
      ),
      worker(
        'traffic',
        trafficSamplerBehavior({
          members: () => members.entries().map(([, member]) => ({ node: member.node, role: member.role })),
          ...(options.trafficSampleIntervalMs !== undefined ? { intervalMs: options.trafficSampleIntervalMs } : {}),
        }),
      ),
    ],
  };
}

/** The linked clusters as this manager holds them, and as the leader writes them. */
interface LinkTables {
  readonly realms: LinkRealms;
  readonly local: StateTable<LinkedCluster>;
  readonly replicated: StateTable<LinkedCluster>;
  readonly clusterId: () => string | undefined;
}

function linkTables(options: ManagerTreeOptions, tables: TableSource, store: ConsensusStore): LinkTables {
  const codec = sealedLinkCodec(options.secrets);
  return {
    // Not on the transport, they only stand in: such a manager links with no one.
    realms: options.realms ?? new LinkRealms(LINK_OFFERED_PATHS),
    local: options.nodeState.table(LINKED_CLUSTERS_TABLE, isLinkedCluster, codec),
    replicated: tables.table(LINKED_CLUSTERS_TABLE, isLinkedCluster, codec),
    clusterId: () => store.controlPlaneId()?.clusterId,
  };
}

/**
 * The storage nodes that take shipments: the running ones, as the ring keeper knows them. A follower
 * runs no ring keeper; it names the storage members it holds that the operator has not taken out.
 */
async function linkEndpoints(node: ManagerHost, members: Pick<StateTable<MemberRecord>, 'entries'>): Promise<LinkEndpoint[]> {
  const { system } = node;
  const reply = await ask(system, ringKeeperRef(system.node), { type: 'list' }, LINK_ASK_TIMEOUT_MS);
  const running = isRuntimeFailure(reply)
    ? members.entries().map(([, member]) => member).filter((member) => member.adminState === undefined)
    : reply.members.filter((member) => member.state === 'running');
  return running.flatMap((member) => (member.role === 'storage' && member.address !== null ? [{ node: member.node, address: member.address }] : []));
}

/** The actors only the leader runs, over the replicated tables. */
function leaderDuties(node: ManagerHost, options: ManagerTreeOptions, tables: TableSource, links: LinkTables): ChildSpec[] {
  const { system, transport } = node;
  const runningGateways = async (): Promise<string[]> => {
    const reply = await ask(system, ringKeeperRef(system.node), { type: 'list' }, GATEWAY_LIST_TIMEOUT_MS);
    if (isRuntimeFailure(reply)) throw new Error(`${reply.code}: ${reply.message}`);
    return reply.members.filter((member) => member.role === 'gateway' && member.state === 'running').map((member) => member.node);
  };
  return [
    worker(
      'ring_keeper',
      ringKeeperBehavior({
        self: { node: system.node, address: () => transport.address },
        members: tables.table('members', isMemberRecord),
        cluster: tables.table('cluster', isStoredRing),
        watchNodes: (listener) => system.onNodeEvent(listener),
        isUp: (peer) => transport.isUp(peer),
        addPeer: (peer, address) => transport.addPeer(peer, address),
        gatewayJoined: (gateway) => system.dispatch(authRef(system.node), { type: 'gateway_joined', node: gateway }),
        storageUp: (storage) => system.dispatch(bucketDeletionRef(system.node), { type: 'storage_up', node: storage }),
        ...(options.ringCheckIntervalMs !== undefined ? { ringCheckIntervalMs: options.ringCheckIntervalMs } : {}),
        ...(options.defaultHandoffRateBytesPerSec !== undefined ? { defaultHandoffRateBytesPerSec: options.defaultHandoffRateBytesPerSec } : {}),
      }),
    ),
    worker(
      'auth',
      authBehavior({
        tables: authTables(tables, options.secrets),
        gatewayNodes: runningGateways,
        keepAdminKeys: (keys) => writeAdminCredentials(options.dataDir, keys),
        ...(options.randomBytes ? { randomBytes: options.randomBytes } : {}),
      }),
    ),
    worker(
      'bucket_deletion',
      bucketDeletionBehavior({
        deleted: tables.table('deleted_buckets', isDeletedBucketRecord),
        intents: tables.table('bucket_deletions', isDeletionIntent),
        transaction: (action) => tables.transaction(action),
        ...(options.bucketReconcileIntervalMs !== undefined ? { reconcileIntervalMs: options.bucketReconcileIntervalMs } : {}),
        isKnownDown: (peer) => transport.isKnownDown(peer),
        ...(options.randomBytes ? { randomBytes: options.randomBytes } : {}),
      }),
    ),
    worker('alarms', alarmBoardBehavior()),
    worker(
      'link_keeper',
      linkKeeperBehavior({
        linked: links.replicated,
        clusterId: links.clusterId,
        linksChanged: async () => {
          const reply = await system.ask<ClusterLinkActorMessage, { ok: true }>(actorRef(system.node, CLUSTER_LINK_PATH), (replyTo) => ({ type: 'sync', replyTo }), LINK_ASK_TIMEOUT_MS);
          // The cluster link actor syncs every second anyway: late, not lost.
          if (isRuntimeFailure(reply)) node.logger.warn('the links were recorded but not yet given to the transport', { code: reply.code });
        },
        ...(transport.connectForeign ? { connectForeign: (address: string, clusterId: string) => transport.connectForeign!(address, clusterId) } : {}),
        isUp: (peer) => transport.isUp(peer),
        ...(options.linkProbeIntervalMs !== undefined ? { probeIntervalMs: options.linkProbeIntervalMs } : {}),
      }),
    ),
    worker('console_sessions', consoleSessionsBehavior({ revocations: tables.table(CONSOLE_REVOCATIONS_TABLE, isSessionRevocation) })),
    worker('admin', adminBehavior()),
  ];
}

/**
 * Starts the duties under the manager's supervisor when this manager is elected, and stops them when
 * it is not the leader any more; changes are made one after the other, in the order they were decided.
 * Each duty is switched on its own: one that will not start or stop is logged and the others still are.
 */
function dutySwitch(node: ManagerHost, duties: readonly ChildSpec[]): (leading: boolean) => void {
  const { system, logger } = node;
  const supervisorRef = actorRef<SupervisorMessage>(system.node, MANAGER_SUPERVISOR_PATH);
  let queue: Promise<void> = Promise.resolve();
  const startDuty = async (spec: ChildSpec): Promise<void> => {
    const reply = await system.ask<SupervisorMessage, StartChildReply>(supervisorRef, (replyTo) => ({ type: 'start_child', spec, replyTo }), DUTY_CHANGE_TIMEOUT_MS);
    // Already running is what was wanted.
    if (isRuntimeFailure(reply)) logger.error('a leader duty did not start', { duty: spec.name, code: reply.code, reason: reply.message });
  };
  const stopDuty = async (spec: ChildSpec): Promise<void> => {
    const reply = await system.ask<SupervisorMessage, TerminateChildReply>(supervisorRef, (replyTo) => ({ type: 'terminate_child', name: spec.name, replyTo }), DUTY_CHANGE_TIMEOUT_MS);
    // Not running is what was wanted.
    if (isRuntimeFailure(reply)) logger.error('a leader duty did not stop', { duty: spec.name, code: reply.code, reason: reply.message });
  };
  return (leading) => {
    queue = queue.then(async () => {
      if (leading) for (const spec of duties) await startDuty(spec);
      else for (const spec of [...duties].reverse()) await stopDuty(spec);
    }).catch((error: unknown) => logger.error('the leader duties could not be switched', { leading, error }));
  };
}

/** The manager's durable tables of users, buckets and endpoints; users' secrets are sealed. */
export function authTables(nodeState: TableSource, secrets: SecretBox): AuthTables {
  return {
    users: nodeState.table(USERS_TABLE, isUserRecord, sealedUserCodec(secrets)),
    buckets: nodeState.table('buckets', isBucketRecord),
    endpoints: nodeState.table('endpoints', isEndpointRecord),
    meta: nodeState.table('auth_meta', isAuthMeta),
  };
}

/**
 * Run at start, before the tree: seals users' secrets that an earlier release stored in plain text,
 * and names the users whose secrets do not open with this cookie (the manager must not start then).
 */
export function upgradeManagerState(nodeState: NodeState, secrets: SecretBox): Promise<TableUpgrade> {
  return nodeState.upgrade(USERS_TABLE, isUserRecord, sealedUserCodec(secrets));
}

/**
 * Starts a new control plane from a backup: the tables as the backup holds them, a log that begins
 * where the backup was taken, and a new epoch, so that managers still holding state from before cannot
 * mix their log into it (they are refused until emptied). Refused unless this manager holds no state.
 */
export async function restoreManagerState(nodeState: NodeState, snapshot: StateSnapshot, secrets: SecretBox, epoch: string): Promise<RestoreOutcome> {
  const store = new ConsensusStore(nodeState);
  const held = store.load();
  if (held.id !== null || store.holdsRecords()) {
    return { ok: false, problem: `this manager already holds state${held.id ? ` of cluster ${held.id.clusterId}` : ''}; restore into an empty data directory` };
  }
  const users = sealedUserCodec(secrets);
  const unreadable = (snapshot.tables[USERS_TABLE] ?? []).filter(([, stored]) => {
    try {
      return !isUserRecord(users.decode(stored));
    } catch {
      return true;
    }
  });
  if (unreadable.length > 0) {
    return { ok: false, problem: `the secrets of ${unreadable.length} user(s) in the backup cannot be decrypted with this cluster cookie; restore with the cookie the cluster had` };
  }
  await store.restore(snapshot, { clusterId: snapshot.id.clusterId, epoch });
  return { ok: true };
}

export type RestoreOutcome = { readonly ok: true } | { readonly ok: false; readonly problem: string };
