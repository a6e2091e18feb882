/**
 * The manager's tree:
 *
 *   /node/manager               one_for_one
 *     /node/manager/ring_keeper  members, cluster settings, the ring and its distribution
 *     /node/manager/auth         users, keys, buckets, endpoints, pushed to gateways
 *     /node/manager/bucket_deletion  ends buckets' incarnations and has storage nodes purge them
 *     /node/manager/admin        the leofs-adm entry point
 */
import type { ClusterNode } from '../../runtime/node.js';
import { isRuntimeFailure } from '../../runtime/failures.js';
import { worker, type SupervisorSpec } from '../../runtime/supervisor.js';
import { isBucketRecord, isEndpointRecord, isUserRecord } from '../../core/auth-snapshot.js';
import { isDeletedBucketRecord, isDeletionIntent } from '../../core/bucket-deletion.js';
import type { NodeState } from '../../store/node-state.js';
import { authRef, ringKeeperRef } from '../common/paths.js';
import { adminBehavior } from './admin.js';
import { authBehavior, isAuthMeta, type AuthTables } from './auth.js';
import { bucketDeletionBehavior, bucketDeletionRef } from './bucket-deletion.js';
import { isMemberRecord, isStoredRing, ringKeeperBehavior, type MemberView, type RingKeeperMessage } from './ring-keeper.js';

const GATEWAY_LIST_TIMEOUT_MS = 5_000;

export interface ManagerTreeOptions {
  readonly nodeState: NodeState;
  readonly ringCheckIntervalMs?: number;
}

export function managerTree(node: ClusterNode, options: ManagerTreeOptions): SupervisorSpec {
  const { system, transport } = node;
  const { nodeState } = options;
  const runningGateways = async (): Promise<string[]> => {
    const reply = await system.ask<RingKeeperMessage, { ok: true; members: readonly MemberView[] }>(
      ringKeeperRef(system.node),
      (replyTo) => ({ type: 'list', replyTo }),
      GATEWAY_LIST_TIMEOUT_MS,
    );
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
        }),
      ),
      worker(
        'auth',
        authBehavior({
          tables: authTables(nodeState),
          gatewayNodes: runningGateways,
        }),
      ),
      worker(
        'bucket_deletion',
        bucketDeletionBehavior({
          deleted: nodeState.table('deleted_buckets', isDeletedBucketRecord),
          intents: nodeState.table('bucket_deletions', isDeletionIntent),
          isKnownDown: (peer) => transport.isKnownDown(peer),
        }),
      ),
      worker('admin', adminBehavior()),
    ],
  };
}

/** The manager's durable tables of users, buckets and endpoints. */
export function authTables(nodeState: NodeState): AuthTables {
  return {
    users: nodeState.table('users', isUserRecord),
    buckets: nodeState.table('buckets', isBucketRecord),
    endpoints: nodeState.table('endpoints', isEndpointRecord),
    meta: nodeState.table('auth_meta', isAuthMeta),
  };
}
