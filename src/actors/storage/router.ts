/**
 * The storage node's entry point for other nodes. Replica writes are handed to the store in arrival
 * order, each without waiting for the one before to commit, so many share one LMDB transaction and fsync
 * (group commit); the store compares clocks inside its transaction, so no write can overtake another
 * it must not. The steps of a compare-and-set, reads, listings and range summaries are answered
 * straight from the store (each compare-and-set step is one store transaction, and LMDB reads never
 * wait for writers). Every field of a remote message is checked here.
 */
import { isBodySlice, type BodySlice } from '../../core/body-slice.js';
import { carriesBody, OBJECT_KINDS, type ObjectKind, type ObjectMeta } from '../../core/object-meta.js';
import { isRingPosition, keyPosition } from '../../core/ring/position.js';
import { isStagedBodyRef } from '../../core/staged-body-ref.js';
import { preferenceList } from '../../core/ring/ring.js';
import { compareHlc, isHlc, type Hlc } from '../../core/hlc.js';
import type { Behavior } from '../../runtime/actor.js';
import type { Clock } from '../../runtime/clock.js';
import { actorRef } from '../../runtime/refs.js';
import { isObjectMeta } from '../../store/object-store.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import { isNamespace } from '../../core/bucket-namespace.js';
import { MAX_FETCH_DELIMITER_LENGTH } from '../../core/listing.js';
import { SIDE_PAYLOAD_MIN_BYTES } from '../../protocol/cluster/frame.js';
import { MAX_BODY_BYTES } from '../../protocol/cluster/replicator.js';
import { packListingColumns } from '../../protocol/cluster/listing-columns.js';
import { packListingPage } from '../../protocol/cluster/listing-rows.js';
import { applyReplicaWrite, purgeReplicaTombstones, revertReplicaWrite, storageError, withStagedBody } from './replica-ops.js';
import { casCommit, casPrepare, casPropose } from './cas-acceptor.js';
import {
  COMPACTOR_PATH, GET_MANY_BODY_BUDGET_BYTES, MAX_ABSENT_COUNTERS, MAX_DELETED_NAMESPACES, MAX_GET_MANY_ITEMS, MAX_RANGE_ENTRIES, MAX_SETTLE_ITEMS, MAX_TOMBSTONE_ITEMS, ROUTER_ACCEPTS, type CompactorMessage, type PositionedKey, type RangeKey, type GetManyItem, type ListLocalReply, type ReplicaGetManyReply, type ReplicaGetReply, type UnsettledWrite,
  type RouterMessage, type StorageError,
} from '../../protocol/cluster/storage.js';
import { repairItemKey, type StorageContext } from './storage-context.js';
import { BucketStatsWalks } from './bucket-stats.js';
import { ListingReadAhead, type ListingForm } from './listing-read-ahead.js';

const MAX_LIST_LIMIT = 10_000;
/** The most peers one absence_view asks about. */
const MAX_ABSENCE_PEERS = 1000;

/**
 * Requests that read, write or hand on this node's objects: refused while it does not serve its data
 * (presence-gate.ts). Settles, bucket namespace fences and the presence questions are still answered.
 */
const OBJECT_REQUESTS: ReadonlySet<RouterMessage['type']> = new Set<RouterMessage['type']>([
  'head_local',
  'replica_get',
  'replica_get_many',
  'replica_put',
  'replica_put_staged',
  'cas_prepare',
  'cas_propose',
  'cas_commit',
  'queue_repair',
  'replica_revert',
  'list_local',
  'range_summary',
  'range_keys',
  'range_entries',
  'versions_local',
  'purge_tombstones',
  // A node coming back from a long absence is about to drop what it held: its counts would be wrong.
  'bucket_stats',
]);

/** A report of a peer's absence is logged at most this often per peer. */
const ABSENCE_REPORT_LOG_MS = 60 * 60_000;

/** The router's state: its listing pages read ahead, which go with the incarnation that read them. */
type RouterState = ListingReadAhead<ListLocalReply>;

export function routerBehavior(context: StorageContext): Behavior<RouterState, RouterMessage> {
  const absenceLoggedAtMs = new Map<string, number>();
  const bucketStats = new BucketStatsWalks(context);
  return {
    accepts: ROUTER_ACCEPTS,
    init: (ctx) => listingReadAhead(context, ctx.clock),
    receive(state, message, ctx) {
      const problem = validate(message);
      if (problem) {
        ctx.log.warn('refused a malformed storage request', { type: message.type, problem });
        if ('replyTo' in message && message.replyTo) ctx.system.reply(message.replyTo, badRequest(problem));
        return state;
      }
      if (!context.presence.serving && OBJECT_REQUESTS.has(message.type)) {
        if ('replyTo' in message && message.replyTo) ctx.system.reply(message.replyTo, notServing());
        return state;
      }
      switch (message.type) {
        case 'replica_put':
        case 'replica_put_staged': {
          if (message.forClient === true) context.clientRequests.note();
          if (!holdsUnder(context, message.meta)) {
            ctx.system.reply(message.replyTo, { ok: false, code: 'Unavailable', message: 'this node no longer holds this key (the ring changed since the write was stamped); retry' });
            return state;
          }
          if (message.type === 'replica_put') {
            void applyReplicaWrite(context, message).then((reply) => ctx.system.reply(message.replyTo, reply));
            return state;
          }
          const { stagedBody, ...write } = message;
          void withStagedBody(stagedBody, context.machine, (body) => applyReplicaWrite(context, { ...write, body })).then((reply) => ctx.system.reply(message.replyTo, reply));
          return state;
        }
        case 'replica_settle_many': {
          // Settling only drops what an undo would need, conditionally inside one transaction.
          const items = message.items.map((item) => ({ address: addressOf(item), clock: item.clock }));
          void context.store.settleMany(items).catch((error: unknown) => ctx.log.warn('settle failed', { error }));
          return state;
        }
        case 'cas_prepare':
          // Only a client's conditional or versioned write sends it.
          context.clientRequests.note();
          void casPrepare(context, addressOf(message), message.ballot).then((reply) => ctx.system.reply(message.replyTo, reply));
          return state;
        case 'cas_propose':
          void casPropose(context, addressOf(message), message.proposal).then((reply) => ctx.system.reply(message.replyTo, reply));
          return state;
        case 'cas_commit':
          void casCommit(context, addressOf({ objectKind: message.objectKind, ...message.meta }), message.meta, message.body).then((reply) => ctx.system.reply(message.replyTo, reply));
          return state;
        case 'replica_revert': {
          const address = addressOf(message);
          void revertReplicaWrite(context, address, message.clock).then((reply) => message.replyTo && ctx.system.reply(message.replyTo, reply));
          return state;
        }
        case 'queue_repair': {
          const item = { peer: message.peer, objectKind: message.objectKind, bucket: message.bucket, key: message.key };
          void context.repairs.enqueue(repairItemKey(item), item, context.clock.now()).catch((error: unknown) => ctx.log.error('cannot queue a repair', { error }));
          return state;
        }
        case 'head_local': {
          const address = addressOf(message);
          const meta = context.store.getMeta(address) ?? null;
          ctx.system.reply(message.replyTo, { ok: true, meta, ...unsettledOf(context, address, meta) });
          return state;
        }
        case 'replica_get':
          if (message.forClient === true) context.clientRequests.note();
          void readVersion(context, addressOf(message), message.withBody, message.bodySlice, message.clock, message.fileOnMachine).then(
            (reply) => {
              if (!reply.ok && reply.code === 'StoreError') ctx.log.error('cannot read a body', { bucket: message.bucket, key: message.key, reason: reply.message });
              ctx.system.reply(message.replyTo, reply);
            },
            (error: unknown) => ctx.system.reply(message.replyTo, storageError(error)),
          );
          return state;
        case 'replica_get_many':
          void readMany(context, message.items).then(
            (reply) => ctx.system.reply(message.replyTo, reply),
            (error: unknown) => ctx.system.reply(message.replyTo, storageError(error)),
          );
          return state;
        case 'list_local': {
          context.clientRequests.note();
          const form: ListingForm = message.columns === true ? (message.gapColumns === true ? 'columns+gaps' : 'columns') : message.packed === true ? 'packed' : 'rows';
          const query = { objectKind: message.objectKind, bucket: message.bucket, fetch: message.fetch, markUnsettled: message.markUnsettled === true, withVersions: message.withVersions === true, form };
          ctx.system.reply(message.replyTo, state.answer(query));
          return state;
        }
        case 'seal_namespace':
          void context.store.sealNamespace(message.namespace, message.sealId, context.clock.now()).then(
            (sealed) => {
              ctx.log.info(sealed === 'sealed' ? 'bucket namespace sealed' : 'bucket namespace to seal is already deleted', { namespace: message.namespace });
              ctx.system.reply(message.replyTo, { ok: true, state: sealed });
            },
            (error: unknown) => ctx.system.reply(message.replyTo, storageError(error)),
          );
          return state;
        case 'unseal_namespace':
          void context.store.unsealNamespace(message.namespace, message.sealId).then(
            () => {
              ctx.log.info('bucket namespace unsealed', { namespace: message.namespace });
              if (message.replyTo) ctx.system.reply(message.replyTo, { ok: true });
            },
            (error: unknown) => message.replyTo && ctx.system.reply(message.replyTo, storageError(error)),
          );
          return state;
        case 'namespaces_deleted':
          void context.store.markDeleted(message.namespaces).then(
            (marked) => {
              if (marked.length > 0) {
                // Digests computed before counted the deleted keys; they are recomputed without them.
                context.digests.forget();
                ctx.log.info('bucket namespaces deleted; their keys will be purged', { namespaces: marked });
              }
              if (message.replyTo) ctx.system.reply(message.replyTo, { ok: true, marked: marked.length });
            },
            (error: unknown) => message.replyTo && ctx.system.reply(message.replyTo, storageError(error)),
          );
          return state;
        case 'seals_in_force': {
          const inForce = new Set(message.seals.map((seal) => `${seal.namespace}\u0000${seal.sealId}`));
          for (const [namespace, record] of context.store.sealedNamespaces()) {
            if (inForce.has(`${namespace}\u0000${record.sealId}`)) continue;
            void context.store.unsealNamespace(namespace, record.sealId).then(
              () => ctx.log.info('lifted the seal of a bucket deletion that has ended', { namespace }),
              (error: unknown) => ctx.log.warn('cannot lift a stale seal', { namespace, error }),
            );
          }
          return state;
        }
        case 'compaction':
        case 'disk_usage':
          ctx.system.dispatch(actorRef<CompactorMessage>(context.node, COMPACTOR_PATH), message);
          return state;
        case 'bucket_stats':
          void bucketStats.sizes({ ...(message.namespace !== undefined ? { namespace: message.namespace } : {}), absent: message.absent }).then((reply) => ctx.system.reply(message.replyTo, reply));
          return state;
        case 'purge_stats': {
          const wanted = message.namespaces === undefined ? undefined : new Set(message.namespaces);
          ctx.system.reply(message.replyTo, {
            ok: true,
            namespaces: context.store
              .deletedNamespaces()
              .filter(([namespace]) => wanted === undefined || wanted.has(namespace))
              .map(([namespace, { state: _state, ...progress }]) => ({ namespace, ...progress })),
          });
          return state;
        }
        case 'range_summary': {
          if (context.ringView.current?.checksum !== message.ringChecksum) {
            ctx.system.reply(message.replyTo, { ok: false, code: 'Unavailable', message: 'this node is on another ring' });
            return state;
          }
          const digests = message.fresh === true ? context.digests.scan(message.start, message.end) : context.digests.of(message.start, message.end);
          ctx.system.reply(message.replyTo, { ok: true, digests });
          return state;
        }
        case 'range_entries': {
          const entries: PositionedKey[] = [];
          const after = message.after ? { position: message.after.position, address: { kind: message.after.kind, bucket: message.after.bucket, key: message.after.key } } : undefined;
          let done = true;
          for (const entry of context.store.scanRange(message.start, message.end, after)) {
            if (entries.length >= message.limit) {
              done = false;
              break;
            }
            entries.push({ ...entry.address, clock: entry.clock, position: entry.position });
          }
          ctx.system.reply(message.replyTo, { ok: true, entries, done });
          return state;
        }
        case 'range_keys': {
          const keys: RangeKey[] = context.digests.keysIn(message.start, message.end, message.buckets).map((entry) => ({ ...entry.address, clock: entry.clock }));
          ctx.system.reply(message.replyTo, { ok: true, keys });
          return state;
        }
        case 'versions_local':
          ctx.system.reply(message.replyTo, { ok: true, clocks: message.items.map((item) => context.store.getMeta(addressOf(item))?.clock ?? null) });
          return state;
        case 'purge_tombstones': {
          // Another ring may have other replicas for these keys; this node's own reaper decides then.
          if (context.ringView.current?.checksum !== message.ringChecksum) return state;
          const items = message.items.map((item) => ({ address: addressOf(item), clock: item.clock }));
          void purgeReplicaTombstones(context, items).catch((error: unknown) => ctx.log.warn('cannot purge tombstones', { error }));
          return state;
        }
        case 'absence_view': {
          const downForMs = message.peers.map((peer) => context.absence.downForMs(peer));
          const absent = message.peers.filter((_, index) => downForMs[index]! > message.horizonMs);
          // Recorded before it is said: the absent node must be able to learn of it when it returns.
          void context.store.presence.recordAbsenceReports(absent, context.clock.now()).then(
            () => {
              const nowMs = context.clock.now();
              const unlogged = absent.filter((peer) => !(nowMs - (absenceLoggedAtMs.get(peer) ?? Number.NEGATIVE_INFINITY) < ABSENCE_REPORT_LOG_MS));
              for (const peer of unlogged) absenceLoggedAtMs.set(peer, nowMs);
              if (unlogged.length > 0) ctx.log.info('reported peers unreachable for longer than the purge horizon', { peers: unlogged });
              ctx.system.reply(message.replyTo, { ok: true, downForMs });
            },
            (error: unknown) => ctx.system.reply(message.replyTo, storageError(error)),
          );
          return state;
        }
        case 'absence_reports': {
          const reportedAtMs = context.store.presence.absenceReportedAtMs(message.node);
          ctx.system.reply(message.replyTo, { ok: true, reported: reportedAtMs !== undefined && reportedAtMs >= message.sinceMs });
          return state;
        }
      }
    },
  };
}

/** Reads of a body that a newer version replaced meanwhile (its file gone) are tried again this often. */
const BODY_READ_ATTEMPTS = 3;

/**
 * The newest version of a key (or the one at `clock`) with its body or the slice asked for. A body in a
 * file is read after its record; if a newer version replaced the newest meanwhile, the newer one is
 * read instead. A reader on this machine (`fileOnMachine`, store/same-machine.ts) is told where the
 * file lies instead, and reads it itself.
 */
async function readVersion(
  context: StorageContext,
  address: ObjectAddress,
  withBody: boolean,
  slice: BodySlice | undefined,
  clock: Hlc | undefined,
  fileOnMachine: string | undefined,
): Promise<ReplicaGetReply> {
  for (let attempt = 1; ; attempt++) {
    const meta = clock ? context.store.versionAt(address, clock) : context.store.getMeta(address);
    const unsettled = unsettledOf(context, address, meta ?? null);
    if (!meta || !carriesBody(meta) || !withBody) return { ok: true, meta: meta ?? null, ...unsettled };
    const inFile = fileOnMachine !== undefined && fileOnMachine === context.machine ? context.store.bodyFileOf(address, meta.clock, slice) : undefined;
    if (typeof inFile === 'object') return { ok: true, meta, bodyFile: inFile, ...unsettled };
    const body = inFile ?? (await context.store.readBody(address, meta.clock, slice));
    if (body === 'out-of-range') return { ok: false, code: 'StoreError', message: `the slice asked for runs past the ${meta.sizeBytes}-byte body` };
    if (body) return { ok: true, meta, body, ...unsettled };
    const now = clock ? undefined : context.store.getMeta(address);
    if (attempt >= BODY_READ_ATTEMPTS || !now || compareHlc(now.clock, meta.clock) === 0) {
      return { ok: false, code: 'StoreError', message: `the body of the ${clock ? 'version asked for' : 'newest version'} is missing on this replica` };
    }
  }
}

/**
 * The newest versions of `items`, each small body inside the answer while GET_MANY_BODY_BUDGET_BYTES
 * lasts. A body large enough to travel beside a frame is deferred to replica_get, which sends it so.
 */
async function readMany(context: StorageContext, items: readonly { objectKind: ObjectKind; bucket: string; key: string }[]): Promise<ReplicaGetManyReply> {
  let budget = GET_MANY_BODY_BUDGET_BYTES;
  const answers: GetManyItem[] = [];
  for (const item of items) {
    const address = addressOf(item);
    const meta = context.store.getMeta(address) ?? null;
    const unsettled = unsettledOf(context, address, meta);
    if (!meta || !carriesBody(meta) || unsettled.unsettled) {
      answers.push({ meta, ...unsettled });
      continue;
    }
    if (meta.sizeBytes >= SIDE_PAYLOAD_MIN_BYTES || meta.sizeBytes > budget) {
      answers.push({ deferred: meta.sizeBytes >= SIDE_PAYLOAD_MIN_BYTES ? 'alone' : 'again' });
      continue;
    }
    // Missing only when a newer version replaced this one after its meta was read: replica_get retries.
    const body = await context.store.readBody(address, meta.clock);
    if (!(body instanceof Uint8Array)) {
      answers.push({ deferred: 'alone' });
      continue;
    }
    budget -= body.length;
    answers.push({ meta, body });
  }
  return { ok: true, items: answers };
}

/** The `unsettled` part of a reply about `meta`: present while its write may still be undone here. */
function unsettledOf(context: StorageContext, address: ObjectAddress, meta: ObjectMeta | null): { unsettled?: UnsettledWrite } {
  const unsettled = meta ? context.store.unsettledWrite(address, meta.clock) : undefined;
  return unsettled ? { unsettled } : {};
}

/**
 * Whether this node takes a version as a replica: always when it was stamped under this node's ring,
 * and otherwise only for a key this node holds on that ring. A write that a node still on an earlier
 * ring sends to a holder that has since given the key away is refused rather than kept where no reader
 * looks and the data is soon dropped: its coordinator then counts it as failed.
 */
function holdsUnder(context: StorageContext, meta: ObjectMeta): boolean {
  const snapshot = context.ringView.current;
  if (!snapshot || meta.ringChecksum === snapshot.checksum) return true;
  return preferenceList(snapshot.current, keyPosition(meta.bucket, meta.key), snapshot.doc.settings.n).includes(context.node);
}

function addressOf(message: { objectKind: ObjectKind; bucket: string; key: string }): ObjectAddress {
  return { kind: message.objectKind, bucket: message.bucket, key: message.key };
}

function notServing(): StorageError {
  return { ok: false, code: 'Unavailable', message: 'this node is rejoining the cluster after a long absence' };
}

function badRequest(problem: string): StorageError {
  return { ok: false, code: 'StoreError', message: `malformed request: ${problem}` };
}

function validate(message: RouterMessage): string | undefined {
  switch (message.type) {
    case 'replica_put':
      if (!OBJECT_KINDS.includes(message.objectKind)) return 'objectKind';
      if (!isObjectMeta(message.meta)) return 'meta';
      if (message.body !== undefined && !(message.body instanceof Uint8Array)) return 'body';
      if (typeof message.keepPrevious !== 'boolean') return 'keepPrevious';
      return undefined;
    case 'replica_put_staged':
      if (!OBJECT_KINDS.includes(message.objectKind)) return 'objectKind';
      if (!isObjectMeta(message.meta)) return 'meta';
      // A body that large is cut into chunks by its writer; this node copies no more than that.
      if (!isStagedBodyRef(message.stagedBody) || message.stagedBody.sizeBytes > MAX_BODY_BYTES) return 'stagedBody';
      if (typeof message.keepPrevious !== 'boolean') return 'keepPrevious';
      return undefined;
    case 'cas_prepare':
      return addressProblem(message) ?? (isHlc(message.ballot) ? undefined : 'ballot');
    case 'cas_propose':
      return addressProblem(message) ?? proposalProblem(message.proposal, message);
    case 'cas_commit':
      if (!OBJECT_KINDS.includes(message.objectKind)) return 'objectKind';
      if (!isObjectMeta(message.meta)) return 'meta';
      return message.body === undefined || message.body instanceof Uint8Array ? undefined : 'body';
    case 'replica_settle_many':
      if (!Array.isArray(message.items) || message.items.length > MAX_SETTLE_ITEMS) return 'items';
      for (const item of message.items) {
        const problem = addressProblem(item) ?? (isHlc(item.clock) ? undefined : 'clock');
        if (problem) return `items.${problem}`;
      }
      return undefined;
    case 'queue_repair':
      return addressProblem(message) ?? (typeof message.peer === 'string' && message.peer.length > 0 ? undefined : 'peer');
    case 'replica_revert':
      return addressProblem(message) ?? (isHlc(message.clock) ? undefined : 'clock');
    case 'head_local':
      return addressProblem(message);
    case 'replica_get_many':
      if (!Array.isArray(message.items) || message.items.length > MAX_GET_MANY_ITEMS) return 'items';
      return message.items.some((item) => !isRecord(item) || addressProblem(item) !== undefined) ? 'items' : undefined;
    case 'replica_get':
      if (message.clock !== undefined && !isHlc(message.clock)) return 'clock';
      if (message.fileOnMachine !== undefined && typeof message.fileOnMachine !== 'string') return 'fileOnMachine';
      return addressProblem(message) ?? (message.bodySlice === undefined || isBodySlice(message.bodySlice) ? undefined : 'bodySlice');
    case 'list_local': {
      const fetch = message.fetch as Partial<typeof message.fetch> | undefined;
      if (!OBJECT_KINDS.includes(message.objectKind) || typeof message.bucket !== 'string') return 'bucket';
      if (!fetch || typeof fetch.prefix !== 'string' || typeof fetch.startAt !== 'string') return 'fetch';
      if (!Number.isInteger(fetch.limit) || (fetch.limit as number) < 0 || (fetch.limit as number) > MAX_LIST_LIMIT) return 'fetch.limit';
      if (fetch.delimiter !== undefined && (typeof fetch.delimiter !== 'string' || fetch.delimiter.length === 0 || fetch.delimiter.length > MAX_FETCH_DELIMITER_LENGTH)) return 'fetch.delimiter';
      return undefined;
    }
    case 'seal_namespace':
    case 'unseal_namespace':
      if (!isNamespace(message.namespace)) return 'namespace';
      return typeof message.sealId === 'string' && message.sealId.length > 0 && message.sealId.length <= 64 ? undefined : 'sealId';
    case 'namespaces_deleted':
      if (!Array.isArray(message.namespaces) || message.namespaces.length > MAX_DELETED_NAMESPACES) return 'namespaces';
      for (const item of message.namespaces) {
        if (typeof item !== 'object' || item === null || !isNamespace(item.namespace) || !Number.isFinite(item.deletedAtMs)) return 'namespaces';
      }
      return undefined;
    case 'compaction':
      return ['start', 'suspend', 'resume', 'status'].includes(message.action) ? undefined : 'action';
    case 'disk_usage':
      return undefined;
    case 'bucket_stats':
      if (message.namespace !== undefined && !isNamespace(message.namespace)) return 'namespace';
      if (!Array.isArray(message.absent) || message.absent.length > MAX_ABSENT_COUNTERS || !message.absent.every((node) => typeof node === 'string')) return 'absent';
      return undefined;
    case 'purge_stats':
      if (message.namespaces === undefined) return undefined;
      return Array.isArray(message.namespaces) && message.namespaces.length <= MAX_DELETED_NAMESPACES && message.namespaces.every(isNamespace) ? undefined : 'namespaces';
    case 'seals_in_force':
      if (!Array.isArray(message.seals) || message.seals.length > MAX_DELETED_NAMESPACES) return 'seals';
      return message.seals.every((seal) => typeof seal === 'object' && seal !== null && isNamespace(seal.namespace) && typeof seal.sealId === 'string') ? undefined : 'seals';
    case 'versions_local':
      if (!Array.isArray(message.items) || message.items.length > MAX_TOMBSTONE_ITEMS) return 'items';
      for (const item of message.items) {
        const problem = isRecord(item) ? addressProblem(item) : 'item';
        if (problem) return `items.${problem}`;
      }
      return undefined;
    case 'purge_tombstones':
      if (typeof message.ringChecksum !== 'number') return 'ringChecksum';
      if (!Array.isArray(message.items) || message.items.length > MAX_TOMBSTONE_ITEMS) return 'items';
      for (const item of message.items) {
        const problem = isRecord(item) ? (addressProblem(item) ?? (isHlc(item.clock) ? undefined : 'clock')) : 'item';
        if (problem) return `items.${problem}`;
      }
      return undefined;
    case 'absence_view':
      if (!Array.isArray(message.peers) || message.peers.length > MAX_ABSENCE_PEERS || !message.peers.every((peer) => typeof peer === 'string')) return 'peers';
      return typeof message.horizonMs === 'number' && Number.isFinite(message.horizonMs) && message.horizonMs >= 0 ? undefined : 'horizonMs';
    case 'absence_reports':
      if (typeof message.node !== 'string' || message.node.length === 0) return 'node';
      return typeof message.sinceMs === 'number' && Number.isFinite(message.sinceMs) ? undefined : 'sinceMs';
    case 'range_summary':
    case 'range_keys':
      if (!isRingPosition(message.start) || !isRingPosition(message.end)) return 'range';
      if (message.type === 'range_keys' && !(Array.isArray(message.buckets) && message.buckets.every((b) => Number.isInteger(b)))) return 'buckets';
      return undefined;
    case 'range_entries': {
      if (!isRingPosition(message.start) || !isRingPosition(message.end)) return 'range';
      if (!Number.isInteger(message.limit) || message.limit < 1 || message.limit > MAX_RANGE_ENTRIES) return 'limit';
      const after = message.after;
      if (after === undefined) return undefined;
      if (!isRecord(after) || !isRingPosition(after.position) || !withinRange(message.start, message.end, after.position)) return 'after';
      return addressProblem({ objectKind: after.kind, bucket: after.bucket, key: after.key }) ? 'after' : undefined;
    }
  }
}

/** A proposal's version, when it has one (a fence has none), must be of the key it is proposed for. */
function proposalProblem(proposal: unknown, address: { readonly bucket: string; readonly key: string }): string | undefined {
  if (!isRecord(proposal)) return 'proposal';
  const { ballot, meta, body } = proposal as Record<string, unknown>;
  if (!isHlc(ballot)) return 'proposal.ballot';
  if (meta !== undefined && (!isObjectMeta(meta) || meta.bucket !== address.bucket || meta.key !== address.key)) return 'proposal.meta';
  if (body !== undefined && (!(body instanceof Uint8Array) || meta === undefined)) return 'proposal.body';
  return undefined;
}

/** Whether `position` lies in (start, end]; a range that starts where it ends is the whole ring. */
function withinRange(start: string, end: string, position: string): boolean {
  if (start < end) return position > start && position <= end;
  return position > start || position <= end;
}

function isRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

function addressProblem(message: { objectKind: unknown; bucket: unknown; key: unknown }): string | undefined {
  if (!OBJECT_KINDS.includes(message.objectKind as ObjectKind)) return 'objectKind';
  if (typeof message.bucket !== 'string' || message.bucket.length === 0 || message.bucket.includes('\u0000')) return 'bucket';
  if (typeof message.key !== 'string') return 'key';
  return undefined;
}

/** A node's listing pages, read ahead for clients walking a bucket (listing-read-ahead.ts). */
function listingReadAhead(context: StorageContext, clock: Clock): ListingReadAhead<ListLocalReply> {
  return new ListingReadAhead<ListLocalReply>({
    read: (query) => context.store.list(query.objectKind, query.bucket, query.fetch, query.markUnsettled, query.withVersions),
    pack: (page, query) => {
      switch (query.form) {
        case 'columns':
        case 'columns+gaps':
          return { ok: true, columns: packListingColumns(page, query.form === 'columns+gaps') };
        case 'packed':
          return { ok: true, packed: packListingPage(page) };
        case 'rows':
          return { ok: true, page };
      }
    },
    contentsMark: () => context.store.contentsMark,
    clock,
    answered: (readAhead) => context.counters.listingPageAnswered(readAhead),
  });
}
