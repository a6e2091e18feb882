/**
 * Well-known actor paths, the same on every node of a role, so any node can address them knowing only
 * the node name. Message types are imported as types only, which keeps actor modules free of cycles.
 */
import { actorRef, type ActorRef } from '../../runtime/refs.js';
import type { DirectoryMessage } from './directory.js';
import type { NodeInfoMessage } from './node-info.js';
import type { RingCacheMessage } from './ring-cache.js';
import type { MembersMessage } from '../manager/members.js';

export const ROOT_NAME = 'node';
export const NODE_INFO_PATH = '/node/info';
export const DIRECTORY_PATH = '/node/directory';
export const RING_CACHE_PATH = '/node/ring';
export const MEMBERS_PATH = '/node/manager/members';

export const nodeInfoRef = (node: string): ActorRef<NodeInfoMessage> => actorRef(node, NODE_INFO_PATH);
export const ringCacheRef = (node: string): ActorRef<RingCacheMessage> => actorRef(node, RING_CACHE_PATH);
export const directoryRef = (node: string): ActorRef<DirectoryMessage> => actorRef(node, DIRECTORY_PATH);
export const membersRef = (managerNode: string): ActorRef<MembersMessage> => actorRef(managerNode, MEMBERS_PATH);
