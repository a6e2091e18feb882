/**
 * Receiving what a rebalance moves to this node (LeoFS's rebalance hand-off, pull side). While the
 * ring has a previous membership, every segment whose new preference list adds this node is pulled
 * from the segment's old holders, page by page in ring order, and then verified: compared by range
 * digests with N-W+1 old holders, until none holds a version newer than this node's. Progress is
 * saved as it goes (store/handoff-progress.ts, in the background): a node restarted mid-way resumes
 * after the last page whose progress was saved, a page or two behind at most, never from the start.
 * Once every receiver is done and every node holds the new ring, the manager asks for a final check of
 * every segment, then drops the previous ring.
 *
 * Only what is newer than the local copy is pulled, and written through the store's normal write path,
 * so a half-received object is never readable and a version written meanwhile by a client is never
 * overwritten by an older one. Small bodies come many to a request (replica_get_many) and their
 * versions share a commit; large ones are pulled one at a time. A version still unsettled on the
 * source is judged as a read judges it, by what its replicas hold (pullOne): taken when it may have been
 * acknowledged; otherwise the version beneath it is taken, and the segment waits a while for the other
 * to settle.
 */
import { compareHlc, encodeHlc, type Hlc } from '../../core/hlc.js';
import { differingBuckets } from '../../core/range-summary.js';
import { planRebalance, type RebalanceMove } from '../../core/ring/rebalance.js';
import { rebalanceIdOf, type RingSnapshot } from '../../core/ring/ring-document.js';
import type { ObjectMeta } from '../../core/object-meta.js';
import type { ReplicaView } from '../../core/unsettled-rules.js';
import type { Behavior } from '../../runtime/actor.js';
import type { Clock } from '../../runtime/clock.js';
import { ask } from '../../runtime/typed-ask.js';
import type { HandoffCursor, HandoffRecord } from '../../store/handoff-progress.js';
import type { HandoffMessage, HandoffState, HandoffStatus } from '../../protocol/cluster/handoff.js';
import { MAX_RANGE_ENTRIES, routerOf, type RangeKey, type UnsettledWrite } from '../../protocol/cluster/storage.js';
import type { ActorApi } from '../../runtime/actor.js';
import type { Logger } from '../../runtime/logger.js';
import { releasePending } from './release-sweeper.js';
import { applyReplicaWrite } from './replica-ops.js';
import type { StorageContext } from './storage-context.js';
import { judgeByReplicas } from './unsettled-judge.js';

/**
 * Segments received at once, and batches pulled at once within each. Every write waits for a commit,
 * and a commit costs this node a few fsyncs whatever it holds, so many writes in flight are what make
 * the rate. A batch's answer carries at most GET_MANY_BODY_BUDGET_BYTES of small bodies; its large ones
 * (up to a chunk, 5 MiB) are pulled one at a time, at most LARGE_PULLS at once across the run: at most
 * 16 × 2 × 1 MiB + 8 × 5 MiB of bodies are in flight.
 */
const SEGMENT_CONCURRENCY = 16;
const BATCH_CONCURRENCY = 2;
const LARGE_PULLS = 8;
/** Keys asked for in one replica_get_many. */
const BATCH_KEYS = 64;
/** What the rate limit expects a request to bring before any came back, and the weight of each that does. */
const INITIAL_EXPECTED_BYTES = 256 * 1024;
const EXPECTED_BYTES_WEIGHT = 0.2;
/** A request waiting for its turn looks at the limit again this often. */
const RATE_RECHECK_MS = 1_000;
/** Pause before trying again when no old holder answers or a pass left keys behind. */
const RETRY_PAUSE_MS = 1_000;
/** The receiving rate is measured over this window. */
const RATE_WINDOW_MS = 5_000;

type HandoffActorMessage =
  | HandoffMessage
  | { readonly type: 'ring_changed' }
  | { readonly type: 'finished'; readonly run: number; readonly error?: string }
  | { readonly type: 'checked'; readonly run: number; readonly error?: string };

interface Run {
  readonly id: number;
  readonly change: string;
  readonly moves: readonly RebalanceMove[];
  cancelled: boolean;
  receiver?: SegmentReceiver;
  /** The final check the manager asked for once every node held the new ring has begun. */
  checking: boolean;
}

interface HandoffActorState {
  run: Run | undefined;
  nextRunId: number;
  status: Omit<HandoffStatus, 'ok' | 'bytesPerSec' | 'etaSeconds' | 'releasePending'>;
  startedAtMs: number;
  readonly rate: ByteRate;
}

export function handoffBehavior(context: StorageContext): Behavior<HandoffActorState, HandoffActorMessage> {
  return {
    accepts: ['status', 'final_check'],
    init(ctx) {
      ctx.onEnd(context.ringView.subscribe(() => ctx.system.dispatch(ctx.self, { type: 'ring_changed' })));
      const state: HandoffActorState = {
        run: undefined,
        nextRunId: 1,
        status: { change: '', state: 'idle', segments: 0, segmentsDone: 0, objects: 0, bytes: 0, rateLimitBytesPerSec: 0 },
        startedAtMs: ctx.clock.now(),
        rate: new ByteRate(ctx.clock),
      };
      ctx.onEnd(() => {
        if (state.run) state.run.cancelled = true;
      });
      ctx.system.dispatch(ctx.self, { type: 'ring_changed' });
      return state;
    },
    receive(state, message, ctx) {
      switch (message.type) {
        case 'ring_changed': {
          const snapshot = context.ringView.current;
          const change = rebalanceIdOf(snapshot);
          state.status = { ...state.status, rateLimitBytesPerSec: snapshot?.doc.handoffRateBytesPerSec ?? 0 };
          if (state.run && state.run.change === change) return state;
          if (state.run) state.run.cancelled = true;
          state.run = undefined;
          const moves = snapshot?.previous ? planRebalance(snapshot.previous, snapshot.current, snapshot.doc.settings.n).filter((move) => move.added.includes(context.node)) : [];
          if (!snapshot || moves.length === 0) {
            // Once the rebalance is over, what this node took in stays told (mq-stats, the console, the metrics) until the next one.
            const over = snapshot !== undefined && !snapshot.previous;
            const kept = over ? { change: state.status.change, objects: state.status.objects, bytes: state.status.bytes } : { change, objects: 0, bytes: 0 };
            state.status = { ...kept, state: 'idle', segments: 0, segmentsDone: 0, rateLimitBytesPerSec: state.status.rateLimitBytesPerSec };
            return state;
          }
          const run: Run = { id: state.nextRunId++, change, moves, cancelled: false, checking: false };
          state.run = run;
          const progress = context.store.handoff.load(change);
          state.startedAtMs = ctx.clock.now();
          state.status = {
            change,
            state: 'copying',
            segments: moves.length,
            segmentsDone: moves.filter((move) => progress.done.includes(move.end)).length,
            objects: progress.objects,
            bytes: progress.bytes,
            rateLimitBytesPerSec: state.status.rateLimitBytesPerSec,
          };
          ctx.log.info('receiving data moved by a rebalance', { change, segments: moves.length, alreadyDone: state.status.segmentsDone });
          const receiver = new SegmentReceiver(ctx.system, context, ctx.log, ctx.clock, run, state, snapshot);
          run.receiver = receiver;
          void receiver.receiveAll(progress).then(
            () => ctx.system.dispatch(ctx.self, { type: 'finished', run: run.id }),
            (error: unknown) => ctx.system.dispatch(ctx.self, { type: 'finished', run: run.id, error: error instanceof Error ? error.message : String(error) }),
          );
          return state;
        }
        case 'finished':
          if (state.run?.id !== message.run) return state;
          if (message.error !== undefined) {
            // Only a store failure gets here; the run starts again from its durable progress.
            ctx.log.warn('receiving moved data failed; starting again from the recorded progress', { reason: message.error });
            state.status = { ...state.status, lastError: message.error };
            // Its other workers stop at their next step: they must not write over the next run's progress.
            state.run.cancelled = true;
            state.run = undefined;
            ctx.clock.setTimeout(() => ctx.system.dispatch(ctx.self, { type: 'ring_changed' }), RETRY_PAUSE_MS);
            return state;
          }
          if (!state.run.cancelled) {
            state.status = { ...state.status, state: 'done' };
            ctx.log.info('received every segment a rebalance moves here', { change: state.run.change, objects: state.status.objects, bytes: state.status.bytes });
          }
          return state;
        case 'final_check': {
          // Writes a node still on the previous ring coordinated may have reached only the old holders
          // after a segment was verified: once every node holds the new ring, each segment is compared
          // once more before the previous ring is dropped.
          const run = state.run;
          if (!run || run.change !== message.change || state.status.state !== 'done' || run.checking) return state;
          run.checking = true;
          state.status = { ...state.status, state: 'verifying' };
          void run.receiver!.verifyAll().then(
            () => ctx.system.dispatch(ctx.self, { type: 'checked', run: run.id }),
            (error: unknown) => ctx.system.dispatch(ctx.self, { type: 'checked', run: run.id, error: error instanceof Error ? error.message : String(error) }),
          );
          return state;
        }
        case 'checked': {
          const run = state.run;
          if (run?.id !== message.run || run.cancelled) return state;
          run.checking = false;
          if (message.error !== undefined) {
            ctx.log.warn('the final check of moved data failed; it is asked for again', { reason: message.error });
            state.status = { ...state.status, state: 'done', lastError: message.error };
            return state;
          }
          state.status = { ...state.status, state: 'checked' };
          ctx.log.info('checked every segment a rebalance moved here once more, with every node on the new ring', { change: run.change });
          return state;
        }
        case 'status': {
          const { status } = state;
          const elapsedS = (ctx.clock.now() - state.startedAtMs) / 1000;
          const doneShare = status.segments === 0 ? 1 : status.segmentsDone / status.segments;
          const etaSeconds = status.state === 'done' || status.state === 'checked' || status.state === 'idle' ? 0 : doneShare > 0 ? Math.round((elapsedS * (1 - doneShare)) / doneShare) : null;
          ctx.system.reply(message.replyTo, { ok: true, ...status, bytesPerSec: Math.round(state.rate.perSecond()), etaSeconds, releasePending: releasePending(context) });
          return state;
        }
      }
    },
  };
}

/** One rebalance's receiving: the moves in ring order, a few at a time, each copied then verified. */
class SegmentReceiver {
  private progress!: HandoffRecord;
  private readonly timeoutMs: number;
  private nextAllowedMs = 0;
  /** The limit nextAllowedMs was worked out with. */
  private pacedRate = 0;
  /** Body bytes a request brings, on average lately. */
  private expectedBytes = INITIAL_EXPECTED_BYTES;

  /** Large pulls running, and those waiting for one of them to end. */
  private largePulls = 0;
  private readonly largePullWaiters: Array<() => void> = [];

  /** The progress save under way, whether another is due after it, and the failure of the last. */
  private saving: Promise<void> | undefined;
  private saveAgain = false;
  private saveFailure: Error | undefined;

  /** When each version found unsettled on a source was first seen so (see StorageOptions.handoffUnsettledWaitMs). */
  private readonly unsettledSince = new Map<string, number>();

  constructor(
    private readonly system: ActorApi,
    private readonly context: StorageContext,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly run: Run,
    private readonly state: HandoffActorState,
    private readonly snapshot: RingSnapshot,
  ) {
    this.timeoutMs = context.options.replicaTimeoutMs;
  }

  async receiveAll(progress: HandoffRecord): Promise<void> {
    this.progress = progress;
    // Several segments at once: each write is a durable commit, and concurrent ones share it.
    const pending = this.run.moves.filter((move) => !progress.done.includes(move.end));
    await this.inLanes(pending, SEGMENT_CONCURRENCY, (move) => this.receive(move));
    await this.progressSaved();
  }

  /** Verifies every segment again, a few at a time. */
  async verifyAll(): Promise<void> {
    await this.inLanes(this.run.moves, SEGMENT_CONCURRENCY, (move) => this.verify(move));
  }

  /** Runs `work` on every item in order, `lanes` at a time, until the run is cancelled. */
  private async inLanes<T>(items: readonly T[], lanes: number, work: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < items.length && !this.run.cancelled) await work(items[next++]!);
    };
    await Promise.all(Array.from({ length: lanes }, lane));
  }

  private async receive(move: RebalanceMove): Promise<void> {
    await this.copy(move);
    if (this.run.cancelled) return;
    await this.verify(move);
    if (this.run.cancelled) return;
    const { [move.end]: _walked, ...walking } = this.progress.walking;
    this.record({ ...this.progress, done: [...this.progress.done, move.end], walking });
  }

  /** Walks the segment on one old holder after another, pulling what is newer there. */
  private async copy(move: RebalanceMove): Promise<void> {
    let after: HandoffCursor | undefined = this.progress.walking[move.end];
    this.setState('copying');
    // A source that fails gives way to the next one; the walk goes on from where it stopped.
    let turn = 0;
    for (;;) {
      if (this.run.cancelled) return;
      const sources = this.sourcesOf(move);
      const source = sources[turn % Math.max(1, sources.length)];
      if (!source || !this.context.presence.serving) {
        await this.pause('waiting');
        continue;
      }
      const page = await ask(this.system, routerOf(source), {
        type: 'range_entries', start: move.start, end: move.end, limit: MAX_RANGE_ENTRIES, ...(after ? { after } : {}),
      }, this.timeoutMs);
      if (!page.ok) {
        this.log.debug('an old holder did not give a page of a moved segment', { source, code: page.code, reason: page.message });
        turn++;
        await this.pause('waiting');
        continue;
      }
      this.setState('copying');
      await this.pullNewer(source, page.entries);
      const last = page.entries[page.entries.length - 1];
      if (last) {
        after = { position: last.position, kind: last.kind, bucket: last.bucket, key: last.key };
        this.record({ ...this.progress, walking: { ...this.progress.walking, [move.end]: after } });
      }
      if (page.done) return;
    }
  }

  /**
   * Compares the segment with every old holder that answers; whatever one holds newer is pulled, and
   * the comparison repeats until a pass with every answering holder finds nothing to pull.
   */
  private async verify(move: RebalanceMove): Promise<void> {
    // A write acknowledged before the rebalance is on W of the N old holders: comparing with N-W+1 of
    // them is sure to meet it.
    const { n, w } = this.snapshot.doc.settings;
    const needed = Math.min(move.sources.filter((node) => node !== this.context.node).length, Math.max(1, n - w + 1));
    for (;;) {
      if (this.run.cancelled) return;
      this.setState('verifying');
      const sources = this.context.presence.serving ? this.sourcesOf(move) : [];
      // Scanned once for all: anything pulled meanwhile only makes this node newer than the scan says.
      const local = this.context.digests.scan(move.start, move.end);
      // A version two sources hold is pulled from one; should that fail, the pass counts it behind.
      const claimed = new Set<string>();
      const outcomes = (await Promise.all(sources.map((source) => this.compareWith(source, move, local, claimed)))).filter((outcome) => outcome !== undefined);
      const compared = outcomes.length;
      const behind = outcomes.reduce((sum, outcome) => sum + outcome, 0);
      if (compared >= needed && behind === 0) return;
      await this.pause(compared < needed ? 'waiting' : 'verifying');
    }
  }

  /** Versions `source` holds newer than here that are still missing after pulling them; undefined: no comparison. */
  private async compareWith(source: string, move: RebalanceMove, local: readonly number[], claimed: Set<string>): Promise<number | undefined> {
    const summary = await ask(this.system, routerOf(source), { type: 'range_summary', start: move.start, end: move.end, ringChecksum: this.snapshot.checksum, fresh: true }, this.timeoutMs);
    if (!summary.ok) return undefined;
    const buckets = differingBuckets(local, summary.digests);
    if (buckets.length === 0) return 0;
    const theirs = await ask(this.system, routerOf(source), { type: 'range_keys', start: move.start, end: move.end, buckets }, this.timeoutMs);
    if (!theirs.ok) return undefined;
    return this.pullNewer(source, theirs.keys, claimed);
  }

  /**
   * Pulls each key that `source` holds newer than here; answers how many could not be taken. Versions
   * in `claimed` are being pulled from another source already; those pulled here are added to it.
   */
  private async pullNewer(source: string, keys: readonly RangeKey[], claimed?: Set<string>): Promise<number> {
    const wanted = keys.filter((entry) => {
      if (claimed) {
        const id = versionIdOf(entry, entry.clock);
        if (claimed.has(id)) return false;
        claimed.add(id);
      }
      const address = { kind: entry.kind, bucket: entry.bucket, key: entry.key };
      const local = this.context.store.getMeta(address);
      // Beneath an unsettled version here the source's copy may still be needed: the store keeps it there.
      return !local || compareHlc(local.clock, entry.clock) < 0 || this.context.store.isUnsettled(address, local.clock);
    });
    const batches: RangeKey[][] = [];
    for (let i = 0; i < wanted.length; i += BATCH_KEYS) batches.push(wanted.slice(i, i + BATCH_KEYS));
    let missed = 0;
    await this.inLanes(batches, BATCH_CONCURRENCY, async (batch) => {
      missed += await this.pullBatch(source, batch);
    });
    return missed;
  }

  /**
   * Pulls a batch of keys in as few requests as the source's byte budget allows: it answers small bodies
   * inside them, and the versions of each answer are written together (one commit). What it says to
   * read alone (large bodies), and what is unsettled there, is pulled one key at a time.
   */
  private async pullBatch(source: string, batch: readonly RangeKey[]): Promise<number> {
    const alone: RangeKey[] = [];
    let missed = 0;
    let asking = batch;
    while (asking.length > 0 && !this.run.cancelled) {
      const reserved = await this.keepToRate();
      const items = asking.map((entry) => ({ objectKind: entry.kind, bucket: entry.bucket, key: entry.key }));
      const answer = await ask(this.system, routerOf(source), { type: 'replica_get_many', items }, this.timeoutMs);
      this.spent(reserved, answer.ok ? answer.items.reduce((sum, item) => sum + ('body' in item ? item.body?.length ?? 0 : 0), 0) : 0);
      // A source of an earlier version that does not know the request gives its keys one at a time.
      if (!answer.ok && answer.code === 'BadMessage') {
        alone.push(...asking);
        break;
      }
      if (!answer.ok || answer.items.length !== asking.length) return missed + asking.length + alone.length;
      const again: RangeKey[] = [];
      const taken = await Promise.all(answer.items.map((item, i) => {
        const entry = asking[i]!;
        if ('deferred' in item) (item.deferred === 'again' ? again : alone).push(entry);
        else if (item.unsettled) alone.push(entry);
        else return item.meta ? this.take(entry, item.meta, item.body) : false;
        return true;
      }));
      missed += taken.filter((ok) => !ok).length;
      // A source that answers nothing must not be asked forever: what it put off counts as missed.
      if (again.length === asking.length) return missed + again.length + alone.length;
      asking = again;
    }
    // One at a time: these are the large bodies, up to a chunk each.
    // A run cancelled while a pull waited for its turn pulls nothing more.
    for (const entry of alone) if (!this.run.cancelled && !(await this.largePull(async () => this.run.cancelled || this.pullOne(source, entry)))) missed++;
    return missed;
  }

  /** Runs `pull` once fewer than LARGE_PULLS run, in the order asked. */
  private async largePull<T>(pull: () => Promise<T>): Promise<T> {
    if (this.largePulls >= LARGE_PULLS) await new Promise<void>((resolve) => this.largePullWaiters.push(resolve));
    else this.largePulls++;
    try {
      return await pull();
    } finally {
      // The slot passes straight to the next waiter, if any.
      const next = this.largePullWaiters.shift();
      if (next) next();
      else this.largePulls--;
    }
  }

  /**
   * A version still unsettled on the source (its coordinator has yet to settle it, or died first) is
   * judged by what the key's replicas hold, as a read judges it. One that may have been acknowledged is
   * taken: had the version beneath it been taken instead, a read here would serve an object whose
   * delete was acknowledged. Otherwise (it never reached its quorum, or has yet to, or the replicas that
   * could tell do not answer) the version beneath it is taken, the one its write replaced there, and the
   * key stays not done for a while, so that a later pass judges it again. When that version is itself
   * unsettled there, it is judged in its turn (pullOverUnsettled).
   */
  private async pullOne(source: string, entry: RangeKey): Promise<boolean> {
    const reserved = await this.keepToRate();
    const addressed = { objectKind: entry.kind, bucket: entry.bucket, key: entry.key };
    const pulled = await ask(this.system, routerOf(source), { type: 'replica_get', ...addressed, withBody: true }, this.timeoutMs);
    this.spent(reserved, pulled.ok ? pulled.body?.length ?? 0 : 0);
    if (!pulled.ok || !pulled.meta) return false;
    if (!pulled.unsettled) return this.take(entry, pulled.meta, pulled.body);
    const { meta } = pulled;
    const address = { kind: entry.kind, bucket: entry.bucket, key: entry.key };
    const local = this.context.store.getMeta(address);
    const here = { clock: local?.clock ?? null, unsettled: local !== undefined && this.context.store.isUnsettled(address, local.clock) };
    const judged = await judgeByReplicas(this.system, this.context, { address, clock: meta.clock, deleted: meta.deleted === true, ringChecksum: meta.ringChecksum }, here);
    // Moot under a settled newer version, it is not known to have been acknowledged: not taken as if it were.
    if (judged.verdict === 'settle' && !judged.overridden) return this.take(entry, meta, pulled.body);
    if (pulled.unsettled.previousUnsettled) return this.pullOverUnsettled(source, entry, meta.clock, pulled.unsettled, here);
    const tookBeneath = await this.pullBeneath(source, entry, pulled.unsettled.previous);
    return tookBeneath && this.waitedForSettling(entry, meta.clock);
  }

  /**
   * The version beneath the unsettled one on the source was unsettled too when replaced. It is judged as
   * the newest was. If it may have been acknowledged, this node needs it: other replicas showed it as
   * their newest for that verdict, and the comparison with them brings it (this node takes no unsettled
   * version from beneath another: `pullBeneath`). Otherwise this node needs the settled version the two
   * stand over (`settledBeneath`), which the other old holders give. Once it holds the one it needs, or
   * a newer settled one, the key waits as above. A deeper chain, or one whose bottom the source does not
   * know, leaves the key not done until the source's sweep ends its writes.
   */
  private async pullOverUnsettled(source: string, entry: RangeKey, clock: Hlc, unsettled: UnsettledWrite, here: Exclude<ReplicaView, 'unknown'>): Promise<boolean> {
    const { previous, settledBeneath } = unsettled;
    if (!previous) return false;
    const address = { kind: entry.kind, bucket: entry.bucket, key: entry.key };
    const judged = await judgeByReplicas(this.system, this.context, { address, clock: previous.clock, deleted: previous.deleted === true, ringChecksum: previous.ringChecksum }, here);
    if (judged.verdict === 'settle' && !judged.overridden) return (await this.pullBeneath(source, entry, previous)) && this.waitedForSettling(entry, clock);
    if (settledBeneath === undefined) return false;
    const covered = settledBeneath === null || (here.clock !== null && !here.unsettled && compareHlc(here.clock, settledBeneath) >= 0);
    return covered && this.waitedForSettling(entry, clock);
  }

  /** Takes the version beneath an unsettled one on `source` unless this node holds it or a newer one. */
  private async pullBeneath(source: string, entry: RangeKey, beneath: { readonly clock: Hlc } | null | undefined): Promise<boolean> {
    if (!beneath) return true;
    const local = this.context.store.getMeta({ kind: entry.kind, bucket: entry.bucket, key: entry.key });
    if (local && compareHlc(local.clock, beneath.clock) >= 0) return true;
    const pulled = await ask(this.system, routerOf(source), { type: 'replica_get', objectKind: entry.kind, bucket: entry.bucket, key: entry.key, withBody: true, clock: beneath.clock }, this.timeoutMs);
    this.spent(0, pulled.ok ? pulled.body?.length ?? 0 : 0);
    if (!pulled.ok || !pulled.meta || pulled.unsettled || compareHlc(pulled.meta.clock, beneath.clock) !== 0) return false;
    return this.take(entry, pulled.meta, pulled.body);
  }

  /** Whether the version at `clock` of `entry` has been seen unsettled for `handoffUnsettledWaitMs`; anti-entropy brings it should it settle later. */
  private waitedForSettling(entry: RangeKey, clock: Hlc): boolean {
    const id = versionIdOf(entry, clock);
    const now = this.clock.now();
    const since = this.unsettledSince.get(id);
    if (since === undefined) this.unsettledSince.set(id, now);
    return since !== undefined && now - since >= this.context.options.handoffUnsettledWaitMs;
  }

  /** Writes a pulled version here; false when it must be tried again. */
  private async take(entry: RangeKey, meta: ObjectMeta, body: Uint8Array | undefined): Promise<boolean> {
    const applied = await applyReplicaWrite(this.context, { objectKind: entry.kind, meta, keepPrevious: false, ...(body ? { body } : {}) });
    if (!applied.ok) {
      // A key of a bucket deleted meanwhile is not data to keep; anything else is tried again.
      if (applied.code === 'BucketDeleted' || applied.code === 'BucketSealed') return true;
      if (applied.code === 'StoreError' || applied.code === 'InsufficientStorage') throw new Error(`storing ${entry.bucket}/${entry.key}: ${applied.message}`);
      return false;
    }
    const bytes = body?.length ?? 0;
    this.state.rate.add(bytes);
    if (applied.applied && !this.run.cancelled) this.state.status = { ...this.state.status, objects: this.state.status.objects + 1, bytes: this.state.status.bytes + bytes };
    return true;
  }

  /** Old holders of the segment, other than this node, that are not known to be down. */
  private sourcesOf(move: RebalanceMove): string[] {
    return move.sources.filter((node) => node !== this.context.node && !this.context.isKnownDown(node));
  }

  /**
   * Records progress and saves it in the background, one save at a time, each of the latest progress:
   * a segment's lanes do not wait for a commit of their own. Progress lost in a crash only means a page
   * pulled or a segment verified again. A save that failed fails the next record. The segments told
   * done (status) are those saved so.
   */
  private record(next: HandoffRecord): void {
    if (this.run.cancelled) return;
    if (this.saveFailure !== undefined) throw this.saveFailure;
    this.progress = { ...next, objects: this.state.status.objects, bytes: this.state.status.bytes };
    if (this.saving) this.saveAgain = true;
    else this.saveProgress();
  }

  private saveProgress(): void {
    const saved = this.progress;
    this.saving = this.context.store.handoff.save(saved).then(
      () => {
        this.saving = undefined;
        if (!this.run.cancelled && saved.done.length > this.state.status.segmentsDone) this.state.status = { ...this.state.status, segmentsDone: saved.done.length };
        if (!this.saveAgain || this.run.cancelled) return;
        this.saveAgain = false;
        this.saveProgress();
      },
      (error: unknown) => {
        this.saving = undefined;
        this.saveFailure = error instanceof Error ? error : new Error(String(error));
      },
    );
  }

  /** Resolves once every progress recorded so far is durable. */
  private async progressSaved(): Promise<void> {
    while (this.saving) await this.saving;
    if (this.saveFailure !== undefined) throw this.saveFailure;
  }

  private setState(state: HandoffState): void {
    if (this.run.cancelled) return;
    if (this.state.status.state !== state) this.state.status = { ...this.state.status, state };
  }

  private async pause(state: HandoffState): Promise<void> {
    this.setState(state);
    await sleep(this.clock, RETRY_PAUSE_MS);
  }

  /**
   * Waits for this request's turn under the rate limit, and answers the bytes it reserved. Turns are
   * spaced by what a request is expected to bring, so that concurrent lanes go one after another
   * instead of all at once after each pause (bursts that S3 traffic would feel). A limit changed or
   * lifted meanwhile (`rebalance --rate`) moves the turns already given within a second.
   */
  private async keepToRate(): Promise<number> {
    let rate = this.limit();
    if (rate <= 0) return 0;
    let now = this.clock.now();
    let turnMs = Math.max(this.nextAllowedMs, now);
    const reserved = this.expectedBytes;
    this.nextAllowedMs = turnMs + (reserved / rate) * 1000;
    while (turnMs > now && !this.run.cancelled) {
      await sleep(this.clock, Math.min(turnMs - now, RATE_RECHECK_MS));
      now = this.clock.now();
      const current = this.limit();
      if (current <= 0) break;
      if (current !== rate) turnMs = now + Math.max(0, turnMs - now) * (rate / current);
      rate = current;
    }
    return reserved;
  }

  /** What a request brought: later turns move by its difference from what it reserved. */
  private spent(reserved: number, bytes: number): void {
    this.expectedBytes += (bytes - this.expectedBytes) * EXPECTED_BYTES_WEIGHT;
    const rate = this.limit();
    if (rate > 0) this.nextAllowedMs += ((bytes - reserved) / rate) * 1000;
  }

  /**
   * The limit of the ring now in force (`leofs-adm rebalance --rate` may change it mid-way); when it
   * changed, the turns still to come are rescaled to it first.
   */
  private limit(): number {
    const rate = this.context.pace.rate(this.context.ringView.current?.doc.handoffRateBytesPerSec ?? 0);
    if (rate !== this.pacedRate) {
      const now = this.clock.now();
      this.nextAllowedMs = rate > 0 && this.pacedRate > 0 ? now + Math.max(0, this.nextAllowedMs - now) * (this.pacedRate / rate) : now;
      this.pacedRate = rate;
    }
    return rate;
  }
}

/** Names one version of a key, for the sets and maps that track versions across sources and passes. */
function versionIdOf(entry: RangeKey, clock: Hlc): string {
  return `${entry.kind}\n${entry.bucket}\n${entry.key}\n${encodeHlc(clock)}`;
}

/** Bytes per second over a sliding window, in one-second slots. */
class ByteRate {
  private readonly slots = new Map<number, number>();

  constructor(private readonly clock: Clock) {}

  add(bytes: number): void {
    const slot = Math.floor(this.clock.now() / 1000);
    this.slots.set(slot, (this.slots.get(slot) ?? 0) + bytes);
    for (const key of this.slots.keys()) if (key < slot - RATE_WINDOW_MS / 1000) this.slots.delete(key);
  }

  perSecond(): number {
    const slot = Math.floor(this.clock.now() / 1000);
    let total = 0;
    for (const [key, bytes] of this.slots) if (key > slot - RATE_WINDOW_MS / 1000) total += bytes;
    return total / (RATE_WINDOW_MS / 1000);
  }
}

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
