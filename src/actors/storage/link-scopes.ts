/**
 * Stretches of a bucket's keys for the comparison between linked clusters (link-sync.ts): what this node
 * folds of a stretch, and a whole cluster's digest of one, asked of every storage node.
 *
 * Every node folds only the keys it judges (judged-here.ts), so each key counts once in its cluster's
 * digest. Nodes that disagree for a moment on who is down count a key twice or not at all; the digests
 * and key counts then differ although the clusters may agree, and the stretch is compared key by key:
 * it costs a comparison, never a key left out.
 */
import { compareKeys } from '../../core/key-order.js';
import { addLinkDigests, countsInLinkDigest, earliestKey, foldLinkVersion, isLinkDigest } from '../../core/link-digest.js';
import type { ObjectMeta } from '../../core/object-meta.js';
import type { ActorApi } from '../../runtime/actor.js';
import { ask } from '../../runtime/typed-ask.js';
import type { LinkVersionSummary } from '../../protocol/cluster/cluster-link.js';
import { linkSyncRef, type LocalScope } from '../../protocol/cluster/link-sync.js';
import { judgedHere } from './judged-here.js';
import type { StorageContext } from './storage-context.js';

/** How long a node may take to fold a stretch. */
const SCOPE_TIMEOUT_MS = 30_000;

export interface ScopeDigest {
  readonly digest: number;
  /** Keys folded. */
  readonly keys: number;
  /** Records looked at, tombstones and keys judged elsewhere included. */
  readonly looked: number;
  /** The last key looked at when the limit stopped the walk; null when it went through the stretch. */
  readonly reached: string | null;
}

/** The digest of the keys this node judges in the stretch, looking at `limit` keys at most. */
export function digestHere(context: StorageContext, scope: LocalScope, limit: number): ScopeDigest {
  const walk = context.store.walkNamespace(scope.namespace, scope.after, scope.upTo, limit);
  let digest = 0;
  let keys = 0;
  for (const { address, meta } of walk.records) {
    if (!countsInLinkDigest(meta) || !judgedHere(context, address) || context.store.isUnsettled(address, meta.clock)) continue;
    digest = foldLinkVersion(digest, scope.bucket, address.key, meta.clock);
    keys++;
  }
  return { digest, keys, looked: walk.records.length, reached: walk.last?.key ?? null };
}

export interface JudgedVersion {
  readonly summary: LinkVersionSummary;
  readonly meta: ObjectMeta;
}

/** The settled newest versions of the keys this node judges in the stretch, looking at `limit` keys at most. */
export function versionsHere(context: StorageContext, scope: LocalScope, limit: number): { readonly versions: JudgedVersion[]; readonly reached: string | null } {
  const walk = context.store.walkNamespace(scope.namespace, scope.after, scope.upTo, limit);
  const versions: JudgedVersion[] = [];
  for (const { address, meta } of walk.records) {
    if (!judgedHere(context, address) || context.store.isUnsettled(address, meta.clock)) continue;
    versions.push({ summary: { bucket: scope.bucket, key: address.key, clock: meta.clock, deleted: meta.deleted }, meta });
  }
  return { versions, reached: walk.last?.key ?? null };
}

/** The storage nodes whose digests make up this cluster's: every member of the ring not known to be down. */
export function digestingNodes(context: StorageContext): string[] {
  const ring = context.ringView.current?.current;
  return ring ? ring.members.map((member) => member.node).filter((node) => node === context.node || !context.isKnownDown(node)) : [];
}

export type ClusterDigest =
  | { readonly ok: true; readonly scope: LocalScope; readonly digest: number | null; readonly keys: number; readonly looked: number }
  | { readonly ok: false; readonly message: string };

/**
 * This cluster's digest of the stretch, each node looking at `limit` keys at most. With `narrow`, a
 * stretch too long for that is cut short where the first node stopped (the answer says which stretch
 * it covers); without, its digest is null.
 */
export async function clusterDigest(system: ActorApi, context: StorageContext, scope: LocalScope, limit: number, narrow: boolean): Promise<ClusterDigest> {
  const nodes = digestingNodes(context);
  if (nodes.length === 0) return { ok: false, message: 'this node has no ring yet' };
  const digestsOf = async (asked: readonly string[], of: LocalScope, limitOf: number): Promise<Map<string, ScopeDigest> | string> => {
    const replies = await Promise.all(asked.map((node) => ask(system, linkSyncRef(node), { type: 'scope_digest', scope: of, limit: limitOf }, SCOPE_TIMEOUT_MS)));
    const out = new Map<string, ScopeDigest>();
    for (const [index, reply] of replies.entries()) {
      if (!reply.ok) return `${asked[index]}: ${reply.message}`;
      if (!isScopeDigestOf(reply, of)) return `${asked[index]}: a malformed digest`;
      out.set(asked[index]!, reply);
    }
    return out;
  };
  const first = await digestsOf(nodes, scope, limit);
  if (typeof first === 'string') return { ok: false, message: first };
  const stops = [...first.values()].flatMap((digest) => (digest.reached === null ? [] : [digest.reached]));
  let covered = scope;
  let digests = first;
  if (stops.length > 0) {
    if (!narrow) return { ok: true, scope, digest: null, ...countsIn(first) };
    // Cut where the first node stopped: a node that stopped there folded exactly that stretch, the
    // others looked past its end and fold it again (no more keys than they looked at already).
    const upTo = earliestKey(stops)!;
    covered = { ...scope, upTo };
    const again = [...first].filter(([, digest]) => digest.reached !== upTo).map(([node]) => node);
    const second = await digestsOf(again, covered, limit + 1);
    if (typeof second === 'string') return { ok: false, message: second };
    digests = new Map([...first, ...second]);
    // Keys written meanwhile can carry a node past the end again: compare that stretch key by key.
    if ([...second.values()].some((digest) => digest.reached !== null)) return { ok: true, scope: covered, digest: null, ...countsIn(digests) };
  }
  let digest = 0;
  for (const each of digests.values()) digest = addLinkDigests(digest, each.digest);
  return { ok: true, scope: covered, digest, ...countsIn(digests) };
}

function countsIn(digests: ReadonlyMap<string, ScopeDigest>): { keys: number; looked: number } {
  let keys = 0;
  let looked = 0;
  for (const digest of digests.values()) {
    keys += digest.keys;
    looked += digest.looked;
  }
  return { keys, looked };
}

/** A peer's digest that holds together, and stopped (if it did) within the stretch: the walk never goes back. */
function isScopeDigestOf(reply: ScopeDigest, scope: LocalScope): boolean {
  const isCount = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) >= 0;
  if (!isLinkDigest(reply.digest) || !isCount(reply.keys) || !isCount(reply.looked)) return false;
  if (reply.reached === null) return true;
  if (typeof reply.reached !== 'string') return false;
  return (scope.after === undefined || compareKeys(reply.reached, scope.after) > 0) && (scope.upTo === undefined || compareKeys(reply.reached, scope.upTo) <= 0);
}
