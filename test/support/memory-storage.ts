/**
 * An in-memory StorageApi that behaves like the cluster as the gateway sees it: last writer wins by
 * hybrid logical clock, deletes write tombstones that reads and listings hide, listings are sorted in
 * UTF-8 order and merged by the same core listing code the cluster uses (from several simulated nodes,
 * so the merge really runs), bodies over 8 MiB are refused as the replicator refuses them, and
 * failures can be injected per call. Bodies are copied in and out, as a real transport would (a
 * `BodyStore` of one's own decides how).
 *
 * Chunk bodies can live in a `BodyStore` of their own (the memory check keeps them on disk), so what
 * is measured is the gateway, not this fake.
 */
import { sliceBounds, type BodySlice } from '../../src/core/body-slice.js';
import { bucketNameOf } from '../../src/core/bucket-namespace.js';
import { compareKeys } from '../../src/core/key-order.js';
import { tick, type Hlc } from '../../src/core/hlc.js';
import { listingEntryOf, startListing, stepListing, type ListingEntry, type ListingPage, type ListingRequest } from '../../src/core/listing.js';
import { carriesBody, type ObjectKind, type ObjectMeta } from '../../src/core/object-meta.js';
import { versionedWriteFailure } from '../../src/protocol/cluster/storage-api.js';
import type {
  DeleteResult, GetOptions, GetResult, ListResult, ObjectFields, PutResult, StorageApi, StorageFailure, StorageFailureCode,
} from '../../src/protocol/cluster/storage-api.js';
import { judgeWriteCondition, type WriteCondition } from '../../src/core/write-condition.js';
import { applyVersionedWrite, type VersionedWrite } from '../../src/core/object-versioning.js';

export type StorageOperation = 'put' | 'get' | 'delete' | 'list';

export interface CallInfo {
  readonly op: StorageOperation;
  readonly kind: ObjectKind;
  readonly bucket: string;
  readonly key: string | undefined;
  /** The part of the body a get asked for. */
  readonly bodySlice?: BodySlice;
}

/** What an injected fault does to a call: fail it with a code, never answer, or throw. */
export type Fault = StorageFailureCode | 'hang' | 'throw';

export interface BodyStore {
  write(id: string, body: Uint8Array): void;
  /** The body, or bytes `start..end` (exclusive) of it, as a copy of its own. */
  read(id: string, range?: { readonly start: number; readonly end: number }): Uint8Array | undefined;
  sizeOf(id: string): number | undefined;
  remove(id: string): void;
}

/** The cluster's limit on a single body (replicator MAX_BODY_BYTES). */
const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Keys are spread over this many simulated nodes, whose pages the listing merges. */
const LISTING_NODES = 3;

interface Stored {
  readonly meta: ObjectMeta;
  readonly bodyId: string | undefined;
}

/** Copies in and out, as a transport would: nobody shares a buffer with the store. */
class MemoryBodyStore implements BodyStore {
  private readonly bodies = new Map<string, Uint8Array>();
  write(id: string, body: Uint8Array): void {
    this.bodies.set(id, Buffer.from(body));
  }
  read(id: string, range?: { readonly start: number; readonly end: number }): Uint8Array | undefined {
    const body = this.bodies.get(id);
    return body === undefined ? undefined : Buffer.from(range === undefined ? body : body.subarray(range.start, range.end));
  }
  sizeOf(id: string): number | undefined {
    return this.bodies.get(id)?.length;
  }
  remove(id: string): void {
    this.bodies.delete(id);
  }
}

export class MemoryStorage implements StorageApi {
  private readonly records: Record<ObjectKind, Map<string, Stored>> = { object: new Map(), chunk: new Map(), upload: new Map() };
  private last: Hlc | undefined;
  private nextBody = 0;
  private readonly faults: Array<{ readonly match: (call: CallInfo) => boolean; remaining: number; readonly fault: Fault }> = [];
  readonly calls: CallInfo[] = [];
  /** Calls that have not answered yet. */
  pending = 0;

  constructor(
    private readonly options: { readonly chunkBodies?: BodyStore; readonly node?: string; readonly now?: () => number } = {},
  ) {}

  /** Makes the next `times` calls that `match` fail with `fault`. */
  inject(match: (call: CallInfo) => boolean, fault: Fault, times = 1): void {
    this.faults.push({ match, remaining: times, fault });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  // ---- StorageApi ----

  put(kind: ObjectKind, fields: ObjectFields, body?: Uint8Array, condition?: WriteCondition, versioning?: VersionedWrite): Promise<PutResult> {
    return this.call({ op: 'put', kind, bucket: fields.bucket, key: fields.key }, () => {
      if (body !== undefined && body.length > MAX_BODY_BYTES) return { ok: false, code: 'InternalError', message: `a body of ${body.length} bytes must be cut into chunks` };
      const refused = this.refusal(kind, fields.bucket, fields.key, condition);
      if (refused) return refused;
      if (versioning !== undefined) return this.versioned(kind, fields.bucket, fields.key, versioning, structuredClone(fields), body);
      const clock = this.stamp();
      const meta: ObjectMeta = { ...structuredClone(fields), clock, lastModifiedMs: clock.wallMs, ringChecksum: 0, deleted: false };
      const replaced = this.replace(kind, meta, body === undefined ? undefined : this.storeBody(kind, body));
      return { ok: true, meta: structuredClone(meta), ...(replaced ? { replaced } : {}) };
    });
  }

  get(kind: ObjectKind, bucket: string, key: string, options?: GetOptions): Promise<GetResult> {
    return this.call({ op: 'get', kind, bucket, key, ...(options?.bodySlice ? { bodySlice: options.bodySlice } : {}) }, () => {
      const stored = this.records[kind].get(recordId(bucket, key));
      if (stored === undefined || stored.meta.deleted) return { ok: false, code: 'NotFound', message: `${bucket}/${key} not found` };
      const meta = structuredClone(stored.meta);
      if (options?.withBody !== true) return { ok: true, meta };
      // As the cluster does: only a version that carries a body is read with one.
      if (!carriesBody(stored.meta)) return { ok: true, meta };
      if (stored.bodyId === undefined) return { ok: false, code: 'Unavailable', message: `${bucket}/${key} lost its body` };
      const bodies = this.bodyStore(kind);
      const size = bodies.sizeOf(stored.bodyId);
      if (size === undefined) return { ok: false, code: 'InternalError', message: 'body lost' };
      const bounds = options.bodySlice === undefined ? undefined : sliceBounds(options.bodySlice, size);
      if (options.bodySlice !== undefined && bounds === undefined) return { ok: false, code: 'InternalError', message: 'slice past the end of the body' };
      const body = bodies.read(stored.bodyId, bounds);
      if (body === undefined) return { ok: false, code: 'InternalError', message: 'body lost' };
      return { ok: true, meta, body };
    });
  }

  delete(kind: ObjectKind, bucket: string, key: string, condition?: WriteCondition, versioning?: VersionedWrite): Promise<DeleteResult> {
    return this.call({ op: 'delete', kind, bucket, key }, (): DeleteResult => {
      const refused = this.refusal(kind, bucket, key, condition);
      if (refused) return refused;
      if (versioning !== undefined) {
        const result = this.versioned(kind, bucket, key, versioning, undefined, undefined);
        return result.ok ? { ok: true, written: result.meta, ...(result.replaced ? { replaced: result.replaced } : {}) } : result;
      }
      const clock = this.stamp();
      const tombstone: ObjectMeta = { bucket, key, sizeBytes: 0, etag: '', contentType: '', userMeta: {}, clock, lastModifiedMs: clock.wallMs, ringChecksum: 0, deleted: true };
      const replaced = this.replace(kind, tombstone, undefined);
      return { ok: true, ...(replaced ? { replaced } : {}) };
    });
  }

  list(kind: ObjectKind, bucket: string, request: ListingRequest): Promise<ListResult> {
    return this.call({ op: 'list', kind, bucket, key: undefined }, () => {
      const sorted = this.entries(kind, bucket, request.withVersions === true);
      let state = startListing<ListingEntry>(request);
      let rounds = 0;
      while (state.phase === 'fetch') {
        if (++rounds > 100_000) throw new Error('listing does not converge');
        const { fetch } = state;
        const pages: ListingPage<ListingEntry>[] = [];
        for (let node = 0; node < LISTING_NODES; node++) {
          const mine = sorted.filter((entry, i) => i % LISTING_NODES === node && compareKeys(entry.key, fetch.startAt) >= 0 && entry.key.startsWith(fetch.prefix));
          pages.push({ entries: mine.slice(0, fetch.limit), truncated: mine.length > fetch.limit });
        }
        state = stepListing(state, pages);
      }
      return { ok: true, result: state.result };
    });
  }

  // ---- inspection for tests ----

  /**
   * Live (not deleted) keys of a kind in a bucket, sorted. Records are kept under namespaces
   * (core/bucket-namespace.ts); `bucket` names the bucket, so every incarnation of it counts.
   */
  liveKeys(kind: ObjectKind, bucket?: string): string[] {
    const keys: string[] = [];
    for (const stored of this.records[kind].values()) {
      if (stored.meta.deleted || (bucket !== undefined && bucketNameOf(stored.meta.bucket) !== bucket)) continue;
      keys.push(stored.meta.key);
    }
    return keys.sort(compareKeys);
  }

  /** The record as stored, tombstones included, in whichever incarnation of the bucket holds the key. */
  record(kind: ObjectKind, bucket: string, key: string): ObjectMeta | undefined {
    for (const stored of this.records[kind].values()) {
      if (stored.meta.key === key && bucketNameOf(stored.meta.bucket) === bucket) return stored.meta;
    }
    return undefined;
  }

  /** Replaces a record without any checks, to plant a damaged one. */
  plant(kind: ObjectKind, meta: ObjectMeta, body?: Uint8Array): void {
    this.replace(kind, meta, body === undefined ? undefined : this.storeBody(kind, body));
  }

  // ---- internals ----

  /** A versioned write, decided against the key's record in one turn, as the cluster's compare-and-set does. */
  private versioned(kind: ObjectKind, bucket: string, key: string, write: VersionedWrite, fields: ObjectFields | undefined, body: Uint8Array | undefined): PutResult {
    const head = this.records[kind].get(recordId(bucket, key))?.meta;
    const written = fields === undefined ? undefined : (({ bucket: _b, key: _k, writeId: _w, ...version }) => ({ ...version, lastModifiedMs: 0 }))(fields);
    const outcome = applyVersionedWrite(head, { bucket, key }, write, written, this.options.now?.() ?? Date.now());
    if (!outcome.ok) return versionedWriteFailure(outcome, key, write);
    const clock = this.stamp();
    const meta = { lastModifiedMs: clock.wallMs, ...outcome.record, clock, ringChecksum: 0, deleted: outcome.deleted } as ObjectMeta;
    const replaced = this.replace(kind, meta, body === undefined ? undefined : this.storeBody(kind, body));
    return { ok: true, meta: structuredClone(meta), ...(replaced ? { replaced } : {}) };
  }

  /** A condition is judged and the write made in one turn, as atomically as the cluster decides it. */
  private refusal(kind: ObjectKind, bucket: string, key: string, condition: WriteCondition | undefined): StorageFailure | undefined {
    if (condition === undefined) return undefined;
    const stored = this.records[kind].get(recordId(bucket, key));
    const verdict = judgeWriteCondition(condition, stored === undefined || stored.meta.deleted || stored.meta.deleteMarker ? undefined : stored.meta);
    if (verdict.pass) return undefined;
    if (verdict.failed === 'absent') return { ok: false, code: 'NotFound', message: `${bucket}/${key} not found` };
    return { ok: false, code: 'PreconditionFailed', message: `the ${verdict.failed} condition does not hold`, condition: verdict.failed };
  }

  private async call<T>(info: CallInfo, run: () => T): Promise<T> {
    this.calls.push(info);
    const index = this.faults.findIndex((f) => f.remaining > 0 && f.match(info));
    const fault = index >= 0 ? this.faults[index]! : undefined;
    if (fault !== undefined) fault.remaining--;
    this.pending++;
    try {
      // Answers come back on a later turn, as they would over a network.
      await new Promise((resolve) => setImmediate(resolve));
      if (fault?.fault === 'hang') return await new Promise<never>(() => undefined);
      if (fault?.fault === 'throw') throw new Error(`injected exception in ${info.op}`);
      if (fault !== undefined) return { ok: false, code: fault.fault, message: `injected ${fault.fault}` } as T;
      return run();
    } finally {
      this.pending--;
    }
  }

  private stamp(): Hlc {
    this.last = tick(this.last, this.options.now?.() ?? Date.now(), this.options.node ?? 'memory');
    return this.last;
  }

  private bodyStore(kind: ObjectKind): BodyStore {
    return kind === 'chunk' && this.options.chunkBodies !== undefined ? this.options.chunkBodies : this.memoryBodies;
  }

  private readonly memoryBodies = new MemoryBodyStore();

  private storeBody(kind: ObjectKind, body: Uint8Array): string {
    const id = String(this.nextBody++);
    this.bodyStore(kind).write(id, body);
    return id;
  }

  /** Stores a version; returns the version it replaced, as the cluster's replicas report it. */
  private replace(kind: ObjectKind, meta: ObjectMeta, bodyId: string | undefined): ObjectMeta | undefined {
    const id = recordId(meta.bucket, meta.key);
    const previous = this.records[kind].get(id);
    if (previous?.bodyId !== undefined) this.bodyStore(kind).remove(previous.bodyId);
    this.records[kind].set(id, { meta, bodyId });
    return previous === undefined ? undefined : structuredClone(previous.meta);
  }

  private entries(kind: ObjectKind, bucket: string, withVersions: boolean): ListingEntry[] {
    const out: ListingEntry[] = [];
    for (const { meta } of this.records[kind].values()) {
      if (meta.bucket !== bucket) continue;
      out.push(listingEntryOf(meta.key, meta, withVersions));
    }
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }
}

function recordId(bucket: string, key: string): string {
  return `${bucket}\u0000${key}`;
}
