/**
 * The coordinator of writes on this node: a client's put or delete is stamped with the node's hybrid
 * logical clock and replicated by write-coordinator.ts; a conditional or versioned one is decided by
 * cas-coordinator.ts. Many writes are in flight at once; the mailbox never waits for a quorum.
 */
import type { ObjectKind, ObjectMeta } from '../../core/object-meta.js';
import { OBJECT_KINDS } from '../../core/object-meta.js';
import type { ActorContext, Behavior } from '../../runtime/actor.js';
import { isObjectMeta } from '../../store/object-store.js';
import type { StagedBody } from '../../store/staged-bodies.js';
import { MAX_BODY_BYTES, type ReplicatorMessage } from '../../protocol/cluster/replicator.js';
import { randomHex } from '../../core/random-id.js';
import { isStagedBodyRef } from '../../core/staged-body-ref.js';
import { isWriteCondition, type WriteCondition } from '../../core/write-condition.js';
import { isVersionedWrite, type VersionedWrite } from '../../core/object-versioning.js';
import type { PutResult } from '../../protocol/cluster/storage-api.js';
import { ConditionalWrite } from './cas-coordinator.js';
import { RecentWrites } from './recent-writes.js';
import type { StorageContext } from './storage-context.js';
import { coordinateNewestWrite } from './write-coordinator.js';
import { withStagedBody } from './replica-ops.js';

/** Copies only the fields a version may carry: a remote writer cannot smuggle others into the record. */
const FIELD_NAMES = [
  'bucket', 'key', 'sizeBytes', 'etag', 'contentType', 'contentEncoding', 'contentDisposition', 'cacheControl',
  'expires', 'contentLanguage', 'userMeta', 'checksums', 'chunks', 'multipart', 'tags', 'retention', 'legalHold',
  'encryption', 'acl',
] as const;

/** How long, and how many, write ids a coordinator remembers to take each write once. */
const RECENT_WRITES_MS = 5 * 60_000;
const RECENT_WRITES_MAX = 100_000;

export function replicatorBehavior(context: StorageContext): Behavior<null, ReplicatorMessage> {
  const recent = new RecentWrites(RECENT_WRITES_MS, RECENT_WRITES_MAX);
  return {
    accepts: ['put', 'put_staged', 'delete'],
    init: () => null,
    receive(state, message, ctx) {
      context.clientRequests.note();
      const snapshot = context.ringView.current;
      if (!snapshot) {
        ctx.system.reply(message.replyTo, { ok: false, code: 'Unavailable', message: 'this node has no ring yet' });
        return state;
      }
      if (!OBJECT_KINDS.includes(message.objectKind)) {
        ctx.system.reply(message.replyTo, { ok: false, code: 'InternalError', message: 'unknown object kind' });
        return state;
      }
      // A staged put is a plain write: a compare-and-set carries its body in its own messages.
      const { condition, versioning } = message.type === 'put_staged' ? {} : message;
      if (condition !== undefined && !isWriteCondition(condition)) {
        ctx.system.reply(message.replyTo, { ok: false, code: 'InternalError', message: 'malformed write condition' });
        return state;
      }
      // A put writes a version or changes one's tags or lock; a delete makes a marker or removes a version.
      const writesVersion = versioning !== undefined && versioning.type !== 'marker' && versioning.type !== 'remove';
      if (versioning !== undefined && (!isVersionedWrite(versioning) || writesVersion !== (message.type !== 'delete'))) {
        ctx.system.reply(message.replyTo, { ok: false, code: 'InternalError', message: 'malformed versioned write' });
        return state;
      }
      const decided = condition !== undefined || versioning !== undefined;
      const refused = context.writes.refuseCoordinated();
      if (refused) {
        ctx.system.reply(message.replyTo, { ok: false as const, ...refused });
        return state;
      }
      const named = typeof message.writeId === 'string' && message.writeId.length > 0 && message.writeId.length <= 64;
      // Taken before: the answer went (or goes) to the first delivery; this one is dropped unanswered.
      if (named && !recent.firstTime(message.writeId!, context.clock.now())) {
        ctx.log.debug('dropped a write delivered twice', { writeId: message.writeId });
        return state;
      }
      // A client that sends none gets one here: its write is then recognised only by this coordinator.
      const writeId = named ? message.writeId! : randomHex(12);
      const clock = context.hlc.stamp();
      const common = { clock, lastModifiedMs: clock.wallMs, ringChecksum: snapshot.checksum };
      if (message.type === 'delete') {
        const tombstone: ObjectMeta = { bucket: String(message.bucket), key: String(message.key), sizeBytes: 0, etag: '', contentType: '', userMeta: {}, deleted: true, ...common };
        const required = snapshot.doc.settings.d;
        const written = queuedForLinks(context, ctx, message.objectKind, decided
          ? conditionally(context, ctx, message.objectKind, { ...tombstone, writeId }, undefined, { condition, versioning }, required, message.retried === true)
          : coordinateNewestWrite(ctx.system, context, ctx.log, { objectKind: message.objectKind, meta: tombstone, required }));
        void written.then((result) =>
          ctx.system.reply(message.replyTo, result.ok
            ? { ok: true, ...(result.replaced ? { replaced: result.replaced } : {}), ...(versioning ? { written: result.meta } : {}) }
            : result),
        );
        return state;
      }
      const fields: Record<string, unknown> = {};
      for (const name of FIELD_NAMES) if (message.fields?.[name] !== undefined) fields[name] = message.fields[name];
      const meta = { ...fields, deleted: false, ...common };
      const body = message.type === 'put' ? message.body : undefined;
      const stagedBody = message.type === 'put_staged' ? message.stagedBody : undefined;
      if (!isObjectMeta(meta) || (body !== undefined && !(body instanceof Uint8Array)) || (message.type === 'put_staged' && !isStagedBodyRef(stagedBody))) {
        ctx.system.reply(message.replyTo, { ok: false, code: 'InternalError', message: 'malformed object fields' });
        return state;
      }
      const sizeBytes = body?.length ?? stagedBody?.sizeBytes ?? 0;
      if (sizeBytes > MAX_BODY_BYTES) {
        ctx.system.reply(message.replyTo, { ok: false, code: 'InternalError', message: `a body of ${sizeBytes} bytes must be cut into chunks` });
        return state;
      }
      const required = snapshot.doc.settings.w;
      const plainWrite = (source: Uint8Array | StagedBody | undefined): Promise<PutResult> =>
        coordinateNewestWrite(ctx.system, context, ctx.log, { objectKind: message.objectKind, meta, required, ...(source ? { body: source } : {}) });
      const written = queuedForLinks(context, ctx, message.objectKind, decided
        ? conditionally(context, ctx, message.objectKind, { ...meta, writeId }, body, { condition, versioning }, required, message.retried === true)
        : stagedBody !== undefined
          ? withStagedBody(stagedBody, context.machine, plainWrite)
          : plainWrite(body));
      void written.then((result) => ctx.system.reply(message.replyTo, result));
      return state;
    },
  };
}

/**
 * An object written is queued for the linked clusters before its answer goes, so that what was
 * acknowledged gets shipped even if this node dies at once. Should queueing fail (a full disk), the write
 * still stands on its replicas and is answered so; the comparison with the linked clusters (link-sync.ts)
 * finds it later. Chunks travel with the object that names them; uploads in progress stay in this cluster.
 */
function queuedForLinks(context: StorageContext, ctx: ActorContext<ReplicatorMessage>, objectKind: ObjectKind, written: Promise<PutResult>): Promise<PutResult> {
  if (objectKind !== 'object' || context.links.clusterIds.length === 0) return written;
  return written.then(async (result) => {
    if (!result.ok) return result;
    await context.links.noteWrite(result.meta, context.clock.now()).catch((error: unknown) => ctx.log.error('cannot queue a write for the linked clusters', { error }));
    return result;
  });
}

/** The write as a compare-and-set: the version's clock is stamped when it is proposed, not now. */
function conditionally(
  context: StorageContext,
  ctx: ActorContext<ReplicatorMessage>,
  objectKind: ObjectKind,
  { clock: _clock, lastModifiedMs: _modified, ringChecksum: _ring, ...version }: ObjectMeta,
  body: Uint8Array | undefined,
  decision: { readonly condition: WriteCondition | undefined; readonly versioning: VersionedWrite | undefined },
  required: number,
  retried: boolean,
): Promise<PutResult> {
  const request = {
    objectKind, version, required,
    ...(decision.condition ? { condition: decision.condition } : {}),
    ...(decision.versioning ? { versioning: decision.versioning } : {}),
    ...(body ? { body } : {}),
    ...(retried ? { retried } : {}),
  };
  return new ConditionalWrite(ctx.system, context, ctx.log, request).run();
}
