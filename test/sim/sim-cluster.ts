/**
 * A whole cluster in one process for the simulation: a manager, storage nodes and a client node with
 * the StorageClient a gateway uses, each running the common node tree and its role's real actors (the
 * storage nodes on real LMDB stores in a temporary directory each), all on a SimNetwork, each with a
 * manual clock of its own (skewed when asked). The storage nodes join the manager and the cluster is
 * started through its ring keeper, as `leofs-adm start` does; every node learns the ring from it.
 * Nodes crash (their actors stop, their directories are kept) and restart.
 */
import type { AdminCommand, AdminReply } from '../../src/protocol/cluster/admin.js';
import { isRuntimeFailure } from '../../src/runtime/failures.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RingView } from '../../src/actors/common/ring-view.js';
import { StorageClient } from '../../src/actors/common/storage-client.js';
import { ManagerLink } from '../../src/actors/common/manager-link.js';
import { managerTree } from '../../src/actors/manager/manager-tree.js';
import { nodeTree } from '../../src/actors/node-tree.js';
import { storageRole, type StorageRole } from '../../src/actors/storage/storage-role.js';
import type { StorageOptions } from '../../src/actors/storage/storage-context.js';
import type { ClusterSettings } from '../../src/core/ring/ring-document.js';
import { keyPosition } from '../../src/core/ring/position.js';
import { preferenceList } from '../../src/core/ring/ring.js';
import { adminRef, ringKeeperRef } from '../../src/protocol/cluster/paths.js';
import type { Role } from '../../src/protocol/cluster/roles.js';
import { ManualClock } from '../../src/runtime/clock.js';
import { createLogger, memoryLogger, type LogLevel } from '../../src/runtime/logger.js';
import { ActorSystem } from '../../src/runtime/system.js';
import { ask } from '../../src/runtime/typed-ask.js';
import { NodeState } from '../../src/store/node-state.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { seededRandom } from '../unit/core/seeded-random.js';
import type { SimNetwork } from './sim-network.js';

/** Every node's clock starts here (plus its skew). */
export const SIM_EPOCH_MS = 1_800_000_000_000;
export const MANAGER = 'manager@sim';
const MANAGER_ADDRESS = 'manager.sim:4370';
const CLIENT = 'client@sim';
const COOKIE = 'simulation-cookie';
const VNODES_PER_NODE = 8;
/** `LEOFS_SIM_LOG=warn` (or another level) prints what the nodes log, stamped with their simulated time. */
const SIM_LOG = process.env.LEOFS_SIM_LOG as LogLevel | undefined;
/** Steps to form the cluster at most: joins, the start, the ring reaching every node. */
const FORMING_STEPS = 20_000;

const TUNING: Partial<StorageOptions> = {
  replicaTimeoutMs: 2_000,
  readTimeoutMs: 2_000,
  recovererIntervalMs: 50,
  antiEntropyIntervalMs: 20,
  antiEntropyQuietIntervalMs: 20,
  conditionalWriteDeadlineMs: 5_000,
  // Longer than any one write can take here (rounds of replica timeouts), short enough that writes
  // whose coordinator crashed are ended within a run.
  settleGraceMs: 30_000,
  // Never within a run: a version settled blind may be one that was never acknowledged.
  settleGiveUpMs: 24 * 60 * 60_000,
  // Short enough that a second rebalance can start within a run.
  releaseGraceMs: 20_000,
};

/** One node of the simulated cluster, of any role. */
export class SimNode {
  readonly clock: ManualClock;
  /** How much faster (or, below zero, slower) than real time this node's wall clock runs. */
  drift = 0;
  readonly ringView = new RingView();
  system: ActorSystem | undefined;
  /** A storage node's role while it runs: its store and actors' context. */
  storage: StorageRole | undefined;
  private nodeState: NodeState | undefined;
  /** Starts so far: each incarnation numbers its asks apart, as a real process's random first ask does. */
  private starts = 0;

  constructor(
    readonly name: string,
    readonly role: Role,
    private readonly dir: string,
    private readonly network: SimNetwork,
    skewMs: number,
    private readonly random: () => number,
    /** A storage node that takes over a departed one's place: its vnode points are that node's. */
    private readonly alias?: string,
  ) {
    this.clock = new ManualClock(SIM_EPOCH_MS + skewMs);
  }

  get running(): boolean {
    return this.system !== undefined;
  }

  /** Write transactions of the node's stores not yet committed. */
  get pendingWrites(): number {
    return (this.nodeState?.pendingWrites ?? 0) + (this.storage?.context.store.pendingWrites ?? 0);
  }

  async start(): Promise<void> {
    const logger = SIM_LOG ? createLogger({ level: SIM_LOG, bindings: { node: this.name }, now: () => this.clock.now() }) : memoryLogger('error').logger;
    const system = new ActorSystem({ node: this.name, clock: this.clock, logger, firstAsk: ++this.starts * 2 ** 32 });
    const link = this.network.linkOf(this.name);
    system.attachRemote(link);
    const nodeState = NodeState.open(join(this.dir, 'node'), logger);
    const transport = {
      address: `${this.name.slice(0, this.name.indexOf('@'))}.sim:4370`,
      peerInfo: () => [],
      addPeer: () => {},
      isUp: (peer: string) => link.isUp(peer),
      isKnownDown: (peer: string) => link.isKnownDown(peer),
      // Every node is on the one network: connecting to the manager is knowing whether it is up.
      connect: (address: string) => (address === MANAGER_ADDRESS && link.isUp(MANAGER) ? Promise.resolve(MANAGER) : Promise.reject(new Error(`${address} is unreachable`))),
    };
    const host = { system, logger, clock: this.clock, transport };
    const randomBytes = (size: number): Uint8Array => Uint8Array.from({ length: size }, () => Math.floor(this.random() * 256));
    const storage = this.role === 'storage' ? storageRole(host, { dataDir: join(this.dir, 'objects'), ringView: this.ringView, tuning: TUNING, durable: false, random: this.random }) : undefined;
    const roleTree =
      storage?.tree ??
      (this.role === 'manager'
        ? managerTree(host, { nodeState, secrets: SecretBox.fromCookie(COOKIE, randomBytes), dataDir: this.dir, randomBytes })
        : { strategy: 'one_for_one' as const, maxRestarts: 1, periodMs: 1_000, children: [] });
    const tree = nodeTree(host, {
      role: this.role,
      ...(this.role === 'manager' ? {} : { managers: new ManagerLink({ addresses: [MANAGER_ADDRESS], connect: transport.connect, api: system, clock: this.clock }) }),
      roleTree,
      startedAtMs: 0,
      nodeState,
      ringView: this.ringView,
      ...(this.role === 'storage' ? { storage: { numOfVnodes: VNODES_PER_NODE, ...(this.alias !== undefined ? { alias: this.alias } : {}) } } : {}),
    });
    this.system = system;
    this.storage = storage;
    this.nodeState = nodeState;
    // On the network before its actors start: the first thing they do may be to reach a peer.
    this.network.attach(this.name, system);
    await system.startRoot('node', tree, () => {});
  }

  /** Stops the node's actors and closes its stores; its directory stays for the restart. */
  async crash(): Promise<void> {
    if (!this.system) return;
    this.network.detach(this.name);
    const { system, storage, nodeState } = this;
    this.system = undefined;
    this.storage = undefined;
    this.nodeState = undefined;
    await system.stop();
    await storage?.close();
    await nodeState?.close();
  }
}

export class SimCluster {
  readonly root = mkdtempSync(join(tmpdir(), 'leofs-sim-'));
  readonly manager: SimNode;
  readonly storageNodes: SimNode[];
  /** A storage node started only when a run adds one to the cluster (it joins as attached). */
  readonly spare: SimNode;
  private spareStarted = false;
  /** A storage node started only when a run replaces storage_1 by it, under storage_1's alias. */
  readonly replacement: SimNode;
  private replacementStarted = false;
  /** Storage nodes killed for good: never restarted, no longer counted among the nodes. */
  private readonly retired = new Set<SimNode>();
  readonly clientNode: SimNode;
  client!: StorageClient;

  constructor(
    private readonly network: SimNetwork,
    private readonly settings: ClusterSettings,
    skewsMs: readonly number[],
    seed: number,
  ) {
    const node = (name: string, role: Role, skewMs: number, index: number, alias?: string): SimNode =>
      new SimNode(`${name}@sim`, role, join(this.root, name), network, skewMs, seededRandom(seed * 7 + index), alias);
    this.manager = node('manager', 'manager', 0, 100);
    this.storageNodes = skewsMs.map((skewMs, i) => node(`storage_${i}`, 'storage', skewMs, i));
    this.spare = node(`storage_${skewsMs.length}`, 'storage', 0, skewsMs.length);
    this.replacement = node(`storage_${skewsMs.length + 1}`, 'storage', 0, skewsMs.length + 1, 'storage_1');
    this.clientNode = node('client', 'gateway', 0, 101);
  }

  /** The manager and the storage nodes (the spare and the replacement once started, not those killed for good): what crashes. */
  get nodes(): SimNode[] {
    const storage = [...this.storageNodes, ...(this.spareStarted ? [this.spare] : []), ...(this.replacementStarted ? [this.replacement] : [])];
    return [this.manager, ...storage.filter((node) => !this.retired.has(node))];
  }

  /** Starts the spare storage node: it joins the cluster as attached. */
  async addSpare(): Promise<void> {
    if (this.spareStarted) return;
    this.spareStarted = true;
    await this.spare.start();
  }

  /**
   * Kills `departing` for good (its store is never opened again, as with a dead disk) and starts the
   * replacement under its alias: it joins as attached.
   */
  async replace(departing: SimNode): Promise<void> {
    if (this.replacementStarted) return;
    this.retired.add(departing);
    await departing.crash();
    this.replacementStarted = true;
    await this.replacement.start();
  }

  /** Whether `name` was killed for good. */
  isRetired(name: string): boolean {
    return [...this.retired].some((node) => node.name === name);
  }

  /** The storage nodes that hold a key of `bucket`. */
  replicasOf(bucket: string, key: string): SimNode[] {
    const snapshot = this.clientNode.ringView.current!;
    const names = preferenceList(snapshot.current, keyPosition(bucket, key), this.settings.n);
    return [...this.storageNodes, this.spare, this.replacement].filter((node) => names.includes(node.name));
  }

  /** Starts every node and forms the cluster: the storage nodes join, the ring keeper starts the ring. */
  async start(): Promise<void> {
    for (const node of [...this.nodes, this.clientNode]) await node.start();
    const system = this.clientNode.system!;
    this.client = new StorageClient({ system, ringView: this.clientNode.ringView, isKnownDown: (peer) => this.network.linkOf(CLIENT).isKnownDown(peer), isUp: (peer) => this.network.linkOf(CLIENT).isUp(peer), requestTimeoutMs: 8_000, newWriteId: writeIds(), now: () => this.clientNode.clock.now() });

    const attached = async (): Promise<boolean> => {
      const reply = await ask(system, ringKeeperRef(MANAGER), { type: 'list' }, 1_000);
      return reply.ok && reply.members.filter((member) => member.role === 'storage').length === this.storageNodes.length;
    };
    for (let round = 0; !(await this.drive(attached(), FORMING_STEPS)); round++) {
      if (round >= 20) throw new Error('the storage nodes did not join the manager');
    }
    const { n, w, r, d } = this.settings;
    const command = { command: 'start' as const, n, w, r, d, rackAware: false };
    const started = await this.drive(ask(system, adminRef(MANAGER), { type: 'admin', command }, 5_000), FORMING_STEPS);
    if (!started.ok) throw new Error(`the cluster did not start: ${started.code} ${started.message}`);
    const everyoneHasTheRing = (): boolean => [...this.nodes, this.clientNode].every((node) => node.ringView.current !== undefined);
    for (let step = 0; step < FORMING_STEPS && !everyoneHasTheRing(); step++) await this.step();
    if (!everyoneHasTheRing()) throw new Error('the ring did not reach every node');
  }

  /** An admin command to the manager, as leofs-adm sends it; a runtime failure is answered as a refusal. */
  async admin(command: AdminCommand): Promise<AdminReply> {
    const reply = await ask(this.clientNode.system!, adminRef(MANAGER), { type: 'admin', command }, 10_000);
    return isRuntimeFailure(reply) ? { ok: false, code: reply.code, message: reply.message } : reply;
  }

  /** Every clock moves forward by `ms`, firing the timers that fall due; wall clocks drift as set. */
  advance(ms: number): void {
    for (const node of [...this.nodes, this.clientNode]) {
      node.clock.advance(ms);
      if (node.drift !== 0) node.clock.jump(ms * node.drift);
    }
  }

  /** Until no store has a write transaction in flight for a few turns of the event loop. */
  async quiesce(): Promise<void> {
    let idleTurns = 0;
    for (let turn = 0; turn < 10_000 && idleTurns < 3; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      const busy = [...this.nodes, this.clientNode].some((node) => node.pendingWrites > 0);
      idleTurns = busy ? 0 : idleTurns + 1;
    }
  }

  /** Runs the network and the clocks, without faults of its own, until `work` is done (or `maxSteps`). */
  async drive<T>(work: Promise<T>, maxSteps: number): Promise<T> {
    let finished = false;
    const done = work.finally(() => (finished = true));
    for (let step = 0; step < maxSteps && !finished; step++) await this.step(() => finished);
    return done;
  }

  /** Delivers one message, or lets 10 ms pass when none is in flight (unless `done` by then). */
  private async step(done: () => boolean = () => false): Promise<void> {
    await this.quiesce();
    if (done()) return;
    if (this.network.inFlight > 0) this.network.deliverOne();
    else this.advance(10);
  }

  async stop(): Promise<void> {
    await this.clientNode.crash();
    for (const node of this.nodes) await node.crash();
    rmSync(this.root, { recursive: true, force: true });
  }
}

function writeIds(): () => string {
  let writes = 0;
  return () => `w${writes++}`;
}
