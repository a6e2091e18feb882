/**
 * Storage nodes in this process, each with its own LMDB directory and cluster port on loopback, and a
 * client node with a StorageClient. The ring is installed directly (no manager). Nodes can be stopped
 * and started again on the same port and data, which is how tests take replicas down and bring them back.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeInfoBehavior } from '../../src/actors/common/node-info.js';
import { RingView } from '../../src/actors/common/ring-view.js';
import { StorageClient } from '../../src/actors/common/storage-client.js';
import { storageRole, type StorageRole } from '../../src/actors/storage/storage-role.js';
import type { BucketRecord } from '../../src/core/auth-snapshot.js';
import type { StorageOptions } from '../../src/actors/storage/storage-context.js';
import type { ClusterSettings, RingDocument } from '../../src/core/ring/ring-document.js';
import type { ObjectFields } from '../../src/protocol/cluster/storage-api.js';
import type { Clock } from '../../src/runtime/clock.js';
import { memoryLogger, type LogLevel } from '../../src/runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../../src/runtime/node.js';
import { supervisor, worker } from '../../src/runtime/supervisor.js';
import type { LinkRealms } from '../../src/runtime/remote/link-realms.js';
import type { LinkViewReply } from '../../src/protocol/cluster/cluster-link.js';

export const STORAGE_CLUSTER_COOKIE = 'storage-cluster-cookie';
const COOKIE = STORAGE_CLUSTER_COOKIE;

/** The fields of an object holding `body`, as a gateway sends them. */
export function objectFields(bucket: string, key: string, body: string | Uint8Array, contentType = 'text/plain'): ObjectFields {
  return { bucket, key, sizeBytes: body.length, etag: createHash('md5').update(body).digest('hex'), contentType, userMeta: {} };
}

export const FAST_TUNING: Partial<StorageOptions> = {
  replicaTimeoutMs: 5_000,
  readTimeoutMs: 5_000,
  recovererIntervalMs: 20,
  antiEntropyIntervalMs: 5,
  // Tests that make a replica diverge expect it found at the quick pace however long the cluster ran.
  antiEntropyQuietIntervalMs: 5,
  recoveryRetryMs: 10,
};

export interface StorageNodeOptions {
  readonly capacityBytes?: number;
  readonly tuning?: Partial<StorageOptions>;
  /** The node's clock (a skewed one, say); the system clock otherwise. */
  readonly clock?: Clock;
  /** The buckets as the manager would tell them (for the lifecycle worker); none otherwise. */
  readonly buckets?: () => Promise<readonly BucketRecord[] | undefined>;
  /** The cluster's cookie (one shared by every test cluster otherwise). */
  readonly cookie?: string;
  /** Linked clusters, as the manager would tell them (multi-cluster replication). */
  readonly links?: { readonly realms: LinkRealms; readonly linkView: () => Promise<LinkViewReply | undefined> };
  /** The machine the node says it runs on (this one's by default). */
  readonly machine?: string;
}

export class InProcessStorageNode {
  node: ClusterNode | undefined;
  role: StorageRole | undefined;
  readonly ringView = new RingView();
  address = '';
  readonly logs: ReturnType<typeof memoryLogger>;

  constructor(
    readonly name: string,
    readonly dir: string,
    private readonly options: StorageNodeOptions,
    logLevel: LogLevel,
  ) {
    this.logs = memoryLogger(logLevel);
  }

  get running(): boolean {
    return this.node !== undefined;
  }

  async start(doc: RingDocument | undefined, peers: ReadonlyMap<string, string>): Promise<void> {
    const port = this.address ? Number(this.address.split(':')[1]) : 0;
    const node = await startClusterNode({
      node: this.name,
      cookie: this.options.cookie ?? COOKIE,
      listen: { host: '127.0.0.1', port },
      ...(this.options.links ? { realms: this.options.links.realms } : {}),
      logger: this.logs.logger.child({ node: this.name }),
      ...(this.options.clock ? { clock: this.options.clock } : {}),
    });
    this.node = node;
    this.address = node.transport.address!;
    for (const [peer, address] of peers) if (peer !== this.name) node.transport.addPeer(peer, address);
    if (doc) this.ringView.install(doc);
    this.role = storageRole(node, {
      dataDir: this.dir,
      ringView: this.ringView,
      tuning: { ...FAST_TUNING, ...this.options.tuning },
      ...(this.options.capacityBytes !== undefined ? { capacityBytes: this.options.capacityBytes } : {}),
      ...(this.options.buckets ? { buckets: this.options.buckets } : {}),
      ...(this.options.links ? this.options.links : {}),
      ...(this.options.machine !== undefined ? { machine: this.options.machine } : {}),
    });
    await node.system.startRoot(
      'node',
      {
        strategy: 'one_for_one',
        maxRestarts: 10,
        periodMs: 10_000,
        children: [
          worker(
            'info',
            nodeInfoBehavior({
              facts: () => ({ node: this.name, role: 'storage', address: this.address, startedAtMs: 0 }),
              peers: () => node.transport.peerInfo(),
              actors: () => node.system.listActors(),
              setLogLevel: () => {},
              deliverGuarded: (path, message) => node.system.deliverGuarded(path, message),
              onLogLine: (observer) => node.logger.onLine(observer),
              linkBacklogBytes: () => 0,
            }),
          ),
          supervisor('storage', this.role.tree),
        ],
      },
      () => {},
    );
  }

  async stop(): Promise<void> {
    await this.node?.stop();
    await this.role?.close();
    this.node = undefined;
    this.role = undefined;
  }
}

export class StorageCluster {
  readonly nodes: InProcessStorageNode[];
  client!: StorageClient;
  clientNode!: ClusterNode;
  readonly clientRing = new RingView();
  readonly root: string;
  doc!: RingDocument;

  constructor(
    count: number,
    private readonly settings: ClusterSettings,
    perNode: (index: number) => StorageNodeOptions = () => ({}),
    logLevel: LogLevel = 'error',
    private readonly cookie = COOKIE,
  ) {
    this.root = mkdtempSync(join(tmpdir(), 'leofs-storage-cluster-'));
    this.nodes = Array.from({ length: count }, (_, i) => new InProcessStorageNode(`storage_${i}@127.0.0.1`, join(this.root, `storage_${i}`), { cookie, ...perNode(i) }, logLevel));
  }

  async start(): Promise<void> {
    this.doc = {
      epoch: 1,
      settings: this.settings,
      current: this.nodes.map((n, i) => ({ node: n.name, alias: `storage_${i}`, numOfVnodes: 32 })),
      previous: null,
    };
    for (const node of this.nodes) await node.start(this.doc, this.addresses());
    for (const node of this.nodes) for (const [peer, address] of this.addresses()) if (peer !== node.name) node.node!.transport.addPeer(peer, address);
    this.clientNode = await startClusterNode({ node: 'client@127.0.0.1', cookie: this.cookie, logger: memoryLogger('error').logger });
    for (const [peer, address] of this.addresses()) this.clientNode.transport.addPeer(peer, address);
    this.clientRing.install(this.doc);
    this.client = new StorageClient({ system: this.clientNode.system, ringView: this.clientRing, isKnownDown: (n) => this.clientNode.transport.isKnownDown(n), isUp: (n) => this.clientNode.transport.isUp(n), requestTimeoutMs: 10_000, now: () => Date.now() });
  }

  addresses(): Map<string, string> {
    return new Map(this.nodes.filter((n) => n.address).map((n) => [n.name, n.address]));
  }

  node(name: string): InProcessStorageNode {
    const found = this.nodes.find((n) => n.name === name);
    if (!found) throw new Error(`no node ${name}`);
    return found;
  }

  /**
   * Stops a node and waits until the client's link to it is gone, as a gateway's would be a moment after
   * a node went away (a write sent on a link that then breaks has an unknown outcome and is not resent).
   */
  async stopNode(name: string): Promise<void> {
    await this.node(name).stop();
    await eventually(() => !this.clientNode.transport.isUp(name), 10_000, `the client's link to ${name} gone`);
  }

  async restart(name: string): Promise<void> {
    // A real node reloads its ring from local state; this one is handed the same document.
    await this.node(name).start(this.doc, this.addresses());
  }

  /** Installs a ring document on every running node and the client, as the manager distributes one. */
  installRing(doc: RingDocument): void {
    this.doc = doc;
    for (const node of this.nodes) if (node.node) node.ringView.install(doc);
    this.clientRing.install(doc);
  }

  /** Waits until no peer (the client included) counts a restarted node as down: they redial it with a backoff of up to seconds. */
  async reachable(name: string): Promise<void> {
    const reachable = (): boolean => !this.clientNode.transport.isKnownDown(name) && this.nodes.every((peer) => peer.name === name || !peer.node || !peer.node.transport.isKnownDown(name));
    await eventually(reachable, 15_000, `peers reaching the restarted ${name}`);
  }

  async stop(): Promise<void> {
    await this.clientNode?.stop();
    for (const node of this.nodes) await node.stop();
    rmSync(this.root, { recursive: true, force: true });
  }
}

export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
