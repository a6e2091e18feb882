/**
 * Ships the writes this node coordinated to the linked clusters (LeoFS's mdcr): it drains one durable
 * queue per cluster (link-queues.ts) in batches, at most `linkRateBytesPerSec` per cluster, to the
 * storage nodes that cluster's managers named (link-receiver.ts there).
 *
 * For each queued key it reads its own copy, or, when that lacks the queued version, the newest version
 * from the key's replicas here; tombstones included, each version is shipped with its clock; an object's chunks go first, only those the other cluster lacks. A version
 * still being written (its write may yet fail and be undone here) is not shipped: the key waits, and
 * that write, once acknowledged, is queued on its own. An item is done only once the other cluster has
 * stored the version, and not if a newer write to its key was queued meanwhile.
 *
 * Which clusters are linked, their secrets and their storage nodes come from the managers (link_view),
 * asked every few seconds; the node's transport is told of them, so it can dial and admit those nodes.
 */
import { chunkKeysOf } from '../../core/chunk-layout.js';
import { assertNever } from '../../core/assert-never.js';
import { bucketNameOf } from '../../core/bucket-namespace.js';
import { compareHlc } from '../../core/hlc.js';
import { carriesBody, type ObjectMeta } from '../../core/object-meta.js';
import { readPreferenceList } from '../../core/ring/ring.js';
import { keyPosition } from '../../core/ring/position.js';
import type { ActorContext, Behavior } from '../../runtime/actor.js';
import { isRuntimeFailure } from '../../runtime/failures.js';
import type { LinkRealms } from '../../runtime/remote/link-realms.js';
import { foreignName, realmOf } from '../../protocol/cluster/realm-names.js';
import { SelfTimer } from '../../runtime/self-timer.js';
import { ask } from '../../runtime/typed-ask.js';
import type { QueueItem } from '../../store/durable-queue.js';
import { linkReceiverRef, shipsBucket, type LinkEntry, type LinkShipperMessage, type LinkTarget, type LinkViewReply } from '../../protocol/cluster/cluster-link.js';
import { routerOf, type GetManyItem } from '../../protocol/cluster/storage.js';
import type { StorageApi } from '../../protocol/cluster/storage-api.js';
import type { LinkItem } from './link-queues.js';
import type { StorageContext } from './storage-context.js';

export interface LinkShipperDeps {
  /** This cluster's object API, to read chunks. */
  readonly storage: StorageApi;
  /** The linked clusters, from the managers' leader; undefined while it cannot be asked. */
  readonly linkView: () => Promise<LinkViewReply | undefined>;
  /** The node's transport: admits and dials the linked clusters' nodes. */
  readonly realms: LinkRealms | undefined;
  /** Tells the transport where a node of a linked cluster listens. */
  readonly addPeer: (node: string, address: string) => void;
}

/** How often an idle shipper looks for work. */
const IDLE_MS = 250;
/** How long after a write is queued the round that ships it starts: the writes of those moments go together. */
const QUEUED_WAKE_MS = 10;
/** How long the managers' view of the linked clusters is used before asking again. */
const VIEW_TTL_MS = 2_000;
/** Keys taken from a queue in one round. */
const ROUND_ITEMS = 64;
/** Bytes of bodies in one shipment at most (a chunk larger than this goes alone). */
const SHIPMENT_BYTES = 4 * 1024 * 1024;
/** Chunk names asked about in one link_lacking. */
const LACKING_BATCH = 512;
/** How long one shipment may take before it is tried again. */
const SHIPMENT_TIMEOUT_MS = 60_000;
/** A key that could not be shipped is tried again after this, doubling up to a cap a link cut outlasts. */
const SHIPMENT_BACKOFF = { initialMs: 500, maxMs: 10_000 };
/** Answers that say the other cluster's node cannot take shipments now, rather than that one was bad. */
const UNREACHABLE: ReadonlySet<string> = new Set(['NodeDown', 'Timeout', 'Overloaded', 'SlowDown', 'Unavailable']);

/** `queued`: a write was queued here; the next round starts soon rather than at the idle pace. */
type ShipperMessage = LinkShipperMessage | { readonly type: 'tick' } | { readonly type: 'queued' };

/** How one cluster's shipments go: its rate limit and whose turn it is (what they did is counted in LinkQueues). */
interface ClusterProgress {
  /** While its storage nodes do not answer (a cut link): no round before this, and the pause after the next failure. */
  resumeAtMs: number;
  backoffMs: number;
  /** Not before this may the next shipment go (the link's rate limit). */
  nextAllowedMs: number;
  /** Which of the cluster's storage nodes gets the next shipment. */
  turn: number;
}

interface ShipperState {
  readonly timer: SelfTimer<ShipperMessage>;
  /** A `queued` wake-up is in the mailbox. */
  wakeInMailbox: boolean;
  /** The next tick was brought forward for a queued write. */
  tickSoon: boolean;
  /** When the managers last told the linked clusters; undefined before they did. */
  viewAtMs: number | undefined;
  asking: boolean;
  readonly shipping: Set<string>;
  readonly progress: Map<string, ClusterProgress>;
}

/** Where a key may be held here: its replicas, and while a rebalance runs, its holders on the previous ring. */
function holdersOf(snapshot: NonNullable<StorageContext['ringView']['current']>, key: { readonly bucket: string; readonly key: string }): readonly string[] {
  return readPreferenceList(snapshot.current, snapshot.previous ?? undefined, keyPosition(key.bucket, key.key), snapshot.doc.settings.n);
}

/** What one replica holds of a key, as replica_get and replica_get_many answer it. */
interface ReplicaAnswer {
  readonly meta: ObjectMeta | null;
  readonly unsettled?: unknown;
  readonly body?: Uint8Array;
}

type Choice =
  | { readonly outcome: 'gone' }
  | { readonly outcome: 'later'; readonly reason: string }
  | { readonly outcome: 'newest'; readonly meta: ObjectMeta; readonly replica: string; readonly body: Uint8Array | undefined };

/**
 * The version to ship of a key queued at `queued`, from its holders' answers (undefined: no answer). A
 * version still undecided past the acknowledged one may yet be undone, so it is not shipped; a key no
 * holder has is gone, unless a rebalance runs (a new holder may not have received it yet).
 */
function chooseNewest(answers: ReadonlyArray<ReplicaAnswer | undefined>, replicas: readonly string[], queued: ObjectMeta['clock'], rebalancing: boolean): Choice {
  if (!rebalancing && answers.every((answer) => answer !== undefined && answer.meta === null)) return { outcome: 'gone' };
  let newest: Extract<Choice, { outcome: 'newest' }> | undefined;
  answers.forEach((answer, at) => {
    const meta = answer?.meta;
    if (!meta || (answer!.unsettled && compareHlc(meta.clock, queued) > 0)) return;
    if (!newest || compareHlc(meta.clock, newest.meta.clock) > 0) newest = { outcome: 'newest', meta, replica: replicas[at]!, body: answer!.body };
  });
  if (!newest || compareHlc(newest.meta.clock, queued) < 0) return { outcome: 'later', reason: 'the queued version is not readable here yet' };
  return newest;
}

/** One key read for shipping: its entries (chunks first), or nothing to ship, or not yet. */
type Prepared =
  | { readonly item: QueueItem<LinkItem>; readonly outcome: 'ship'; readonly object: LinkEntry; readonly chunks: readonly string[]; readonly namespace: string; readonly clock: ObjectMeta['clock'] }
  | { readonly item: QueueItem<LinkItem>; readonly outcome: 'gone' }
  | { readonly item: QueueItem<LinkItem>; readonly outcome: 'later'; readonly reason: string };

export function linkShipperBehavior(context: StorageContext, deps: LinkShipperDeps): Behavior<ShipperState, ShipperMessage> {
  const progressOf = (state: ShipperState, clusterId: string): ClusterProgress => {
    let progress = state.progress.get(clusterId);
    if (!progress) {
      progress = { resumeAtMs: 0, backoffMs: 0, nextAllowedMs: 0, turn: 0 };
      state.progress.set(clusterId, progress);
    }
    return progress;
  };

  const refreshView = async (state: ShipperState, ctx: ActorContext<ShipperMessage>): Promise<void> => {
    state.asking = true;
    try {
      const reply = await deps.linkView();
      if (!reply?.ok) return;
      deps.realms?.setSelf(reply.self);
      deps.realms?.replaceAll(new Map(reply.clusters.map((cluster) => [cluster.clusterId, cluster.secret])));
      for (const cluster of reply.clusters) for (const endpoint of cluster.storage) deps.addPeer(foreignName(cluster.clusterId, endpoint.node), endpoint.address);
      await context.links.setTargets(reply.clusters);
      state.viewAtMs = context.clock.now();
    } catch (error) {
      ctx.log.warn('cannot learn the linked clusters', { error });
    } finally {
      state.asking = false;
    }
  };

  /**
   * Reads the newest versions of a round's keys from their replicas here: one replica_get_many to each
   * replica, with the small bodies inside; a key some replica could not answer that way is read alone.
   */
  const prepareAll = async (ctx: ActorContext<ShipperMessage>, all: readonly QueueItem<LinkItem>[]): Promise<Prepared[]> => {
    const snapshot = context.ringView.current;
    if (!snapshot) return all.map((item) => ({ item, outcome: 'later', reason: 'this node has no ring yet' }));
    const here = await Promise.all(all.map(prepareHere));
    const items = all.filter((_, index) => here[index] === undefined);
    if (items.length === 0) return here as Prepared[];
    const replicasOf = items.map((item) => holdersOf(snapshot, item.payload));
    const asked = new Map<string, number[]>();
    replicasOf.forEach((replicas, index) => {
      for (const replica of replicas) asked.set(replica, [...(asked.get(replica) ?? []), index]);
    });
    const answers = new Map<string, Map<number, GetManyItem>>();
    await Promise.all(
      [...asked].map(async ([replica, indexes]) => {
        const request = indexes.map((index) => ({ objectKind: 'object' as const, bucket: items[index]!.payload.bucket, key: items[index]!.payload.key }));
        const reply = await ask(ctx.system, routerOf(replica), { type: 'replica_get_many', items: request }, context.options.readTimeoutMs);
        if (reply.ok) answers.set(replica, new Map(indexes.map((index, at) => [index, reply.items[at]!])));
      }),
    );
    const fromReplicas = await Promise.all(
      items.map((item, index) => {
        const replicas = replicasOf[index]!;
        const got = replicas.map((replica) => answers.get(replica)?.get(index));
        // A replica that did not answer, or put the key off: read it the slow way.
        if (got.some((answer) => answer === undefined || 'deferred' in answer)) return prepare(ctx, item);
        const choice = chooseNewest(got as ReplicaAnswer[], replicas, item.payload.clock, Boolean(snapshot.previous));
        if (choice.outcome !== 'newest') return Promise.resolve<Prepared>({ item, ...choice });
        if (carriesBody(choice.meta) && choice.body === undefined) return prepare(ctx, item);
        return Promise.resolve(shipping(item, choice.meta, choice.body));
      }),
    );
    return here.map((prepared) => prepared ?? fromReplicas.shift()!);
  };

  /**
   * The key read from this node's own copy, when that holds the queued version or a newer acknowledged
   * one: the usual case, as the node that queued a write is one of its replicas. A newer version on
   * another replica was queued by its own writer and is shipped in its turn. Undefined: ask the replicas.
   */
  const prepareHere = async (item: QueueItem<LinkItem>): Promise<Prepared | undefined> => {
    const address = { kind: 'object' as const, bucket: item.payload.bucket, key: item.payload.key };
    const meta = context.store.getMeta(address);
    if (!meta) return undefined;
    const unsettled = context.store.unsettledWrite(address, meta.clock);
    const choice = chooseNewest([{ meta, ...(unsettled ? { unsettled } : {}) }], [context.node], item.payload.clock, true);
    if (choice.outcome !== 'newest') return undefined;
    if (!carriesBody(meta)) return shipping(item, meta, undefined);
    const body = await context.store.readBody(address, meta.clock);
    return body instanceof Uint8Array ? shipping(item, meta, body) : undefined;
  };

  /** A key's newest version ready to ship, with the chunks every version it keeps names. */
  const shipping = (item: QueueItem<LinkItem>, meta: ObjectMeta, body: Uint8Array | undefined): Prepared => {
    const { bucket, key } = item.payload;
    const layouts = [meta.deleted ? undefined : meta.chunks, ...(meta.noncurrent ?? []).map((version) => version.chunks)];
    let chunks: string[];
    try {
      chunks = layouts.flatMap((layout) => (layout ? chunkKeysOf(key, layout) : []));
    } catch (error) {
      return { item, outcome: 'later', reason: `its chunk layout does not hold together: ${(error as Error).message}` };
    }
    const named = { ...meta, bucket: bucketNameOf(bucket) };
    return { item, outcome: 'ship', object: { objectKind: 'object', meta: named, ...(body ? { body } : {}) }, chunks, namespace: bucket, clock: meta.clock };
  };

  /** Reads the newest version of one queued key from its replicas here, a request to each. */
  const prepare = async (ctx: ActorContext<ShipperMessage>, item: QueueItem<LinkItem>): Promise<Prepared> => {
    const { bucket, key, clock } = item.payload;
    const snapshot = context.ringView.current;
    if (!snapshot) return { item, outcome: 'later', reason: 'this node has no ring yet' };
    const replicas = holdersOf(snapshot, item.payload);
    const address = { objectKind: 'object' as const, bucket, key };
    const replies = await Promise.all(
      replicas.map((replica) => ask(ctx.system, routerOf(replica), { type: 'replica_get', ...address, withBody: false }, context.options.readTimeoutMs)),
    );
    const choice = chooseNewest(replies.map((reply) => (reply.ok ? reply : undefined)), replicas, clock, Boolean(snapshot.previous));
    if (choice.outcome !== 'newest') return { item, ...choice };
    const { meta, replica } = choice;
    let body: Uint8Array | undefined;
    if (carriesBody(meta)) {
      const read = await ask(ctx.system, routerOf(replica), { type: 'replica_get', ...address, withBody: true, clock: meta.clock }, context.options.readTimeoutMs);
      if (isRuntimeFailure(read) || !read.ok || !read.meta || compareHlc(read.meta.clock, meta.clock) !== 0 || read.body === undefined) {
        return { item, outcome: 'later', reason: 'the version changed while it was read' };
      }
      body = read.body;
    }
    return shipping(item, meta, body);
  };

  /** Ships the chunks of `prepared` the other cluster lacks; undefined when done, else why not. */
  const shipChunks = async (ctx: ActorContext<ShipperMessage>, receiver: string, prepared: Extract<Prepared, { outcome: 'ship' }>, progress: ClusterProgress): Promise<string | undefined> => {
    const name = bucketNameOf(prepared.namespace);
    for (let start = 0; start < prepared.chunks.length; start += LACKING_BATCH) {
      const batch = prepared.chunks.slice(start, start + LACKING_BATCH);
      const lacking = await ask(ctx.system, linkReceiverRef(receiver), { type: 'link_lacking', chunks: batch.map((key) => ({ bucket: name, key })) }, SHIPMENT_TIMEOUT_MS);
      if (!lacking.ok) {
        if (UNREACHABLE.has(lacking.code)) unreachable(progress);
        return `${receiver} cannot tell which chunks it lacks: ${lacking.code} ${lacking.message}`;
      }
      for (const index of lacking.lacking) {
        const chunkKey = batch[index];
        if (chunkKey === undefined) continue;
        const read = await deps.storage.get('chunk', prepared.namespace, chunkKey, { withBody: true });
        if (!read.ok) return `cannot read chunk ${chunkKey}: ${read.message}`;
        const entry: LinkEntry = { objectKind: 'chunk', meta: { ...read.meta, bucket: name }, ...(read.body ? { body: read.body } : {}) };
        const failure = await send(ctx, receiver, [entry], progress);
        if (failure !== undefined) return failure;
      }
    }
    return undefined;
  };

  /** The cluster's storage nodes do not answer: its next round waits, longer each time, up to a cap. */
  const unreachable = (progress: ClusterProgress): void => {
    progress.backoffMs = Math.min(SHIPMENT_BACKOFF.maxMs, progress.backoffMs === 0 ? SHIPMENT_BACKOFF.initialMs : progress.backoffMs * 2);
    progress.resumeAtMs = context.clock.now() + progress.backoffMs;
  };

  /** Sends one shipment under the link's rate limit; undefined when every entry was stored. */
  const send = async (ctx: ActorContext<ShipperMessage>, receiver: string, entries: readonly LinkEntry[], progress: ClusterProgress): Promise<string | undefined> => {
    const bytes = entries.reduce((sum, entry) => sum + (entry.body?.length ?? 0), 0);
    const rate = context.pace.rate(context.options.linkRateBytesPerSec);
    const waitMs = progress.nextAllowedMs - context.clock.now();
    if (waitMs > 0) await new Promise((resolve) => ctx.clock.setTimeout(() => resolve(undefined), waitMs));
    if (rate > 0) progress.nextAllowedMs = Math.max(context.clock.now(), progress.nextAllowedMs) + (bytes / rate) * 1000;
    const reply = await ask(ctx.system, linkReceiverRef(receiver), { type: 'link_apply', entries }, SHIPMENT_TIMEOUT_MS);
    if (!reply.ok) {
      if (UNREACHABLE.has(reply.code)) unreachable(progress);
      return `${receiver}: ${reply.code} ${reply.message}`;
    }
    progress.backoffMs = 0;
    const failed = reply.results.find((result) => !result.ok);
    if (failed && !failed.ok) return `${receiver}: ${failed.code} ${failed.message}`;
    context.links.shipped(realmOf(receiver)!, 0, bytes);
    return undefined;
  };

  /** One round for one cluster: up to ROUND_ITEMS keys read, their chunks and then the objects shipped. Answers keys done. */
  const round = async (state: ShipperState, ctx: ActorContext<ShipperMessage>, target: LinkTarget): Promise<number> => {
    const queue = context.links.queueOf(target.clusterId);
    const progress = progressOf(state, target.clusterId);
    const due = queue.due(context.clock.now(), ROUND_ITEMS);
    if (due.length === 0) return 0;
    // Keys queued before this node heard that the link ships only some buckets: not for this cluster.
    const items = due.filter((item) => shipsBucket(target, bucketNameOf(item.payload.bucket)));
    await Promise.all(due.filter((item) => !items.includes(item)).map((item) => queue.complete(item.itemKey)));
    if (items.length === 0) return due.length;
    const receiver = foreignName(target.clusterId, target.storage[progress.turn++ % target.storage.length]!.node);
    const prepared = await prepareAll(ctx, items);
    const nowMs = (): number => context.clock.now();
    const retry = (item: QueueItem<LinkItem>, reason: string): Promise<void> => {
      if (context.links.lastShipError(target.clusterId) !== reason) ctx.log.warn('a key could not be shipped to a linked cluster; it is tried again later', { cluster: target.clusterId, key: item.payload.key, reason });
      context.links.shipFailed(target.clusterId, reason);
      return queue.retry(item.itemKey, nowMs(), reason, SHIPMENT_BACKOFF);
    };
    // Done unless a newer write to the key was queued while this one was shipped.
    const done = (item: QueueItem<LinkItem>, clock: ObjectMeta['clock']): Promise<void> =>
      queue.complete(item.itemKey, (current) => compareHlc(current.payload.clock, clock) > 0);
    let finished = 0;
    // Queue updates are not awaited one by one: those begun together commit in one transaction. Each is
    // caught at once (a failure must not go unhandled while the round still ships) and thrown at the end.
    const updates: Array<Promise<void>> = [];
    let updateFailure: unknown;
    const update = (pending: Promise<void>): void => {
      updates.push(pending.catch((error: unknown) => void (updateFailure ??= error)));
    };
    const ready: Array<Extract<Prepared, { outcome: 'ship' }>> = [];
    for (const entry of prepared) {
      if (entry.outcome === 'gone') {
        update(done(entry.item, entry.item.payload.clock));
        finished++;
      } else if (entry.outcome === 'later') {
        update(retry(entry.item, entry.reason));
      } else if (entry.chunks.length > 0) {
        const failure = await shipChunks(ctx, receiver, entry, progress);
        if (failure === undefined) ready.push(entry);
        else update(retry(entry.item, failure));
      } else {
        ready.push(entry);
      }
    }
    // The objects travel together, a few MiB per shipment.
    let batch: Array<Extract<Prepared, { outcome: 'ship' }>> = [];
    let batchBytes = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const shipped = batch;
      batch = [];
      batchBytes = 0;
      const failure = await send(ctx, receiver, shipped.map((entry) => entry.object), progress);
      for (const entry of shipped) {
        if (failure !== undefined) {
          update(retry(entry.item, failure));
          continue;
        }
        update(done(entry.item, entry.clock));
        context.links.shipped(target.clusterId, 1, 0);
        finished++;
      }
    };
    for (const entry of ready) {
      const bytes = entry.object.body?.length ?? 0;
      if (batch.length > 0 && batchBytes + bytes > SHIPMENT_BYTES) await flush();
      batch.push(entry);
      batchBytes += bytes;
    }
    await flush();
    await Promise.all(updates);
    if (updateFailure !== undefined) throw updateFailure;
    if (finished === items.length) context.links.shipFailed(target.clusterId, undefined);
    return finished;
  };

  return {
    accepts: ['link_stats'],
    init(ctx) {
      const state: ShipperState = { timer: new SelfTimer<ShipperMessage>(ctx, { type: 'tick' }, context.pace), viewAtMs: undefined, asking: false, shipping: new Set(), progress: new Map(), wakeInMailbox: false, tickSoon: false };
      state.timer.schedule(0);
      // One wake-up in the mailbox at a time, however many writes are queued meanwhile.
      ctx.onEnd(
        context.links.onQueued(() => {
          if (state.wakeInMailbox) return;
          state.wakeInMailbox = true;
          ctx.system.dispatch(ctx.self, { type: 'queued' });
        }),
      );
      return state;
    },
    receive(state, message, ctx) {
      switch (message.type) {
        case 'tick': {
          state.tickSoon = false;
          const nowMs = context.clock.now();
          if (!state.asking && (state.viewAtMs === undefined || nowMs - state.viewAtMs > VIEW_TTL_MS)) void refreshView(state, ctx);
          for (const target of context.links.targets.values()) {
            if (state.shipping.has(target.clusterId) || target.storage.length === 0 || progressOf(state, target.clusterId).resumeAtMs > nowMs) continue;
            state.shipping.add(target.clusterId);
            void round(state, ctx, target)
              .catch((error: unknown) => {
                context.links.shipFailed(target.clusterId, String(error));
                ctx.log.warn('a shipment to a linked cluster failed', { cluster: target.clusterId, error });
                return 0;
              })
              .then((finished) => {
                state.shipping.delete(target.clusterId);
                if (finished > 0) state.timer.schedule(0);
              });
          }
          state.timer.schedule(IDLE_MS);
          return state;
        }
        case 'queued':
          state.wakeInMailbox = false;
          // Only the first write since the last tick brings the next one closer: later ones must not keep putting it off.
          if (!state.tickSoon) {
            state.tickSoon = true;
            state.timer.schedule(QUEUED_WAKE_MS);
          }
          return state;
        case 'link_stats': {
          const clusters = context.links.clusterIds.map((clusterId) => context.links.statsOf(clusterId));
          ctx.system.reply(message.replyTo, { ok: true, clusters });
          return state;
        }
        default:
          return assertNever(message);
      }
    },
  };
}
