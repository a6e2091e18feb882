/**
 * One simulated run from a seed: a cluster (a manager, 5 storage nodes, N=3, W=2, R=2, D=2) formed as an
 * operator forms one (the nodes join the manager, the ring keeper starts the ring) on a SimNetwork, four
 * clients putting, reading, listing, deleting and racing to create lock keys through the StorageClient, while
 * the seed delivers messages in its order and, as asked, loses and duplicates them, partitions nodes,
 * crashes and restarts them, and sets their clocks apart, makes them drift and steps them. What the clients saw is checked by the history
 * checker; once the faults stop, every replica must converge.
 */
import { createHash } from 'node:crypto';
import type { ObjectMeta } from '../../src/core/object-meta.js';
import type { ObjectFields } from '../../src/protocol/cluster/storage-api.js';
import { compareHlc } from '../../src/core/hlc.js';
import { keyPosition } from '../../src/core/ring/position.js';
import { preferenceList } from '../../src/core/ring/ring.js';
import { judgeUnsettled, type ReplicaView } from '../../src/core/unsettled-rules.js';
import { History, type Outcome, type Value } from '../support/history-checker.js';
import { randomInt, seededRandom } from '../unit/core/seeded-random.js';
import { SIM_EPOCH_MS, SimCluster, type SimNode } from './sim-cluster.js';
import { SimNetwork } from './sim-network.js';

/**
 * `membership`: a storage node is added and rebalanced in, another detached and rebalanced out, then a
 * third killed for good and replaced by a new node under its alias.
 */
export type FaultClass = 'loss' | 'duplicates' | 'partitions' | 'crashes' | 'clocks' | 'membership';
export const FAULT_CLASSES: readonly FaultClass[] = ['loss', 'duplicates', 'partitions', 'crashes', 'clocks', 'membership'];

export interface SimReport {
  readonly seed: number;
  readonly problems: readonly string[];
  readonly operations: number;
  readonly acknowledged: number;
  readonly delivered: number;
  readonly dropped: number;
  /** Equal for two runs of one seed: the run is a function of its seed. */
  readonly fingerprint: string;
  /** The membership steps taken and their answers. */
  readonly membership: readonly string[];
}

const BUCKET = 'sim';
const DATA_KEYS = ['k0', 'k1', 'k2'];
const LOCK_KEYS = ['lock0', 'lock1'];
const CLIENTS = 4;
const STORAGE_NODES = 5;
const SETTINGS = { n: 3, w: 2, r: 2, d: 2, rackAware: false } as const;
const MAX_STEPS = 20_000;
/**
 * Simulated time the replicas get to converge once the faults stop: a wall clock stepped back by up to
 * five minutes, plus a few settle grace periods (a write left unsettled is ended once it is older than
 * the grace period by its replica's wall clock).
 */
const SETTLE_TIME_MS = 450_000;
const SETTLE_STEP_MS = 25;
/** Simulated time a rebalance under way gets to finish once the faults stop. */
const REBALANCE_TIME_MS = 300_000;
/** `LEOFS_SIM_TRACE=<key>` prints what the clients did with that key, as it happened. */
const TRACE = process.env.LEOFS_SIM_TRACE;

function clockText(clock: { wallMs: number; counter: number; node: string }): string {
  return `${clock.wallMs - SIM_EPOCH_MS}.${clock.counter}@${clock.node}`;
}

export async function runSimulation(seed: number, faults: readonly FaultClass[], operationsPerClient = 12): Promise<SimReport> {
  const random = seededRandom(seed);
  const has = (fault: FaultClass): boolean => faults.includes(fault);
  const network = new SimNetwork(seededRandom(seed + 1));
  const skews = Array.from({ length: STORAGE_NODES }, () => (has('clocks') ? (randomInt(random, 3) - 1) * randomInt(random, 5 * 60_000) : 0));
  const cluster = new SimCluster(network, SETTINGS, skews, seed);
  // Some wall clocks run up to twice as fast as real time, or half as fast.
  if (has('clocks')) for (const node of cluster.storageNodes) node.drift = randomInt(random, 3) === 0 ? random() * 1.5 - 0.5 : 0;
  const history = new History();
  try {
    await cluster.start();
    network.injectFaults({ drop: has('loss') ? 0.03 : 0, duplicate: has('duplicates') ? 0.03 : 0 });
    const done = new Set<number>();
    const membership: MembershipScript = { next: 0, asking: false, log: [] };
    const clients = Array.from({ length: CLIENTS }, (_, client) => runClient(cluster, history, seededRandom(seed * 31 + client), client, operationsPerClient).then(() => done.add(client)));

    for (let step = 0; step < MAX_STEPS && done.size < CLIENTS; step++) {
      await cluster.quiesce();
      const roll = random();
      const down = cluster.nodes.filter((node) => !node.running);
      if (has('crashes') && roll < 0.004) {
        if (down.length > 0) await down[0]!.start();
        else await cluster.nodes[randomInt(random, cluster.nodes.length)]!.crash();
      } else if (has('clocks') && roll < 0.006) {
        // A storage node's wall clock is stepped by up to five minutes, forward or back.
        cluster.storageNodes[randomInt(random, STORAGE_NODES)]!.clock.jump((randomInt(random, 2) * 2 - 1) * randomInt(random, 5 * 60_000));
      } else if (has('partitions') && roll < 0.008) {
        if (network.partitioned) network.healAll();
        else {
          const count = cluster.nodes.length;
          const a = randomInt(random, count);
          network.partition(cluster.nodes[a]!.name, cluster.nodes[(a + 1 + randomInt(random, count - 1)) % count]!.name);
        }
      } else if (has('membership') && roll >= 0.008 && roll < 0.0095 && membership.next < MEMBERSHIP_STEPS.length && !membership.asking) {
        await changeMembership(cluster, membership);
      } else if (network.inFlight > 0 && roll < 0.9) {
        network.deliverOne();
      } else {
        cluster.advance(1 + randomInt(random, 20));
      }
    }
    if (done.size < CLIENTS) return report(seed, history, network, [`the clients did not finish within ${MAX_STEPS} steps`]);
    await Promise.all(clients);

    // The faults stop: every node up, every link healed, and time runs on until the replicas agree.
    network.healAll();
    for (const node of cluster.nodes) if (!node.running) await node.start();
    // A membership change asked for and not yet made is finished now, as an operator would.
    for (let tries = 0; has('membership') && membership.next > 0 && membership.next < MEMBERSHIP_STEPS.length; tries++) {
      if (tries >= 600) return report(seed, history, network, [`the membership changes did not finish: ${membership.log.join('; ')}`], membership.log);
      if (!membership.asking) await changeMembership(cluster, membership);
      await runFor(cluster, network, 1_000);
    }
    // A rebalance under way finishes (the hand-off copies and verifies, the manager drops the previous ring).
    for (let waitedMs = 0; cluster.manager.ringView.current?.previous && waitedMs < REBALANCE_TIME_MS; waitedMs += 1_000) await runFor(cluster, network, 1_000);
    const converged = await settle(cluster, network);
    const problems = converged ? [] : disagreeing(cluster).map((key) => `${key}: the replicas did not converge once the faults stopped (${replicaStates(cluster, key)})`);
    if (cluster.manager.ringView.current?.previous) problems.push(`a rebalance did not finish once the faults stopped (${membership.log.join('; ')})`);
    for (const key of [...DATA_KEYS, ...LOCK_KEYS]) await cluster.drive(read(cluster, history, CLIENTS, key), MAX_STEPS);
    return report(seed, history, network, [...problems, ...history.check()], membership.log);
  } finally {
    await cluster.stop();
  }
}

/**
 * What an operator does to the membership, in order: add a node, rebalance, detach one, rebalance;
 * then a node dies for good (a rebalance may be running), a new one takes over its place under its
 * alias, the dead one is detached (leaving a running rebalance at once) and a rebalance moves its
 * ranges to the new one.
 */
const MEMBERSHIP_STEPS = ['add', 'rebalance', 'detach', 'rebalance', 'replace', 'detach', 'rebalance'] as const;

interface MembershipScript {
  /** The next step of MEMBERSHIP_STEPS. */
  next: number;
  /** An admin command is on its way; the next step waits for its answer. */
  asking: boolean;
  readonly log: string[];
}

/**
 * Takes the next membership step. Admin commands are sent and not awaited (the network delivers them
 * in its own time); a refusal (a rebalance still running, rings that differ, data not yet dropped)
 * leaves the step to be tried again later.
 */
async function changeMembership(cluster: SimCluster, script: MembershipScript): Promise<void> {
  const step = MEMBERSHIP_STEPS[script.next]!;
  if (step === 'add') {
    await cluster.addSpare();
    script.log.push(`added ${cluster.spare.name}`);
    script.next++;
    return;
  }
  if (step === 'replace') {
    await cluster.replace(cluster.storageNodes[1]!);
    script.log.push(`${cluster.storageNodes[1]!.name} killed for good, ${cluster.replacement.name} started under its alias`);
    script.next++;
    return;
  }
  // The first detach and rebalance take storage_0 out; the second ones the node the replacement took over from.
  const leaving = cluster.storageNodes[script.next < 4 ? 0 : 1]!.name;
  script.asking = true;
  const command = step === 'rebalance' ? { command: 'rebalance' as const } : { command: 'member_action' as const, action: 'detach' as const, node: leaving };
  void cluster.admin(command).then((reply) => {
    script.asking = false;
    script.log.push(`${step}: ${reply.ok ? 'ok' : reply.code}`);
    // An answer lost on the way back may leave the change made: the manager's ring (or, for a detach,
    // the next try's answer) says so, as it would tell an operator.
    const ring = cluster.manager.ringView.current?.doc.current.map((member) => member.node) ?? [];
    // A dead node detached while a rebalance ran leaves the ring at once, and the cluster with it.
    const detached = !reply.ok && (reply.code === 'BadState' || reply.code === 'UnknownNode');
    const rebalanced = script.next === 1 ? ring.includes(cluster.spare.name) : script.next === 3 ? !ring.includes(leaving) : ring.includes(cluster.replacement.name) && !ring.includes(leaving);
    const made = step === 'detach' ? detached : rebalanced;
    if (reply.ok || made) script.next++;
  });
}

async function runClient(cluster: SimCluster, history: History, draw: () => number, client: number, operations: number): Promise<void> {
  for (let n = 0; n < operations; n++) {
    const roll = draw();
    if (roll < 0.15) {
      await write(cluster, history, client, LOCK_KEYS[randomInt(draw, LOCK_KEYS.length)]!, `c${client}-${n}`, { create: true });
      continue;
    }
    if (roll < 0.25) {
      await list(cluster, history, client);
      continue;
    }
    const key = DATA_KEYS[randomInt(draw, DATA_KEYS.length)]!;
    if (roll < 0.55) await write(cluster, history, client, key, `c${client}-${n}`);
    else if (roll < 0.65) await write(cluster, history, client, key, null);
    else if (roll < 0.75) {
      // Read, then replace what was read only if it is still there (If-Match with its ETag).
      const seen = await read(cluster, history, client, key);
      if (typeof seen === 'string') await write(cluster, history, client, key, `c${client}-${n}`, { ifMatch: seen });
    } else await read(cluster, history, client, key);
  }
}

/** `create`: only if the key holds nothing (If-None-Match: *); `ifMatch`: only if it holds this value. */
async function write(cluster: SimCluster, history: History, client: number, key: string, value: Value, condition: { create?: true; ifMatch?: string } = {}): Promise<void> {
  const sent = history.now();
  const { create, ifMatch } = condition;
  const asked = create ? { ifNoneMatch: '*' } : ifMatch !== undefined ? { ifMatch: `"${etagOf(ifMatch)}"` } : undefined;
  const result =
    value === null
      ? await cluster.client.delete('object', BUCKET, key)
      : await cluster.client.put('object', fields(key, value), Buffer.from(value), asked);
  const outcome: Outcome = result.ok ? 'ok' : result.code === 'PreconditionFailed' || result.code === 'ConditionalConflict' ? 'refused' : 'unknown';
  if (TRACE === key) console.log(`[${sent}, ${history.moment}] client ${client} ${value === null ? 'delete' : `put ${value}`}${ifMatch !== undefined ? ` if ${ifMatch}` : ''}: ${result.ok ? `ok ${'meta' in result ? clockText((result.meta as ObjectMeta).clock) : ''}` : result.code}  ${replicaStates(cluster, key)}`);
  history.record({ type: 'write', client, key, value, sent, answered: history.now(), outcome, ...(create ? { create } : {}), ...(ifMatch !== undefined ? { ifMatch } : {}) });
}

/** What the read found (null: nothing), or undefined when it failed. */
async function read(cluster: SimCluster, history: History, client: number, key: string): Promise<Value | undefined> {
  const sent = history.now();
  const result = await cluster.client.get('object', BUCKET, key, { withBody: true });
  if (TRACE === key) console.log(`[${sent}, ${history.moment}] client ${client} get: ${result.ok ? `${Buffer.from(result.body ?? []).toString()} ${clockText(result.meta.clock)}` : result.code}  ${replicaStates(cluster, key)}`);
  const value = result.ok ? Buffer.from(result.body ?? []).toString() : result.code === 'NotFound' ? null : undefined;
  if (value !== undefined) history.record({ type: 'read', client, key, value, sent, answered: history.now() });
  return value;
}

/** What each replica of `key` holds, for a trace: its version's clock, `?` while unsettled, `x` for a tombstone. */
function replicaStates(cluster: SimCluster, key: string): string {
  return cluster
    .replicasOf(BUCKET, key)
    .map((node) => `${node.name.split('@')[0]}:${replicaState(node, key)}`)
    .join(' ');
}

function replicaState(node: SimNode, key: string): string {
  const store = node.storage?.context.store;
  if (!store) return 'down';
  const address = { kind: 'object' as const, bucket: BUCKET, key };
  const meta = store.getMeta(address);
  if (!meta) return '-';
  return `${clockText(meta.clock)}${meta.deleted ? 'x' : ''}${store.isUnsettled(address, meta.clock) ? '?' : ''}`;
}

/**
 * A listing of the bucket, taken as a read of every key at once: each key listed was read with the
 * value its ETag names, each key missing was read as absent.
 */
async function list(cluster: SimCluster, history: History, client: number): Promise<void> {
  const sent = history.now();
  const result = await cluster.client.list('object', BUCKET, { maxKeys: 100 });
  const answered = history.now();
  if (!result.ok) {
    for (const key of [...DATA_KEYS, ...LOCK_KEYS]) if (TRACE === key) console.log(`[${sent}, ${answered}] client ${client} list: ${result.code}`);
    return;
  }
  for (const key of [...DATA_KEYS, ...LOCK_KEYS]) {
    const entry = result.result.contents.find((listed) => listed.key === key);
    const value = entry ? (VALUES_BY_ETAG.get(entry.etag) ?? `unknown etag ${entry.etag}`) : null;
    if (TRACE === key) console.log(`[${sent}, ${answered}] client ${client} list: ${value ?? 'absent'}  ${replicaStates(cluster, key)}`);
    history.record({ type: 'read', client, key, value, sent, answered });
  }
}

/** Every value a client wrote, by its ETag (values are unique), so that a listing can be read back. */
const VALUES_BY_ETAG = new Map<string, string>();

function etagOf(value: string): string {
  return createHash('md5').update(value).digest('hex');
}

function fields(key: string, value: string): ObjectFields {
  const etag = etagOf(value);
  VALUES_BY_ETAG.set(etag, value);
  return { bucket: BUCKET, key, sizeBytes: value.length, etag, contentType: 'text/plain', userMeta: {} };
}

/**
 * Delivers everything and lets time run (anti-entropy, repairs, the sweep of unsettled writes) until
 * every replica of every key agrees, for SETTLE_TIME_MS of simulated time at most.
 */
async function settle(cluster: SimCluster, network: SimNetwork): Promise<boolean> {
  for (let elapsedMs = 0; elapsedMs < SETTLE_TIME_MS; elapsedMs += SETTLE_STEP_MS) {
    for (let delivered = 0; delivered < 10_000; delivered++) {
      await cluster.quiesce();
      if (!network.deliverOne()) break;
    }
    if (agree(cluster)) return true;
    cluster.advance(SETTLE_STEP_MS);
  }
  return agree(cluster);
}

/** Runs the network and time, without faults, for `ms` of simulated time. */
async function runFor(cluster: SimCluster, network: SimNetwork, ms: number): Promise<void> {
  for (let elapsedMs = 0; elapsedMs < ms; elapsedMs += SETTLE_STEP_MS) {
    for (let delivered = 0; delivered < 10_000; delivered++) {
      await cluster.quiesce();
      if (!network.deliverOne()) break;
    }
    cluster.advance(SETTLE_STEP_MS);
  }
}

function agree(cluster: SimCluster): boolean {
  return disagreeing(cluster).length === 0;
}

/** The keys whose replicas hold different versions, or one whose write is unsettled. */
function disagreeing(cluster: SimCluster): string[] {
  return [...DATA_KEYS, ...LOCK_KEYS].filter((key) => new Set(cluster.replicasOf(BUCKET, key).map((node) => replicaState(node, key))).size !== 1 && !waitsForLostReplica(cluster, key));
}

/**
 * Whether the key's replicas differ only by versions unsettled where they are held, each newer than
 * what the others agree on, that wait only for the replica killed for good: judged as the nodes judge
 * them (core/unsettled-rules.ts), each waits with that replica unknown, and one of them would not were
 * it known to hold nothing (the others may wait on that one, an unsettled newer version that may hide
 * them). Nothing can tell any more whether their writes were acknowledged, so they wait for
 * storage.settleGiveUpMs (longer than a run) before they are settled blind.
 */
function waitsForLostReplica(cluster: SimCluster, key: string): boolean {
  const address = { kind: 'object' as const, bucket: BUCKET, key };
  const replicas = cluster.replicasOf(BUCKET, key);
  const metaOf = (node: SimNode) => node.storage?.context.store.getMeta(address);
  const isUnsettledOn = (node: SimNode, meta: ObjectMeta | undefined): boolean => meta !== undefined && node.storage!.context.store.isUnsettled(address, meta.clock);
  const unsettled = replicas.filter((node) => isUnsettledOn(node, metaOf(node)));
  const others = replicas.filter((node) => !unsettled.includes(node));
  if (unsettled.length === 0 || others.length === 0 || new Set(others.map((node) => replicaState(node, key))).size !== 1) return false;
  const agreed = metaOf(others[0]!);
  const viewOf = (name: string, lost: ReplicaView): ReplicaView => {
    if (cluster.isRetired(name)) return lost;
    const node = cluster.nodes.find((candidate) => candidate.name === name);
    if (!node?.storage) return 'unknown';
    const held = metaOf(node);
    return { clock: held?.clock ?? null, unsettled: isUnsettledOn(node, held) };
  };
  const verdicts = unsettled.map((node) => {
    const meta = metaOf(node)!;
    if (agreed && compareHlc(agreed.clock, meta.clock) >= 0) return undefined;
    const ring = node.ringView.ringOf(meta.ringChecksum);
    if (!ring) return undefined;
    const writeReplicas = preferenceList(ring, keyPosition(BUCKET, key), SETTINGS.n);
    if (!writeReplicas.some((name) => cluster.isRetired(name))) return undefined;
    const required = meta.deleted ? SETTINGS.d : SETTINGS.w;
    const judged = (lost: ReplicaView) => judgeUnsettled(meta.clock, required, writeReplicas.map((name) => viewOf(name, lost)));
    return { waits: judged('unknown') === 'wait', waitsForLost: judged({ clock: null, unsettled: false }) !== 'wait' };
  });
  return verdicts.every((verdict) => verdict?.waits === true) && verdicts.some((verdict) => verdict?.waitsForLost === true);
}

function report(seed: number, history: History, network: SimNetwork, problems: readonly string[], membership: readonly string[] = []): SimReport {
  const trace = JSON.stringify(history.ops.map((op) => [op.type, op.client, op.key, op.value, op.sent, op.answered, op.type === 'write' ? op.outcome : '']));
  return {
    seed,
    problems,
    operations: history.ops.length,
    acknowledged: history.ops.filter((op) => op.type === 'write' && op.outcome === 'ok').length,
    delivered: network.delivered,
    dropped: network.dropped,
    fingerprint: createHash('sha1').update(trace).digest('hex').slice(0, 16),
    membership,
  };
}
