/**
 * A listing across the storage nodes: every key's newest version among its replicas, merged round by
 * round from the nodes' sorted pages (core/listing.ts). A version whose write is unsettled is judged as
 * a read judges it (core/unsettled-rules.ts); while one cannot be, the listing answers Unavailable.
 *
 * A round need not ask every node. Any N-W+1 of a key's replicas hold its newest acknowledged write
 * and any N-D+1 its newest acknowledged delete, so a round that leaves out at most
 * `listingSpareReplicas` nodes (the smallest of W-1, D-1 and N-R) still lists every acknowledged
 * change, from at least R replicas of every key, as a read would. With N=3 on three nodes and W=D=2 it
 * asks two: a third less work for the nodes and for the merge. Which nodes are left out turns from one
 * listing to the next, known-down nodes first; but every page of one walk through a bucket (a
 * continuation, not by delimiter) goes to the same nodes, which read each next page ahead
 * (storage/listing-read-ahead.ts).
 *
 * When a node asked does not answer, or the round meets an unsettled version (a write in flight, or
 * one whose coordinator failed), the nodes left out and those that did not answer are asked too, and
 * the round is merged from every node's page: an unsettled version is judged from every replica, and
 * up to N-R nodes may be missing. While the ring changes (a previous ring is still read) every node is
 * asked.
 */
import { newestListed, startListing, stepListing, type ListingEntry, type ListingFetch, type ListingPage, type ListingRequest, type ListingState } from '../../core/listing.js';
import type { ObjectKind } from '../../core/object-meta.js';
import { listingSpareReplicas } from '../../core/quorum.js';
import { readPreferenceList } from '../../core/ring/ring.js';
import { keyPosition } from '../../core/ring/position.js';
import type { RingSnapshot } from '../../core/ring/ring-document.js';
import { fnv1a32 } from '../../core/string-hash.js';
import { acknowledgedNewest } from '../../core/unsettled-rules.js';
import type { ActorApi } from '../../runtime/actor.js';
import { runtimeFailure, type RuntimeFailure } from '../../runtime/failures.js';
import { ask } from '../../runtime/typed-ask.js';
import { unpackListingColumns } from '../../protocol/cluster/listing-columns.js';
import { unpackListingPage } from '../../protocol/cluster/listing-rows.js';
import { routerOf, type ListLocalReply, type StorageError } from '../../protocol/cluster/storage.js';
import { type ListResult, type StorageFailure, storageFailure } from '../../protocol/cluster/storage-api.js';
import type { RingView } from './ring-view.js';

export interface ClusterListingDeps {
  readonly system: ActorApi;
  readonly ringView: RingView;
  readonly isKnownDown: (node: string) => boolean;
  /** Deadline of one node's page. */
  readonly timeoutMs: number;
}

/** Rounds of one listing page; each round makes progress, this only bounds a pathological case. */
const MAX_LISTING_ROUNDS = 10_000;

type ListedPage = { readonly ok: true; readonly page: ListingPage<ListingEntry> };

/** A node's page, or why it did not answer. */
type NodePage = ListedPage | StorageError | RuntimeFailure;

type FetchingState = ListingState<ListingEntry> & { readonly phase: 'fetch' };

type RoundOutcome = { readonly ok: true; readonly state: ListingState<ListingEntry> } | { readonly ok: false; readonly failure: StorageFailure };

export class ClusterListing {
  /** Counts listings that begin a walk (or are by delimiter), to turn which nodes are left out. */
  private turn = 0;

  constructor(private readonly deps: ClusterListingDeps) {}

  async list(kind: ObjectKind, bucket: string, request: ListingRequest): Promise<ListResult> {
    const snapshot = this.deps.ringView.current;
    if (!snapshot) return storageFailure('Unavailable', 'no ring yet');
    const { settings } = snapshot.doc;
    const everyNode = [...new Set([...snapshot.current.members, ...(snapshot.previous?.members ?? [])].map((member) => member.node))];
    // A walk's pages go to the same nodes, which read each next page ahead (storage/listing-read-ahead.ts).
    const walking = request.marker !== undefined && !request.delimiter;
    const turn = walking ? walkTurn(bucket, request.prefix ?? '') : this.turn++;
    const asked = this.nodesToAsk(everyNode, snapshot.previous === undefined ? listingSpareReplicas(settings) : 0, turn);
    const partial = asked.length < everyNode.length;
    let state = startListing<ListingEntry>(request);
    for (let round = 0; state.phase === 'fetch'; round++) {
      if (round >= MAX_LISTING_ROUNDS) return storageFailure('InternalError', 'listing made no progress');
      const fetched = await this.fetchPages(kind, bucket, request, state.fetch, asked);
      let outcome = this.merge(bucket, snapshot, state, fetched, partial);
      if (!outcome.ok && partial) {
        // Pages already in hand are merged again: only the nodes left out, or that did not answer, are asked.
        const rest = everyNode.filter((node) => fetched.get(node)?.ok !== true);
        const more = await this.fetchPages(kind, bucket, request, state.fetch, rest);
        outcome = this.merge(bucket, snapshot, state, new Map([...fetched, ...more]), false);
      }
      if (!outcome.ok) return outcome.failure;
      state = outcome.state;
    }
    return { ok: true, result: state.result };
  }

  /**
   * `everyNode` less `spare` of them: known-down nodes first, then by `turn`. Every node when more are
   * down than may be left out: a round without them would fail, and be asked of every node anyway.
   */
  private nodesToAsk(everyNode: readonly string[], spare: number, turn: number): readonly string[] {
    if (spare <= 0) return everyNode;
    const down = everyNode.filter((node) => this.deps.isKnownDown(node));
    const up = everyNode.filter((node) => !this.deps.isKnownDown(node));
    if (down.length > spare || up.length === 0) return everyNode;
    const left = new Set(down.slice(0, spare));
    const start = turn % Math.max(1, up.length);
    for (let i = 0; left.size < spare && i < up.length - 1; i++) left.add(up[(start + i) % up.length]!);
    return everyNode.filter((node) => !left.has(node));
  }

  /** The pages of `nodes` for `fetch`, or why each did not answer. */
  private async fetchPages(kind: ObjectKind, bucket: string, request: ListingRequest, fetch: ListingFetch, nodes: readonly string[]): Promise<Map<string, NodePage>> {
    const pageFrom = (node: string): Promise<NodePage> =>
      this.deps.isKnownDown(node)
        ? Promise.resolve({ ok: false, code: 'NodeDown', message: `${node} is down` })
        : ask(this.deps.system, routerOf(node), { type: 'list_local', objectKind: kind, bucket, fetch, markUnsettled: true, packed: true, columns: true, gapColumns: true, ...(request.withVersions ? { withVersions: true } : {}) }, this.deps.timeoutMs).then(unpacked);
    const replies = await Promise.all(nodes.map(pageFrom));
    return new Map(nodes.map((node, index) => [node, replies[index]!]));
  }

  /**
   * A round's pages merged. Of every node (not `partial`), up to N-R may be missing; of some, none may,
   * and an unsettled version fails the round rather than be judged.
   */
  private merge(bucket: string, snapshot: RingSnapshot, state: FetchingState, fetched: ReadonlyMap<string, NodePage>, partial: boolean): RoundOutcome {
    const { settings } = snapshot.doc;
    const pages: ListingPage<ListingEntry>[] = [];
    const answered: string[] = [];
    const failed: string[] = [];
    for (const [node, reply] of fetched) {
      if (!reply.ok) failed.push(`${node}: ${reply.code}`);
      else {
        pages.push(reply.page);
        answered.push(node);
      }
    }
    if (failed.length > (partial ? 0 : settings.n - settings.r)) return { ok: false, failure: storageFailure('Unavailable', `too many storage nodes did not answer (${failed.join(', ')})`) };
    try {
      return {
        ok: true,
        state: stepListing(state, pages, (versions) => {
          if (!versions.some(({ entry }) => entry.unsettled)) return newestListed(versions);
          const key = versions[0]!.entry.key;
          if (partial) throw new UndecidedVersion(key);
          const held = new Map<string, ListingEntry | null>(answered.map((node) => [node, null]));
          for (const { page, entry } of versions) held.set(answered[page]!, entry);
          const replicas = readPreferenceList(snapshot.current, snapshot.previous, keyPosition(bucket, key), settings.n);
          const chosen = acknowledgedNewest(held, replicas, settings);
          if (chosen === 'undecided') throw new UndecidedVersion(key);
          return chosen;
        }),
      };
    } catch (error) {
      if (!(error instanceof UndecidedVersion)) throw error;
      return { ok: false, failure: storageFailure('Unavailable', `the newest version of ${bucket}/${error.key} is unsettled and the replicas that could tell whether it was acknowledged did not answer; retry`) };
    }
  }
}

/** A node's listing page as the merge takes it, whichever form the node answered in. */
function unpacked(reply: ListLocalReply | RuntimeFailure): NodePage {
  if (!reply.ok || 'page' in reply) return reply;
  const page = 'columns' in reply ? unpackListingColumns(reply.columns) : unpackListingPage(reply.packed);
  return page === undefined ? runtimeFailure('BadMessage', 'a storage node answered a listing with a damaged page') : { ok: true, page };
}

/** A listed key whose version cannot be decided from the nodes that answered. */
class UndecidedVersion extends Error {
  override readonly name = 'UndecidedVersion';

  constructor(readonly key: string) {
    super(`undecided version of ${key}`);
  }
}

/** The same turn for every page of a walk of `bucket` under `prefix`: FNV-1a of both. */
function walkTurn(bucket: string, prefix: string): number {
  return fnv1a32(bucket, '\u0000', prefix);
}
