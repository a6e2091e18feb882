/**
 * Well-known actor paths, the same on every node of a role, so any node can address them knowing only
 * the node name.
 */
import { actorRef, type ActorRef } from '../../runtime/refs.js';
import type { AdminMessage } from './admin.js';
import type { AuthCacheMessage } from './auth-cache.js';
import type { AuthMessage } from './auth.js';
import type { BucketDeletionMessage } from './bucket-deletion.js';
import { CONSENSUS_PATH, type ConsensusMessage } from './consensus.js';
import type { DirectoryMessage } from './directory.js';
import type { NodeInfoMessage } from './node-info.js';
import type { RingCacheMessage } from './ring-cache.js';
import type { RingKeeperMessage } from './ring-keeper.js';

export const ROOT_NAME = 'node';
export const NODE_INFO_PATH = '/node/info';
export const DIRECTORY_PATH = '/node/directory';
export const RING_CACHE_PATH = '/node/ring';
/** On gateways: their copy of users, keys, buckets and endpoints. */
export const AUTH_CACHE_PATH = '/node/gateway/auth';
export const RING_KEEPER_PATH = '/node/manager/ring_keeper';
export const AUTH_PATH = '/node/manager/auth';
export const ADMIN_PATH = '/node/manager/admin';
export const BUCKET_DELETION_PATH = '/node/manager/bucket_deletion';

export const nodeInfoRef = (node: string): ActorRef<NodeInfoMessage> => actorRef(node, NODE_INFO_PATH);
export const ringCacheRef = (node: string): ActorRef<RingCacheMessage> => actorRef(node, RING_CACHE_PATH);
export const directoryRef = (node: string): ActorRef<DirectoryMessage> => actorRef(node, DIRECTORY_PATH);
export const authCacheRef = (gatewayNode: string): ActorRef<AuthCacheMessage> => actorRef(gatewayNode, AUTH_CACHE_PATH);
export const ringKeeperRef = (managerNode: string): ActorRef<RingKeeperMessage> => actorRef(managerNode, RING_KEEPER_PATH);
export const authRef = (managerNode: string): ActorRef<AuthMessage> => actorRef(managerNode, AUTH_PATH);
export const adminRef = (managerNode: string): ActorRef<AdminMessage> => actorRef(managerNode, ADMIN_PATH);
export const bucketDeletionRef = (managerNode: string): ActorRef<BucketDeletionMessage> => actorRef(managerNode, BUCKET_DELETION_PATH);
/** On every manager, whether it leads or not. */
export const consensusRef = (managerNode: string): ActorRef<ConsensusMessage> => actorRef(managerNode, CONSENSUS_PATH);
