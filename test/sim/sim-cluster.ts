/**
 * A whole storage cluster in one process for the simulation: storage nodes running the real actors and
 * the real object store (LMDB in a temporary directory each), and a client node with the StorageClient
 * a gateway uses, all on a SimNetwork, each with a manual clock of its own (skewed when asked). Nodes
 * crash (their actors stop, their LMDB directory is kept) and restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeInfoBehavior } from '../../src/actors/common/node-info.js';
import { RingView } from '../../src/actors/common/ring-view.js';
import { StorageClient } from '../../src/actors/common/storage-client.js';
import { storageRole, type StorageRole } from '../../src/actors/storage/storage-role.js';
import type { StorageOptions } from '../../src/actors/storage/storage-context.js';
import type { ClusterSettings, RingDocument } from '../../src/core/ring/ring-document.js';
import { keyPosition } from '../../src/core/ring/position.js';
import { preferenceList } from '../../src/core/ring/ring.js';
import { ManualClock } from '../../src/runtime/clock.js';
import { memoryLogger } from '../../src/runtime/logger.js';
import { supervisor, worker } from '../../src/runtime/supervisor.js';
import { ActorSystem } from '../../src/runtime/system.js';
import { seededRandom } from '../unit/core/seeded-random.js';
import type { SimNetwork } from './sim-network.js';

/** Every node's clock starts here (plus its skew). */
export const SIM_EPOCH_MS = 1_800_000_000_000;

const TUNING: Partial<StorageOptions> = {
  replicaTimeoutMs: 2_000,
  readTimeoutMs: 2_000,
  recovererIntervalMs: 50,
  antiEntropyIntervalMs: 20,
  conditionalWriteDeadlineMs: 5_000,
  // Longer than any one write can take here (rounds of replica timeouts), short enough that writes
  // whose coordinator crashed are ended within a run.
  settleGraceMs: 30_000,
};

export class SimStorageNode {
  readonly clock: ManualClock;
  system: ActorSystem | undefined;
  role: StorageRole | undefined;
  private readonly ringView = new RingView();

  constructor(
    readonly name: string,
    private readonly dir: string,
    private readonly network: SimNetwork,
    private readonly doc: RingDocument,
    skewMs: number,
    private readonly random: () => number,
  ) {
    this.clock = new ManualClock(SIM_EPOCH_MS + skewMs);
  }

  get running(): boolean {
    return this.system !== undefined;
  }

  async start(): Promise<void> {
    const logger = memoryLogger('error').logger;
    const system = new ActorSystem({ node: this.name, clock: this.clock, logger });
    const link = this.network.linkOf(this.name);
    system.attachRemote(link);
    this.ringView.install(this.doc);
    const role = storageRole({ system, clock: this.clock, logger, transport: link }, { dataDir: this.dir, ringView: this.ringView, tuning: TUNING, durable: false, random: this.random });
    const info = nodeInfoBehavior({ facts: () => ({ node: this.name, role: 'storage', address: 'sim', startedAtMs: 0 }), peers: () => [], actors: () => system.listActors(), setLogLevel: () => {} });
    await system.startRoot('node', { strategy: 'one_for_one', maxRestarts: 10, periodMs: 10_000, children: [worker('info', info), supervisor('storage', role.tree)] }, () => {});
    this.system = system;
    this.role = role;
    this.network.attach(this.name, system);
  }

  /** Stops the node's actors and closes its store; its directory stays for the restart. */
  async crash(): Promise<void> {
    if (!this.system) return;
    this.network.detach(this.name);
    const { system, role } = this;
    this.system = undefined;
    this.role = undefined;
    await system.stop();
    await role!.close();
  }
}

export class SimCluster {
  readonly root = mkdtempSync(join(tmpdir(), 'leofs-sim-'));
  readonly nodes: SimStorageNode[];
  readonly doc: RingDocument;
  readonly clientClock = new ManualClock(SIM_EPOCH_MS);
  client!: StorageClient;
  private clientSystem!: ActorSystem;
  private readonly ringView = new RingView();

  constructor(
    private readonly network: SimNetwork,
    settings: ClusterSettings,
    skewsMs: readonly number[],
    seed: number,
  ) {
    const names = skewsMs.map((_, i) => `storage_${i}@sim`);
    this.doc = { epoch: 1, settings, current: names.map((node, i) => ({ node, alias: `storage_${i}`, numOfVnodes: 8 })), previous: null };
    this.nodes = names.map((name, i) => new SimStorageNode(name, join(this.root, `storage_${i}`), network, this.doc, skewsMs[i]!, seededRandom(seed * 7 + i)));
    this.ringView.install(this.doc);
  }

  /** The nodes that hold a key of `bucket`. */
  replicasOf(bucket: string, key: string): SimStorageNode[] {
    const names = preferenceList(this.ringView.current!.current, keyPosition(bucket, key), this.doc.settings.n);
    return this.nodes.filter((node) => names.includes(node.name));
  }

  async start(): Promise<void> {
    for (const node of this.nodes) await node.start();
    const system = new ActorSystem({ node: 'client@sim', clock: this.clientClock, logger: memoryLogger('error').logger });
    const link = this.network.linkOf('client@sim');
    system.attachRemote(link);
    this.network.attach('client@sim', system);
    const ringView = this.ringView;
    this.clientSystem = system;
    let writes = 0;
    this.client = new StorageClient({ system, ringView, isKnownDown: (peer) => link.isKnownDown(peer), requestTimeoutMs: 8_000, newWriteId: () => `w${writes++}` });
  }

  /** Every clock moves forward by `ms`, firing the timers that fall due. */
  advance(ms: number): void {
    this.clientClock.advance(ms);
    for (const node of this.nodes) node.clock.advance(ms);
  }

  /** Until no store has a write transaction in flight for a few turns of the event loop. */
  async quiesce(): Promise<void> {
    let idleTurns = 0;
    for (let turn = 0; turn < 10_000 && idleTurns < 3; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      const busy = this.nodes.some((node) => (node.role?.context.store.pendingWrites ?? 0) > 0);
      idleTurns = busy ? 0 : idleTurns + 1;
    }
  }

  async stop(): Promise<void> {
    await this.clientSystem?.stop();
    for (const node of this.nodes) await node.crash();
    rmSync(this.root, { recursive: true, force: true });
  }
}
