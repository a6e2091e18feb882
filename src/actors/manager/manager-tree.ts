/**
 * The manager's tree:
 *
 *   /node/manager               one_for_one
 *     /node/manager/ring_keeper  members, cluster settings, the ring and its distribution
 *     /node/manager/auth         users, keys, buckets, endpoints, pushed to gateways
 *     /node/manager/bucket_deletion  ends buckets' incarnations and has storage nodes purge them
 *     /node/manager/alarms       the alarms each node's watchdog reports
 *     /node/manager/admin        the leofs-adm entry point
 */
import type { ClusterNode } from '../../runtime/node.js';
import { isRuntimeFailure } from '../../runtime/failures.js';
import { worker, type SupervisorSpec } from '../../runtime/supervisor.js';
import { isBucketRecord, isEndpointRecord, isUserRecord } from '../../core/auth-snapshot.js';
import { isDeletedBucketRecord, isDeletionIntent } from '../../core/bucket-deletion.js';
import { writeAdminCredentials } from '../../store/admin-credentials.js';
import type { NodeState, TableUpgrade } from '../../store/node-state.js';
import { sealedUserCodec } from '../../store/sealed-auth-records.js';
import type { SecretBox } from '../../store/secret-box.js';
import { authRef, bucketDeletionRef, ringKeeperRef } from '../../protocol/cluster/paths.js';
import { adminBehavior } from './admin.js';
import { alarmBoardBehavior } from './alarm-board.js';
import { authBehavior, isAuthMeta, type AuthTables } from './auth.js';
import { bucketDeletionBehavior } from './bucket-deletion.js';
import { isMemberRecord, isStoredRing, ringKeeperBehavior } from './ring-keeper.js';
import { ask } from '../../runtime/typed-ask.js';

const GATEWAY_LIST_TIMEOUT_MS = 5_000;
const USERS_TABLE = 'users';

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
}

/** What the manager needs of the node it runs on: its actor system and who is up. */
export type ManagerHost = Pick<ClusterNode, 'system'> & {
  readonly transport: Pick<ClusterNode['transport'], 'address' | 'isUp' | 'isKnownDown' | 'addPeer'>;
};

export function managerTree(node: ManagerHost, options: ManagerTreeOptions): SupervisorSpec {
  const { system, transport } = node;
  const { nodeState } = options;
  const runningGateways = async (): Promise<string[]> => {
    const reply = await ask(system, ringKeeperRef(system.node), { type: 'list' }, GATEWAY_LIST_TIMEOUT_MS);
    if (isRuntimeFailure(reply)) throw new Error(`${reply.code}: ${reply.message}`);
    return reply.members.filter((member) => member.role === 'gateway' && member.state === 'running').map((member) => member.node);
  };
  return {
    strategy: 'one_for_one',
    maxRestarts: 10,
    periodMs: 60_000,
    children: [
      worker(
        'ring_keeper',
        ringKeeperBehavior({
          self: { node: system.node, address: () => transport.address },
          members: nodeState.table('members', isMemberRecord),
          cluster: nodeState.table('cluster', isStoredRing),
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
          tables: authTables(nodeState, options.secrets),
          gatewayNodes: runningGateways,
          keepAdminKeys: (keys) => writeAdminCredentials(options.dataDir, keys),
          ...(options.randomBytes ? { randomBytes: options.randomBytes } : {}),
        }),
      ),
      worker(
        'bucket_deletion',
        bucketDeletionBehavior({
          deleted: nodeState.table('deleted_buckets', isDeletedBucketRecord),
          intents: nodeState.table('bucket_deletions', isDeletionIntent),
          transaction: (action) => nodeState.transaction(action),
          ...(options.bucketReconcileIntervalMs !== undefined ? { reconcileIntervalMs: options.bucketReconcileIntervalMs } : {}),
          isKnownDown: (peer) => transport.isKnownDown(peer),
          ...(options.randomBytes ? { randomBytes: options.randomBytes } : {}),
        }),
      ),
      worker('alarms', alarmBoardBehavior()),
      worker('admin', adminBehavior()),
    ],
  };
}

/** The manager's durable tables of users, buckets and endpoints; users' secrets are sealed. */
export function authTables(nodeState: NodeState, secrets: SecretBox): AuthTables {
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
