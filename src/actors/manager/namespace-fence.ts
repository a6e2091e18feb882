/**
 * What the manager asks storage nodes when a bucket is deleted: seal its namespace (refuse writes),
 * check through a merged listing that it holds nothing, lift the seal, announce the namespace deleted,
 * and read the progress of its purge. Each call goes to many nodes at once, each with its own
 * deadline, and reports which nodes answered: whether that is enough is the caller's decision
 * (core/ring/write-fence.ts).
 */
import { startListing, stepListing, type ListingEntry, type ListingPage } from '../../core/listing.js';
import type { ObjectKind } from '../../core/object-meta.js';
import type { ActorApi } from '../../runtime/actor.js';
import type { Clock } from '../../runtime/clock.js';
import { isRuntimeFailure } from '../../runtime/failures.js';
import { MAX_DELETED_NAMESPACES, routerOf, type PurgeStatus } from '../../protocol/cluster/storage.js';
import { ask } from '../../runtime/typed-ask.js';

export interface FenceDeps {
  readonly system: ActorApi;
  readonly isKnownDown: (node: string) => boolean;
  /** Deadline of each call to one node. */
  readonly timeoutMs: number;
}

/** Keys fetched per node and round of the emptiness check (a bucket just emptied holds many tombstones). */
const EMPTINESS_PAGE_KEYS = 1000;

/** The nodes (of `nodes`) that sealed the namespace, or had it deleted already. */
export async function sealNamespace(deps: FenceDeps, nodes: readonly string[], namespace: string, sealId: string): Promise<Set<string>> {
  const sealed = new Set<string>();
  await Promise.all(
    reachable(deps, nodes).map(async (node) => {
      const reply = await ask(deps.system, routerOf(node), { type: 'seal_namespace', namespace, sealId }, deps.timeoutMs);
      if (!isRuntimeFailure(reply) && reply.ok) sealed.add(node);
    }),
  );
  return sealed;
}

/** Lifts the seal everywhere it may be; a node that misses this is told by `seals_in_force` later. */
export async function unsealNamespace(deps: FenceDeps, nodes: readonly string[], namespace: string, sealId: string): Promise<void> {
  await Promise.all(
    reachable(deps, nodes).map((node) =>
      ask(deps.system, routerOf(node), { type: 'unseal_namespace', namespace, sealId }, deps.timeoutMs),
    ),
  );
}

export type EmptinessCheck =
  /** `answered`: the nodes whose every page arrived; only their keys were seen. */
  | { readonly outcome: 'empty'; readonly answered: Set<string> }
  /** An object, or a version whose write or delete is still being decided, past UNSETTLED_WAIT_MS. */
  | { readonly outcome: 'not-empty' }
  | { readonly outcome: 'timed-out' };

/**
 * A delete the client saw acknowledged (at D replicas) is settled on every replica a moment later; a
 * bucket emptied just before its DeleteBucket holds such deletes. The namespace is sealed meanwhile,
 * so nothing new comes in: the check looks again for this long before it calls the bucket not empty.
 */
const UNSETTLED_WAIT_MS = 5_000;
const UNSETTLED_RECHECK_MS = 100;

/**
 * Whether the namespace holds no object, as the newest versions on `nodes` say: a key deleted on one
 * replica and still present on a stale one counts as deleted. Uploads in progress, parts and chunks
 * do not count: S3 deletes a bucket with uploads in progress, and they go with its namespace. Gives up
 * at `deadlineMs` (a bucket that holds the tombstones of millions of keys takes a while to walk).
 */
export async function checkEmpty(deps: FenceDeps, nodes: readonly string[], namespace: string, deadlineMs: number, clock: Pick<Clock, 'now' | 'setTimeout'>): Promise<EmptinessCheck> {
  const answered = new Set(reachable(deps, nodes));
  const waitUntilMs = Math.min(deadlineMs, clock.now() + UNSETTLED_WAIT_MS);
  for (;;) {
    const found = await holdsNone(deps, answered, namespace, 'object', deadlineMs, () => clock.now());
    if (found === 'none') return { outcome: 'empty', answered };
    if (found !== 'unsettled') return { outcome: found };
    if (clock.now() + UNSETTLED_RECHECK_MS > waitUntilMs) return { outcome: 'not-empty' };
    await new Promise((resolve) => clock.setTimeout(() => resolve(undefined), UNSETTLED_RECHECK_MS));
  }
}

/** Drops from `answered` any node that fails to answer a round. */
async function holdsNone(
  deps: FenceDeps,
  answered: Set<string>,
  namespace: string,
  kind: ObjectKind,
  deadlineMs: number,
  now: () => number,
): Promise<'none' | 'not-empty' | 'unsettled' | 'timed-out'> {
  // A key whose current version is a delete marker still has versions: the bucket is not empty.
  let state = startListing<ListingEntry>({ maxKeys: 1, includeDeleteMarkers: true });
  while (state.phase === 'fetch') {
    if (now() > deadlineMs) return 'timed-out';
    const fetch = { ...state.fetch, limit: Math.max(state.fetch.limit, EMPTINESS_PAGE_KEYS) };
    const pages: ListingPage<ListingEntry>[] = [];
    await Promise.all(
      [...answered].map(async (node) => {
        const reply = await ask(deps.system, routerOf(node), { type: 'list_local', objectKind: kind, bucket: namespace, fetch, markUnsettled: true }, deps.timeoutMs);
        if (!isRuntimeFailure(reply) && reply.ok && 'page' in reply) pages.push(reply.page);
        else answered.delete(node);
      }),
    );
    // A write or delete still in flight may be undone: whichever way it goes, the bucket is not
    // provably empty now.
    if (pages.some((page) => page.entries.some((entry) => entry.unsettled === true))) return 'unsettled';
    state = stepListing(state, pages);
  }
  return state.result.contents.length === 0 ? 'none' : 'not-empty';
}

/** Tells `nodes` of deleted namespaces; resolves with the nodes that stored every one of them. */
export async function announceDeleted(
  deps: FenceDeps,
  nodes: readonly string[],
  namespaces: ReadonlyArray<{ readonly namespace: string; readonly deletedAtMs: number }>,
): Promise<Set<string>> {
  const told = new Set<string>();
  await Promise.all(
    reachable(deps, nodes).map(async (node) => {
      for (let i = 0; i < namespaces.length; i += MAX_DELETED_NAMESPACES) {
        const batch = namespaces.slice(i, i + MAX_DELETED_NAMESPACES);
        const reply = await ask(deps.system, routerOf(node), { type: 'namespaces_deleted', namespaces: batch }, deps.timeoutMs);
        if (isRuntimeFailure(reply) || !reply.ok) return;
      }
      told.add(node);
    }),
  );
  return told;
}

/** Tells a node which seals are still wanted, so that it lifts any other. */
export function sendSealsInForce(deps: FenceDeps, node: string, seals: ReadonlyArray<{ readonly namespace: string; readonly sealId: string }>): void {
  deps.system.dispatch(routerOf(node), { type: 'seals_in_force', seals: seals.slice(0, MAX_DELETED_NAMESPACES) });
}

/** Each node's purge progress of `namespaces`, by namespace, or why it did not say. */
export async function purgeStats(deps: FenceDeps, nodes: readonly string[], namespaces: readonly string[]): Promise<Map<string, Map<string, PurgeStatus> | string>> {
  const stats = new Map<string, Map<string, PurgeStatus> | string>();
  await Promise.all(
    nodes.map(async (node) => {
      if (deps.isKnownDown(node)) {
        stats.set(node, 'down');
        return;
      }
      const known = new Map<string, PurgeStatus>();
      for (let i = 0; i < namespaces.length; i += MAX_DELETED_NAMESPACES) {
        const batch = namespaces.slice(i, i + MAX_DELETED_NAMESPACES);
        const reply = await ask(deps.system, routerOf(node), { type: 'purge_stats', namespaces: batch }, deps.timeoutMs);
        if (isRuntimeFailure(reply) || !reply.ok) {
          stats.set(node, `${reply.code}: ${reply.message}`);
          return;
        }
        for (const status of reply.namespaces) known.set(status.namespace, status);
      }
      stats.set(node, known);
    }),
  );
  return stats;
}

function reachable(deps: FenceDeps, nodes: readonly string[]): string[] {
  return nodes.filter((node) => !deps.isKnownDown(node));
}
