/**
 * A benchmark's own cluster node, joined to a `leofs dev`, with the StorageClient the gateway uses:
 * what a benchmark drives when it leaves the gateway's HTTP, S3 and chunking costs out.
 */
import { ringKeeperRef } from '../../src/protocol/cluster/paths.js';
import { RingView } from '../../src/actors/common/ring-view.js';
import { StorageClient } from '../../src/actors/common/storage-client.js';
import type { ClusterStatus, MemberView, RingKeeperMessage } from '../../src/protocol/cluster/ring-keeper.js';
import { readCookieFile } from '../../src/cli/cookie.js';
import type { RingDocument } from '../../src/core/ring/ring-document.js';
import { isRuntimeFailure } from '../../src/runtime/failures.js';
import { createLogger } from '../../src/runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../../src/runtime/node.js';
import type { ReplyTo } from '../../src/runtime/refs.js';
import type { DevCluster } from './dev-cluster.js';
import type { Teardown } from './teardown.js';

const RING_WAIT_MS = 60_000;
const ASK_TIMEOUT_MS = 10_000;

/** Asks the manager's ring keeper; a runtime failure (timeout, node down) becomes an error. */
async function askRingKeeper<R>(node: ClusterNode, managerNode: string, build: (replyTo: ReplyTo<R>) => RingKeeperMessage): Promise<R> {
  const reply = await node.system.ask<RingKeeperMessage, R>(ringKeeperRef(managerNode), build, ASK_TIMEOUT_MS);
  if (isRuntimeFailure(reply)) throw new Error(`the manager's ring keeper did not answer: ${reply.code} ${reply.message}`);
  return reply;
}

/**
 * The ring, once every storage node runs on it (a write routed before that could meet a node that
 * does not know the ring yet), and the members' addresses, so this node can reach them directly.
 */
async function joinCluster(node: ClusterNode, managerAddress: string, storageNodes: number): Promise<{ doc: RingDocument; members: readonly MemberView[] }> {
  const managerNode = await node.transport.connect(managerAddress);
  const deadline = Date.now() + RING_WAIT_MS;
  for (;;) {
    const status = await askRingKeeper<ClusterStatus>(node, managerNode, (replyTo) => ({ type: 'status', replyTo }));
    const onRing = status.members.filter((member) => member.role === 'storage' && member.ring?.checksum === status.checksum).length;
    if (status.settings && status.consistent && onRing === storageNodes) break;
    if (Date.now() > deadline) throw new Error(`only ${onRing} of ${storageNodes} storage nodes run on the ring after ${RING_WAIT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const { members } = await askRingKeeper<{ readonly ok: true; readonly members: readonly MemberView[] }>(node, managerNode, (replyTo) => ({ type: 'list', replyTo }));
  const { doc } = await askRingKeeper<{ readonly ok: true; readonly doc: RingDocument | null }>(node, managerNode, (replyTo) => ({ type: 'get_ring', replyTo }));
  if (!doc) throw new Error('the manager has no ring although the cluster started');
  return { doc, members };
}

/** Starts a node named after this process, joins it to `cluster` and answers a StorageClient on its ring. */
export async function openInternalClient(cluster: DevCluster, storageNodes: number, teardown: Teardown, requestTimeoutMs: number): Promise<StorageClient> {
  const cookie = readCookieFile(cluster.cookieFile);
  if (!cookie.ok) throw new Error(cookie.problem);
  const name = `bench_${process.pid}@127.0.0.1`;
  const node = await startClusterNode({ node: name, cookie: cookie.cookie, logger: createLogger({ level: 'warn', bindings: { node: name } }) });
  teardown.add({ orderly: () => node.stop(), lastResort: () => {} });
  const { doc, members } = await joinCluster(node, cluster.managerAddress, storageNodes);
  for (const member of members) if (member.address) node.transport.addPeer(member.node, member.address);
  const ringView = new RingView();
  ringView.install(doc);
  return new StorageClient({ system: node.system, ringView, isKnownDown: (peer) => node.transport.isKnownDown(peer), isUp: (peer) => node.transport.isUp(peer), requestTimeoutMs, now: () => node.clock.now() });
}
