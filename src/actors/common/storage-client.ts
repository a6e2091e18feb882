/**
 * StorageApi over the cluster transport. A write goes to the replicator of the first replica of its
 * key that is not known to be down, a read to its reader (one on the client's own host first); a
 * coordinator that turns out unreachable is replaced by the next replica (for an unconditional write
 * of an object, only if the request never reached it). A listing asks every storage node for a
 * sorted page and merges them with the core listing step, so a page costs O(page) whatever the
 * bucket's size.
 */
import type { ListingRequest } from '../../core/listing.js';
import type { ObjectKind } from '../../core/object-meta.js';
import { randomHex } from '../../core/random-id.js';
import type { StagedBodyRef } from '../../core/staged-body-ref.js';
import type { WriteCondition } from '../../core/write-condition.js';
import type { VersionedWrite } from '../../core/object-versioning.js';
import { preferenceList, readPreferenceList } from '../../core/ring/ring.js';
import { keyPosition } from '../../core/ring/position.js';
import type { ActorApi } from '../../runtime/actor.js';
import { isRuntimeFailure, type RuntimeFailure } from '../../runtime/failures.js';
import { readerRef } from '../../protocol/cluster/reader.js';
import { replicatorRef } from '../../protocol/cluster/replicator.js';
import { stagedBodyRefusal } from '../../protocol/cluster/storage.js';
import { BytesOnlyPeers } from './bytes-only-peers.js';
import { ClusterListing } from './cluster-listing.js';
import type { RingView } from './ring-view.js';
import { type DeleteResult, type GetOptions, type GetResult, type ListResult, type ObjectFields, type PutResult, type StorageApi, type StorageFailure, storageFailure } from '../../protocol/cluster/storage-api.js';
import { ask, askWhenWritable } from '../../runtime/typed-ask.js';

export interface StorageClientDeps {
  readonly system: ActorApi;
  readonly ringView: RingView;
  readonly isKnownDown: (node: string) => boolean;
  /** A link to the node is up now: a request sent goes out at once (otherwise it waits for a dial). */
  readonly isUp: (node: string) => boolean;
  /** Deadline of one request to one coordinator. */
  readonly requestTimeoutMs?: number;
  /** Names a write across the coordinators it is tried on (random by default). */
  readonly newWriteId?: () => string;
  /**
   * The host part of the client's own node name: a read goes first to a replica on it, whose body
   * then crosses no network (and a gateway beside it may read the body from its files).
   */
  readonly nearHost?: string;
  /**
   * Where large bodies of plain writes are staged for coordinators on this machine to read
   * (store/staged-bodies.ts); without it every body is sent.
   */
  readonly staging?: BodyStaging;
  /** The node's wall clock (ms): a coordinator that refused staged bodies is tried again by it. */
  readonly now: () => number;
}

/** The part of store/staged-bodies.ts's StagingArea a client uses. */
export interface BodyStaging {
  stage(bytes: Uint8Array): Promise<StagedBodyRef | undefined>;
  discard(ref: StagedBodyRef): void;
}

/** Bodies at least this large are staged: below it, the files cost more than the sends they save. */
export const STAGED_BODY_MIN_BYTES = 1024 * 1024;

export interface StagedWriteCounts {
  /** Bodies a coordinator took from their staging file. */
  readonly staged: number;
  /** Bodies large enough to stage that were sent: staging failed, or the coordinator cannot take them. */
  readonly sent: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

export class StorageClient implements StorageApi {
  private readonly timeoutMs: number;
  /** Coordinators that took no staged body from this client lately: they are sent bytes. */
  private readonly bytesOnlyNodes: BytesOnlyPeers;
  private stagedCount = 0;
  private sentCount = 0;

  private readonly listing: ClusterListing;

  constructor(private readonly deps: StorageClientDeps) {
    this.timeoutMs = deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.bytesOnlyNodes = new BytesOnlyPeers(deps.now);
    this.listing = new ClusterListing({ system: deps.system, ringView: deps.ringView, isKnownDown: deps.isKnownDown, timeoutMs: this.timeoutMs });
  }

  async put(kind: ObjectKind, fields: ObjectFields, body?: Uint8Array, condition?: WriteCondition, versioning?: VersionedWrite): Promise<PutResult> {
    const decided = condition !== undefined || versioning !== undefined;
    if (!decided && body !== undefined && body.length >= STAGED_BODY_MIN_BYTES && this.deps.staging !== undefined) return this.putStaged(kind, fields, body, this.deps.staging);
    const conditional = this.named(condition);
    return this.writeVia(this.writers(fields.bucket, fields.key), decided || writtenOnce(kind), (node, retried) =>
      askWhenWritable(
        this.deps.system,
        replicatorRef(node),
        { type: 'put', objectKind: kind, fields, ...(body ? { body } : {}), ...conditional, ...(versioning ? { versioning } : {}), ...(retried ? { retried } : {}) },
        this.timeoutMs,
        body?.length ?? 0,
      ),
    );
  }

  /**
   * A plain write whose body is staged for its coordinator, unless that one refused staged bodies
   * before. A coordinator that refuses it is sent the bytes, as a write of its own (the refused one
   * took no effect). The staging file goes once the write is answered.
   */
  private async putStaged(kind: ObjectKind, fields: ObjectFields, body: Uint8Array, staging: BodyStaging): Promise<PutResult> {
    // Two writes by name: a coordinator that refused the staged one took it (and drops it if it comes
    // again), so the bytes go as a write of their own. Each keeps its name across coordinators.
    const stagedId = this.named(undefined);
    const sentId = this.named(undefined);
    let staged: Promise<StagedBodyRef | undefined> | undefined;
    try {
      return await this.writeVia(this.writers(fields.bucket, fields.key), writtenOnce(kind), async (node, retried) => {
        const again = retried ? { retried } : {};
        if (!this.bytesOnlyNodes.has(node)) {
          staged ??= staging.stage(body);
          const stagedBody = await staged;
          if (stagedBody !== undefined) {
            const reply = await ask(this.deps.system, replicatorRef(node), { type: 'put_staged', objectKind: kind, fields, stagedBody, ...stagedId, ...again }, this.timeoutMs);
            const refusal = stagedBodyRefusal(reply);
            if (refusal === undefined) {
              if (!isRuntimeFailure(reply)) this.stagedCount++;
              return reply;
            }
            if (refusal === 'every-body') this.bytesOnlyNodes.refused(node);
          }
        }
        this.sentCount++;
        return askWhenWritable(this.deps.system, replicatorRef(node), { type: 'put', objectKind: kind, fields, body, ...sentId, ...again }, this.timeoutMs, body.length);
      });
    } finally {
      void staged?.then((ref) => ref && staging.discard(ref));
    }
  }

  /** How the bodies this client could stage went to their coordinators. */
  get stagedWriteCounts(): StagedWriteCounts {
    return { staged: this.stagedCount, sent: this.sentCount };
  }

  get(kind: ObjectKind, bucket: string, key: string, options: GetOptions = {}): Promise<GetResult> {
    const withBody = options.withBody === true;
    const slice = withBody && options.bodySlice ? { bodySlice: options.bodySlice } : {};
    const fileOnMachine = withBody && options.fileOnMachine !== undefined ? { fileOnMachine: options.fileOnMachine } : {};
    return this.viaCoordinator(this.readers(bucket, key), true, (node) =>
      ask(this.deps.system, readerRef(node), { type: 'get', objectKind: kind, bucket, key, withBody, ...slice, ...fileOnMachine }, this.timeoutMs),
    );
  }

  delete(kind: ObjectKind, bucket: string, key: string, condition?: WriteCondition, versioning?: VersionedWrite): Promise<DeleteResult> {
    const conditional = this.named(condition);
    const decided = condition !== undefined || versioning !== undefined;
    return this.viaCoordinator(this.writers(bucket, key), decided, (node, retried) =>
      ask(this.deps.system, replicatorRef(node), { type: 'delete', objectKind: kind, bucket, key, ...conditional, ...(versioning ? { versioning } : {}), ...(retried ? { retried } : {}) }, this.timeoutMs),
    );
  }

  /** Every key's newest version among its replicas, as cluster-listing.ts lists them. */
  list(kind: ObjectKind, bucket: string, request: ListingRequest): Promise<ListResult> {
    return this.listing.list(kind, bucket, request);
  }

  /** A write's id, which every coordinator it is tried on sees, with its condition if it has one. */
  private named(condition: WriteCondition | undefined): { condition?: WriteCondition; writeId: string } {
    return { ...(condition ? { condition } : {}), writeId: this.deps.newWriteId?.() ?? randomHex(12) };
  }

  /** Replicas of the key in ring order, the ones known to be down last (they are tried only if all else fails). */
  private writers(bucket: string, key: string): string[] {
    const snapshot = this.deps.ringView.current;
    if (!snapshot) return [];
    return this.upFirst(preferenceList(snapshot.current, keyPosition(bucket, key), snapshot.doc.settings.n));
  }

  private readers(bucket: string, key: string): string[] {
    const snapshot = this.deps.ringView.current;
    if (!snapshot) return [];
    const replicas = readPreferenceList(snapshot.current, snapshot.previous, keyPosition(bucket, key), snapshot.doc.settings.n);
    const { nearHost } = this.deps;
    if (nearHost === undefined) return this.upFirst(replicas);
    const near = (node: string): boolean => hostOf(node) === nearHost;
    return this.upFirst([...replicas.filter(near), ...replicas.filter((node) => !near(node))]);
  }

  private upFirst(nodes: readonly string[]): string[] {
    return [...nodes.filter((node) => !this.deps.isKnownDown(node)), ...nodes.filter((node) => this.deps.isKnownDown(node))];
  }

  /**
   * `viaCoordinator` for a put, whose answer says when it was sent on after a coordinator went down with
   * it in hand (`resent`): that coordinator's link may still be reading the body.
   */
  private async writeVia<R extends { ok: boolean }>(
    candidates: readonly string[],
    retryTaken: boolean,
    send: (node: string, retried: boolean) => Promise<R | RuntimeFailure>,
  ): Promise<R | StorageFailure | (R & { readonly resent: true })> {
    let resent = false;
    const result = await this.viaCoordinator(candidates, retryTaken, (node, retried) => {
      resent ||= retried;
      return send(node, retried);
    });
    return result.ok && resent ? { ...result, resent: true } : result;
  }

  /**
   * Sends to the first candidate, and to the next while one turns out unreachable. `retried`: an earlier
   * candidate may have received the request before it went away. A request that may not be taken twice
   * (`retryTaken` false: an unconditional write of an object, which a second coordinator would stamp
   * again, so that it could take effect a second time after what followed it) is not sent on once a
   * candidate may have taken it: its outcome is unknown. A conditional write may be, as the
   * compare-and-set recognises it, and so may a chunk (`writtenOnce`).
   */
  private async viaCoordinator<R extends { ok: boolean }>(
    candidates: readonly string[],
    retryTaken: boolean,
    send: (node: string, retried: boolean) => Promise<R | RuntimeFailure>,
  ): Promise<R | StorageFailure> {
    if (candidates.length === 0) return storageFailure('Unavailable', 'no ring yet');
    let last = 'no replica reachable';
    let retried = false;
    for (const node of candidates) {
      // Only a request that went out on a link may have been taken; one waiting for a dial that failed was not.
      const sentOut = this.deps.isUp(node);
      const reply = await send(node, retried);
      if (!isRuntimeFailure(reply)) return reply;
      switch (reply.code) {
        case 'NodeDown':
        case 'NoProc':
          last = `${node}: ${reply.message}`;
          // Sent to a node that then went down, it may have been taken (NoProc: not taken by anyone).
          if (reply.code === 'NodeDown' && sentOut) {
            if (!retryTaken) return storageFailure('Timeout', `${node} went down with the write in hand; its outcome is unknown`);
            retried = true;
          }
          continue;
        case 'Timeout':
          return storageFailure('Timeout', reply.message);
        case 'Overloaded':
          return storageFailure('SlowDown', reply.message);
        case 'Crashed':
        case 'BadMessage':
        case 'TooLarge':
          return storageFailure('InternalError', reply.message);
      }
    }
    return storageFailure('Unavailable', last);
  }
}

/**
 * A chunk's key names the one body write it belongs to (a fresh version id, chunk-layout.ts), and
 * nothing else writes it: stamped again by a second coordinator it holds the same bytes, so it may be
 * sent on like a conditional write. A copy the first coordinator still stores after the chunk was
 * deleted (its writer gave up, or its version was replaced) belongs to no record, and the orphan sweep
 * removes it. The answer says it was sent on (`resent`): the lost link may still be reading the body.
 */
function writtenOnce(kind: ObjectKind): boolean {
  return kind === 'chunk';
}

/** The host part of a node's name (name@host). */
export function hostOf(node: string): string {
  return node.slice(node.indexOf('@') + 1);
}
