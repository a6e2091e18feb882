/**
 * Applies the buckets' lifecycle rules (core/lifecycle.ts), through the cluster like any client. A pass
 * asks the manager which buckets have rules (and asks again before every step, so that a change of rules
 * or versioning counts at once), then walks this node's records of each of them (objects,
 * then uploads) in key order, `lifecycleKeysPerSecond` at most, and judges only the keys this node is
 * the first available replica of, so each key is judged by one node. The cost of a pass grows with the
 * keys of the buckets that have rules, never with a listing's page count; a pass picks up where it was
 * after every batch, however many keys a bucket holds. Between passes the worker rests
 * `lifecyclePauseMs`.
 *
 * Every action names the version it judged: an expiry is a delete (or delete marker) conditioned on the
 * current version's ETag, a removal names a version id, so a write that came after the judgement is
 * never undone; the key's replicas refuse what object lock forbids, and a removal of an older version
 * holds only while it is one. Chunks of what a removal drops are left to the orphan sweep.
 */
import type { BucketRecord } from '../../core/auth-snapshot.js';
import { namespaceOf } from '../../core/bucket-namespace.js';
import { planLifecycle, uploadToAbort, type LifecycleAction, type LifecycleConfig } from '../../core/lifecycle.js';
import type { ObjectKind, ObjectMeta } from '../../core/object-meta.js';
import { newObjectVersionId, NULL_VERSION_ID, type BucketVersioning, type VersionedWrite } from '../../core/object-versioning.js';
import { parseUploadRecordKey } from '../../core/upload-records.js';
import type { Behavior } from '../../runtime/actor.js';
import type { Logger } from '../../runtime/logger.js';
import { mapBounded } from '../../runtime/bounded.js';
import { SelfTimer } from '../../runtime/self-timer.js';
import type { DeleteResult, StorageApi } from '../../protocol/cluster/storage-api.js';
import { sendVersionedWrite, VersionedWriteFailure } from '../common/versioned-writes.js';
import type { BucketLifecycleProgress, LifecycleCounts, LifecycleMessage } from '../../protocol/cluster/lifecycle.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import { judgedHere } from './judged-here.js';
import type { StorageContext } from './storage-context.js';

export interface LifecycleDeps {
  /** The cluster's object API (reads with quorum R, deletes with D), as a gateway uses it. */
  readonly storage: StorageApi;
  /** Every bucket, as the manager keeps them; undefined while it cannot be asked. */
  readonly buckets: () => Promise<readonly BucketRecord[] | undefined>;
}

/** A bucket a pass applies rules to. */
interface Target {
  readonly name: string;
  readonly namespace: string;
  readonly config: LifecycleConfig;
  readonly versioning: BucketVersioning | undefined;
}

interface Pass {
  readonly targets: readonly Target[];
  index: number;
  kind: ObjectKind;
  cursor: ObjectAddress | undefined;
  counts: MutableCounts;
  startedAtMs: number;
}

type MutableCounts = { -readonly [name in keyof LifecycleCounts]: LifecycleCounts[name] };

interface LifecycleState {
  readonly timer: SelfTimer<LifecycleMessage>;
  pass: Pass | undefined;
  /** A step is under way (it runs beside the mailbox). */
  stepping: boolean;
  /** Per bucket name: the last finished pass over it. */
  readonly lastRuns: Map<string, NonNullable<BucketLifecycleProgress['lastRun']>>;
  /** Per bucket name: what finished passes did since the node started. */
  readonly totals: Map<string, MutableCounts>;
}

/** Records looked at in one step at most, whatever the rate: a step's actions finish in moments. */
const MAX_BATCH_KEYS = 1_000;
/** How long an answer about the buckets counts as current. */
const BUCKETS_FRESH_MS = 1_000;
/** Keys whose actions are under way at once (each a write decided on the key's replicas). */
const ACTIONS_IN_FLIGHT = 16;

/** What an action came to. */
type Outcome = 'done' | 'skipped' | 'locked' | 'failed';

export function lifecycleWorkerBehavior(context: StorageContext, deps: LifecycleDeps): Behavior<LifecycleState, LifecycleMessage> {
  const { options } = context;
  /** The buckets as last heard, reused for a second: every step asks, and the manager answers every node. */
  let heard: { readonly atMs: number; readonly buckets: readonly BucketRecord[] } | undefined;

  return {
    accepts: ['status', 'explain'],
    init(ctx) {
      const state: LifecycleState = { timer: new SelfTimer<LifecycleMessage>(ctx, { type: 'tick' }, context.pace), pass: undefined, stepping: false, lastRuns: new Map(), totals: new Map() };
      state.timer.schedule(options.lifecyclePauseMs);
      return state;
    },
    async receive(state, message, ctx) {
      switch (message.type) {
        case 'status':
          ctx.system.reply(message.replyTo, { ok: true, node: context.node, buckets: progressOf(state) });
          return state;
        case 'explain': {
          const record = await deps.storage.get('object', message.namespace, message.key, { withBody: false });
          if (!record.ok && record.code !== 'NotFound') {
            ctx.system.reply(message.replyTo, { ok: false, code: 'Unavailable', message: `cannot read the key: ${record.code} ${record.message}` });
            return state;
          }
          const nowMs = ctx.clock.now();
          const plan = record.ok
            ? planLifecycle(record.meta, message.config, nowMs, message.versioned)
            : { actions: [], explanation: ['the key has no version'] };
          ctx.system.reply(message.replyTo, { ok: true, node: context.node, nowMs, actions: plan.actions, explanation: plan.explanation });
          return state;
        }
        case 'tick':
          // A step runs beside the mailbox, so that status and explain answer while it acts.
          if (state.stepping) return state;
          state.stepping = true;
          void step(state, ctx.log, ctx.clock.now())
            .catch((error: unknown) => {
              ctx.log.warn('a lifecycle step failed; the pass goes on from where it was', { error });
              state.timer.schedule(options.lifecyclePauseMs / 10);
            })
            .finally(() => {
              state.stepping = false;
            });
          return state;
      }
    },
  };

  async function step(state: LifecycleState, log: Logger, nowMs: number): Promise<void> {
    if (state.pass === undefined) {
      const targets = await targetsNow();
      if (targets === undefined || targets.length === 0) {
        state.timer.schedule(options.lifecyclePauseMs);
        return;
      }
      state.pass = { targets, index: 0, kind: 'object', cursor: undefined, counts: emptyCounts(), startedAtMs: nowMs };
      log.info('lifecycle pass started', { buckets: targets.map((target) => target.name) });
    }
    const pass = state.pass;
    // The bucket as it is now: rules removed or changed, or versioning enabled, since the pass began count
    // from the next step on. Without an answer from the manager nothing is done on old knowledge.
    const fresh = await targetsNow();
    if (fresh === undefined) {
      state.timer.schedule(options.lifecyclePauseMs / 10);
      return;
    }
    const target = fresh.find((candidate) => candidate.namespace === pass.targets[pass.index]!.namespace);
    if (target === undefined) {
      finishBucket(state, pass, log, nowMs);
      return;
    }
    const batchKeys = Math.min(MAX_BATCH_KEYS, Math.max(1, Math.ceil(options.lifecycleKeysPerSecond / 10)));
    const walk = context.store.walkRecords(pass.kind, pass.cursor ?? { kind: pass.kind, bucket: target.namespace, key: '' }, batchKeys);
    // Done once the walk leaves the bucket's keys (or the store's).
    const bucketDone = walk.last === undefined || walk.last.bucket !== target.namespace;
    const judged = walk.records.filter(({ address, meta }) => address.bucket === target.namespace && !meta.deleted && judgedHere(context, address));
    pass.counts.scanned += judged.length;
    const kind = pass.kind;
    const counts = pass.counts;
    await mapBounded(judged, ACTIONS_IN_FLIGHT, ({ address, meta }) =>
      kind === 'object' ? judgeObject(target, meta, counts, nowMs, log) : judgeUpload(target, address, meta, counts, nowMs, log),
    );
    if (!bucketDone) pass.cursor = walk.last;
    if (!bucketDone) {
      state.timer.schedule((batchKeys * 1000) / options.lifecycleKeysPerSecond);
      return;
    }
    if (pass.kind === 'object') {
      pass.kind = 'upload';
      pass.cursor = undefined;
      state.timer.schedule(0);
    } else {
      finishBucket(state, pass, log, nowMs);
    }
  }

  /** The pass is through the bucket now being walked (or it lost its rules): on to the next, or rest. */
  function finishBucket(state: LifecycleState, pass: Pass, log: Logger, nowMs: number): void {
    const name = pass.targets[pass.index]!.name;
    state.lastRuns.set(name, { ...pass.counts, startedAtMs: pass.startedAtMs, finishedAtMs: nowMs });
    state.totals.set(name, addCounts(state.totals.get(name) ?? emptyCounts(), pass.counts));
    log.info('lifecycle pass over a bucket done', { bucket: name, ...pass.counts });
    pass.index++;
    pass.kind = 'object';
    pass.cursor = undefined;
    pass.counts = emptyCounts();
    pass.startedAtMs = nowMs;
    if (pass.index >= pass.targets.length) {
      state.pass = undefined;
      state.timer.schedule(options.lifecyclePauseMs);
      return;
    }
    state.timer.schedule(0);
  }

  async function targetsNow(): Promise<Target[] | undefined> {
    const nowMs = context.clock.now();
    if (heard === undefined || nowMs - heard.atMs >= BUCKETS_FRESH_MS || nowMs < heard.atMs) {
      const answer = await deps.buckets();
      if (answer === undefined) return undefined;
      heard = { atMs: nowMs, buckets: answer };
    }
    const buckets = heard.buckets;
    return buckets
      ?.filter((bucket) => bucket.lifecycle?.rules.some((rule) => rule.enabled) === true)
      .map((bucket) => ({ name: bucket.name, namespace: namespaceOf(bucket), config: bucket.lifecycle!, versioning: bucket.versioning }));
  }

  async function judgeObject(target: Target, record: ObjectMeta, counts: MutableCounts, nowMs: number, log: Logger): Promise<void> {
    const plan = planLifecycle(record, target.config, nowMs, target.versioning !== undefined);
    for (const action of plan.actions) {
      const outcome = await act(target, record.key, action, log);
      if (outcome === 'done') {
        if (action.type === 'expire-current') counts.expired++;
        else if (action.reason === 'expired-delete-marker') counts.markersRemoved++;
        else counts.versionsRemoved++;
        log.debug('lifecycle applied', { bucket: target.name, key: record.key, ...action });
      } else if (outcome === 'locked') counts.locked++;
      else if (outcome === 'failed') counts.failed++;
    }
  }

  async function judgeUpload(target: Target, address: ObjectAddress, record: ObjectMeta, counts: MutableCounts, nowMs: number, log: Logger): Promise<void> {
    const upload = parseUploadRecordKey(address.key);
    if (upload === undefined) return;
    const rule = uploadToAbort(target.config, upload.key, record.lastModifiedMs, nowMs);
    if (rule === undefined) return;
    // Its parts and their chunks go with the orphan sweep once nothing names them.
    const aborted = await deps.storage.delete('upload', target.namespace, address.key);
    if (aborted.ok) {
      counts.uploadsAborted++;
      log.info('lifecycle aborted an incomplete upload', { bucket: target.name, key: upload.key, uploadId: upload.uploadId, rule });
    } else if (aborted.code !== 'NotFound') counts.failed++;
  }

  async function act(target: Target, key: string, action: LifecycleAction, log: Logger): Promise<Outcome> {
    // An expiry holds only while the version judged is still the current one.
    const condition = action.type === 'expire-current' ? { ifMatch: action.etag } : undefined;
    const mode = target.versioning;
    let write: VersionedWrite | undefined;
    if (action.type === 'remove-version') {
      // A delete marker judged alone may have been covered since, an older version made current again: both stay.
      const onlyIfNoncurrent = action.reason === 'noncurrent';
      write = { type: 'remove', versionId: action.versionId, ...(onlyIfNoncurrent ? { onlyIfNoncurrent } : {}) };
    } else if (mode !== undefined) {
      write = { type: 'marker', mode, versionId: mode === 'Enabled' ? newObjectVersionId() : NULL_VERSION_ID };
    }
    let result: DeleteResult;
    try {
      result = write === undefined
        ? await deps.storage.delete('object', target.namespace, key, condition)
        // A marker over a version written before versioning moves its body out of the record first.
        : await sendVersionedWrite({ storage: deps.storage, log }, target.namespace, key, write, (rechunked) =>
            deps.storage.delete('object', target.namespace, key, condition, rechunked === undefined ? write : { ...write, rechunked }),
          );
    } catch (error) {
      if (!(error instanceof VersionedWriteFailure)) throw error;
      result = error.failure;
    }
    if (result.ok) return 'done';
    switch (result.code) {
      case 'ObjectLocked':
        return 'locked';
      // The key changed since it was judged: the next pass judges it again.
      case 'PreconditionFailed':
      case 'NotFound':
      case 'NoSuchVersion':
        return 'skipped';
      default:
        return 'failed';
    }
  }

  function progressOf(state: LifecycleState): BucketLifecycleProgress[] {
    const names = new Set([...state.lastRuns.keys(), ...(state.pass?.targets.map((target) => target.name) ?? [])]);
    return [...names].sort().map((bucket) => {
      const lastRun = state.lastRuns.get(bucket);
      const total = state.totals.get(bucket);
      const pass = state.pass;
      const running = pass !== undefined && pass.targets[pass.index]?.name === bucket;
      return {
        bucket,
        ...(running ? { runningSinceMs: pass.startedAtMs, running: { ...pass.counts } } : {}),
        ...(lastRun ? { lastRun } : {}),
        ...(total ? { total: { ...total } } : {}),
      };
    });
  }
}

function addCounts(a: LifecycleCounts, b: LifecycleCounts): MutableCounts {
  const sum = emptyCounts();
  for (const name of Object.keys(sum) as Array<keyof LifecycleCounts>) sum[name] = a[name] + b[name];
  return sum;
}

function emptyCounts(): MutableCounts {
  return { scanned: 0, expired: 0, versionsRemoved: 0, markersRemoved: 0, uploadsAborted: 0, locked: 0, failed: 0 };
}
