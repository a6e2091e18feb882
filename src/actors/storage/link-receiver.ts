/**
 * Takes what linked clusters ship to this one (cluster-link.ts): versions arrive with their bucket's
 * name and the clock their own cluster stamped, and are stored in this cluster's incarnation of the
 * bucket on its own N replicas, with quorum W (D for a tombstone), never stamped again. Chunks come
 * before the object that names them, so an object never surfaces here before its body.
 *
 * Nodes of linked clusters reach this actor and nothing else of the storage node; everything they send
 * is checked as any remote input is.
 */
import { namespaceOf } from '../../core/bucket-namespace.js';
import type { BucketRecord } from '../../core/auth-snapshot.js';
import { carriesBody, type ObjectMeta } from '../../core/object-meta.js';
import type { ActorApi, Behavior } from '../../runtime/actor.js';
import type { Logger } from '../../runtime/logger.js';
import { isObjectMeta } from '../../store/object-store.js';
import { isLinkScope, type LinkScope } from '../../protocol/cluster/cluster-link.js';
import type {
  LinkApplyReply,
  LinkDigestReply,
  LinkCompareReply,
  LinkEntry,
  LinkEntryResult,
  LinkLackingReply,
  LinkReceiverMessage,
  LinkVersionSummary,
} from '../../protocol/cluster/cluster-link.js';
import { compareHlc, hlcDriftMs, isHlc } from '../../core/hlc.js';
import { assertNever } from '../../core/assert-never.js';
import { chunkKeysOf } from '../../core/chunk-layout.js';
import { isReplyTo, type ReplyTo } from '../../runtime/refs.js';
import { MAX_BODY_BYTES } from '../../protocol/cluster/replicator.js';
import type { StorageApi } from '../../protocol/cluster/storage-api.js';
import type { StorageContext } from './storage-context.js';
import { MAX_SCOPE_KEYS } from '../../protocol/cluster/link-sync.js';
import { clusterDigest } from './link-scopes.js';
import { coordinateReceivedWrite } from './write-coordinator.js';

export interface LinkReceiverDeps {
  /** This cluster's object API, to tell which chunks it holds. */
  readonly storage: StorageApi;
  /** Every bucket, from the manager; undefined while it cannot be asked. */
  readonly buckets: () => Promise<readonly BucketRecord[] | undefined>;
}

/** Entries and chunk names in one request at most; a shipper sends far fewer. */
const MAX_ENTRIES = 1_024;
/** link_digest requests folded at once by this node: each has every storage node here walk its keys. */
const MAX_DIGESTS_IN_FLIGHT = 1;
/** Requests from linked clusters worked on at once; more are refused with SlowDown and sent again later. */
const MAX_IN_FLIGHT = 8;
/**
 * How far ahead of this node's clock a shipped version's clock may run. One further ahead is refused: it
 * would drag this cluster's clocks along and outlive every later write of its key here.
 */
const MAX_CLOCK_AHEAD_MS = 5 * 60_000;
/** What S3 allows a key, and room for what names a chunk of it. */
const MAX_KEY_BYTES = 1_024 + 64;
/** How long the buckets the manager gave are used before asking again. */
const BUCKETS_TTL_MS = 1_000;

interface ReceiverState {
  buckets: { readonly atMs: number; readonly byName: ReadonlyMap<string, string> } | undefined;
  /** The manager's answer being awaited, shared by every request meanwhile. */
  asking: Promise<ReadonlyMap<string, string> | undefined> | undefined;
  inFlight: number;
  /** link_digest requests being folded. */
  digesting: number;
}

export function linkReceiverBehavior(context: StorageContext, deps: LinkReceiverDeps): Behavior<ReceiverState, LinkReceiverMessage> {
  /** Bucket name -> this cluster's namespace for it; undefined while the manager cannot be asked. */
  const namespaces = async (state: ReceiverState): Promise<ReadonlyMap<string, string> | undefined> => {
    const nowMs = context.clock.now();
    if (state.buckets && nowMs - state.buckets.atMs < BUCKETS_TTL_MS) return state.buckets.byName;
    state.asking ??= deps.buckets().then(
      (buckets) => {
        state.asking = undefined;
        if (buckets) state.buckets = { atMs: nowMs, byName: new Map(buckets.map((bucket) => [bucket.name, namespaceOf(bucket)])) };
        return state.buckets?.byName;
      },
      () => {
        state.asking = undefined;
        return state.buckets?.byName;
      },
    );
    return state.asking;
  };

  return {
    accepts: ['link_lacking', 'link_apply', 'link_compare', 'link_digest'],
    init: () => ({ buckets: undefined, asking: undefined, inFlight: 0, digesting: 0 }),
    receive(state, message, ctx) {
      if (!isReplyTo(message.replyTo)) return state;
      if (state.inFlight >= MAX_IN_FLIGHT) {
        ctx.system.reply(message.replyTo as ReplyTo<unknown>, { ok: false, code: 'SlowDown', message: `${MAX_IN_FLIGHT} shipments are being stored here; send again later` });
        return state;
      }
      // A malformed digest request is refused as such, not told to come back (it would fail again).
      if (message.type === 'link_digest' && !isLinkScope(message.scope)) {
        ctx.system.reply(message.replyTo as ReplyTo<unknown>, { ok: false, code: 'BadRequest', message: 'malformed stretch of keys' });
        return state;
      }
      if (message.type === 'link_digest' && state.digesting >= MAX_DIGESTS_IN_FLIGHT) {
        // Every storage node here walks its keys for a digest: one at a time is what a comparison needs.
        ctx.system.reply(message.replyTo as ReplyTo<unknown>, { ok: false, code: 'SlowDown', message: 'a digest is being folded here; ask again later' });
        return state;
      }
      state.inFlight++;
      if (message.type === 'link_digest') state.digesting++;
      const work = (): Promise<LinkLackingReply | LinkApplyReply | LinkCompareReply | LinkDigestReply> => {
        switch (message.type) {
          case 'link_lacking':
            return lacking(deps.storage, message.chunks, namespaces(state));
          case 'link_apply':
            return apply(ctx.system, context, ctx.log, message.entries, namespaces(state));
          case 'link_compare':
            return compare(deps.storage, message.versions, namespaces(state));
          case 'link_digest':
            return digest(ctx.system, context, message.scope, namespaces(state));
          default:
            return assertNever(message);
        }
      };
      void work()
        .catch((error: unknown) => ({ ok: false as const, code: 'InternalError', message: error instanceof Error ? error.message : String(error) }))
        .then((reply) => {
          state.inFlight--;
          if (message.type === 'link_digest') state.digesting--;
          ctx.system.reply(message.replyTo as ReplyTo<unknown>, reply);
        });
      return state;
    },
  };
}

async function lacking(storage: StorageApi, chunks: unknown, byName: Promise<ReadonlyMap<string, string> | undefined>): Promise<LinkLackingReply> {
  if (!Array.isArray(chunks) || chunks.length > MAX_ENTRIES) return { ok: false, code: 'BadRequest', message: `at most ${MAX_ENTRIES} chunk names, as a list` };
  const namespaces = await byName;
  if (!namespaces) return { ok: false, code: 'Unavailable', message: 'the buckets of this cluster cannot be read now' };
  const held = await Promise.all(
    chunks.map(async (chunk: unknown) => {
      const { bucket, key } = (chunk ?? {}) as { bucket?: unknown; key?: unknown };
      const namespace = typeof bucket === 'string' ? namespaces.get(bucket) : undefined;
      if (namespace === undefined || typeof key !== 'string') return false;
      const found = await storage.get('chunk', namespace, key);
      return found.ok;
    }),
  );
  return { ok: true, lacking: held.flatMap((isHeld, index) => (isHeld ? [] : [index])) };
}

/**
 * Which of another cluster's newest versions this cluster lacks. A read finds no tombstone: a key read as
 * absent lacks a live version, not a delete (a delete over nothing changes nothing here).
 */
async function compare(storage: StorageApi, versions: unknown, byName: Promise<ReadonlyMap<string, string> | undefined>): Promise<LinkCompareReply> {
  if (!Array.isArray(versions) || versions.length > MAX_ENTRIES) return { ok: false, code: 'BadRequest', message: `at most ${MAX_ENTRIES} versions, as a list` };
  const namespaces = await byName;
  if (!namespaces) return { ok: false, code: 'Unavailable', message: 'the buckets of this cluster cannot be read now' };
  const lacks = await Promise.all(
    versions.map(async (version: unknown) => {
      const { bucket, key, clock, deleted } = (version ?? {}) as Partial<LinkVersionSummary>;
      const namespace = typeof bucket === 'string' ? namespaces.get(bucket) : undefined;
      if (namespace === undefined || typeof key !== 'string' || !isHlc(clock)) return false;
      const held = await storage.get('object', namespace, key);
      if (held.ok) return compareHlc(held.meta.clock, clock) < 0;
      if (held.code === 'NotFound') return deleted !== true;
      // Not known now: the next comparison asks again.
      return false;
    }),
  );
  return { ok: true, behind: lacks.flatMap((lacking, index) => (lacking ? [index] : [])) };
}

/** This cluster's digest of a stretch a linked cluster compares; null when it holds too many keys there to fold at once. */
async function digest(system: ActorApi, context: StorageContext, scope: LinkScope, byName: Promise<ReadonlyMap<string, string> | undefined>): Promise<LinkDigestReply> {
  const namespaces = await byName;
  if (!namespaces) return { ok: false, code: 'Unavailable', message: 'the buckets of this cluster cannot be read now' };
  const namespace = namespaces.get(scope.bucket);
  if (namespace === undefined) return { ok: false, code: 'NoSuchBucket', message: `this cluster has no bucket ${scope.bucket}` };
  const local = { bucket: scope.bucket, namespace, ...(scope.after !== undefined ? { after: scope.after } : {}), ...(scope.upTo !== undefined ? { upTo: scope.upTo } : {}) };
  // Each node looks at a few times the keys of its own cluster's stretches at most: a stretch holding
  // more here is folded as far as that goes.
  const limit = Math.min(MAX_SCOPE_KEYS, 4 * Math.max(1, context.options.linkSyncStretchKeys));
  const folded = await clusterDigest(system, context, local, limit, true);
  if (!folded.ok) return { ok: false, code: 'Unavailable', message: folded.message };
  const narrowed = folded.scope.upTo !== scope.upTo && folded.scope.upTo !== undefined ? { upTo: folded.scope.upTo } : {};
  return { ok: true, digest: folded.digest, keys: folded.keys, ...narrowed };
}

async function apply(system: ActorApi, context: StorageContext, log: Logger, entries: unknown, byName: Promise<ReadonlyMap<string, string> | undefined>): Promise<LinkApplyReply> {
  if (!Array.isArray(entries) || entries.length > MAX_ENTRIES) return { ok: false, code: 'BadRequest', message: `at most ${MAX_ENTRIES} entries, as a list` };
  const namespaces = await byName;
  if (!namespaces) return { ok: false, code: 'Unavailable', message: 'the buckets of this cluster cannot be read now' };
  const snapshot = context.ringView.current;
  if (!snapshot) return { ok: false, code: 'Unavailable', message: 'this node has no ring yet' };
  const nowMs = context.clock.now();
  const checked = entries.map((entry: unknown) => checkEntry(entry, namespaces, nowMs));
  const store = (index: number): Promise<LinkEntryResult> => {
    const entry = checked[index]!;
    if (!entry.ok) return Promise.resolve(entry);
    const { objectKind, meta, body } = entry.entry;
    const required = meta.deleted ? snapshot.doc.settings.d : snapshot.doc.settings.w;
    const received = { ...meta, ringChecksum: snapshot.checksum };
    return coordinateReceivedWrite(system, context, log, { objectKind, meta: received, required, ...(body ? { body } : {}) }).then((result) =>
      result.ok ? { ok: true, applied: true } : { ok: false, code: result.code, message: result.message },
    );
  };
  // Chunks first: an object is stored only once every chunk before it in the shipment is.
  const results: LinkEntryResult[] = new Array(checked.length);
  const chunks = checked.flatMap((entry, index) => (entry.ok && entry.entry.objectKind === 'chunk' ? [index] : []));
  await Promise.all(chunks.map(async (index) => (results[index] = await store(index))));
  const chunksFailed = chunks.some((index) => !results[index]!.ok);
  await Promise.all(
    checked.map(async (entry, index) => {
      if (results[index] !== undefined) return;
      if (chunksFailed && entry.ok) results[index] = { ok: false, code: 'ChunksMissing', message: 'a chunk of this shipment was not stored' };
      else results[index] = await store(index);
    }),
  );
  return { ok: true, results };
}

type CheckedEntry = { readonly ok: true; readonly entry: LinkEntry } | { readonly ok: false; readonly code: string; readonly message: string };

/** An entry from a linked cluster, its bucket turned into this cluster's namespace; or why it cannot be stored. */
function checkEntry(entry: unknown, namespaces: ReadonlyMap<string, string>, nowMs: number): CheckedEntry {
  const { objectKind, meta, body } = (entry ?? {}) as Partial<LinkEntry>;
  if ((objectKind !== 'object' && objectKind !== 'chunk') || !isObjectMeta(meta)) return { ok: false, code: 'BadRequest', message: 'malformed entry' };
  if (Buffer.byteLength(meta.key) > MAX_KEY_BYTES) return { ok: false, code: 'BadRequest', message: 'key too long' };
  if (!Number.isSafeInteger(meta.sizeBytes) || meta.sizeBytes < 0) return { ok: false, code: 'BadRequest', message: 'malformed size' };
  if (hlcDriftMs(meta.clock, nowMs) > MAX_CLOCK_AHEAD_MS) {
    return { ok: false, code: 'ClockAhead', message: `the version is stamped ${Math.round(hlcDriftMs(meta.clock, nowMs) / 1000)} s ahead of this cluster's clock` };
  }
  if (!layoutsHold(meta)) return { ok: false, code: 'BadRequest', message: 'a chunk layout does not hold together' };
  if (body !== undefined && !(body instanceof Uint8Array)) return { ok: false, code: 'BadRequest', message: 'malformed body' };
  if (body !== undefined && body.length > MAX_BODY_BYTES) return { ok: false, code: 'BadRequest', message: `a body of ${body.length} bytes must come as chunks` };
  if (carriesBody(meta) !== (body !== undefined)) return { ok: false, code: 'BadRequest', message: 'the body does not match the version' };
  if (body !== undefined && body.length !== meta.sizeBytes) return { ok: false, code: 'BadRequest', message: 'the body does not match the version' };
  const namespace = namespaces.get(meta.bucket);
  if (namespace === undefined) return { ok: false, code: 'NoSuchBucket', message: `this cluster has no bucket ${meta.bucket}` };
  // A chunk is aged from its arrival here, so that this cluster's orphan sweep never takes it for a
  // leftover before the object that names it has arrived.
  const arrived = objectKind === 'chunk' ? { lastModifiedMs: nowMs } : {};
  return { ok: true, entry: { objectKind, meta: { ...meta, bucket: namespace, ...arrived }, ...(body ? { body } : {}) } };
}

/** Every chunk layout the record names (its versions' too) lists as many chunks as its runs say. */
function layoutsHold(meta: ObjectMeta): boolean {
  const layouts = [meta.chunks, ...(Array.isArray(meta.noncurrent) ? meta.noncurrent.map((version) => version?.chunks) : [])];
  try {
    for (const layout of layouts) if (layout !== undefined) chunkKeysOf(meta.key, layout);
    return true;
  } catch {
    return false;
  }
}
