/**
 * The cluster link actor, on every manager (leading or not), at CLUSTER_LINK_PATH: what linked
 * clusters and this cluster's storage nodes ask about multi-cluster replication.
 *
 * - It keeps the transport's realms (runtime/remote/link-realms.ts) in step with the replicated
 *   `linked_clusters` table, so that every manager accepts the links the leader recorded: a follower
 *   learns of a join when the entry is applied here, within one sync interval.
 * - `link_hello`, from a manager of a linked cluster: this cluster's id, managers and the storage nodes
 *   that take shipments. The asker's realm is the one its connection proved the secret of, so a hello
 *   naming another cluster than its own is refused.
 * - `link_view`, from this cluster's storage nodes: the secrets and the storage nodes of each linked
 *   cluster. The storage nodes are what the leader's link keeper last heard, so a follower answers
 *   Unavailable (naming no secret) and the storage node asks the leader again.
 */
import type { ActorContext, Behavior } from '../../runtime/actor.js';
import { isRuntimeFailure } from '../../runtime/failures.js';
import { isReplyTo, type ReplyTo } from '../../runtime/refs.js';
import type { LinkRealms } from '../../runtime/remote/link-realms.js';
import { isRealmId, realmOf } from '../../protocol/cluster/realm-names.js';
import { ask } from '../../runtime/typed-ask.js';
import { assertNever } from '../../core/assert-never.js';
import type { ClusterLinkMessage, LinkedCluster, LinkEndpoint, LinkTarget } from '../../protocol/cluster/cluster-link.js';
import { linkKeeperRef } from '../../protocol/cluster/link-keeper.js';
import type { StateTable } from '../../store/node-state.js';

const DEFAULT_SYNC_INTERVAL_MS = 1_000;
const DEFAULT_ASK_TIMEOUT_MS = 2_000;

/** Messages from the manager's own actors as well: `sync` applies the table to the realms now. */
export type ClusterLinkActorMessage = ClusterLinkMessage | { readonly type: 'sync'; readonly replyTo?: ReplyTo<{ readonly ok: true }> };

export interface ClusterLinkDeps {
  /** The realms this manager's transport accepts links with. */
  readonly realms: LinkRealms;
  /** This cluster's id, once the control plane has one. */
  readonly clusterId: () => string | undefined;
  /** This manager's copy of the replicated table of linked clusters. */
  readonly linked: Pick<StateTable<LinkedCluster>, 'get' | 'entries'>;
  /** The cluster addresses of this cluster's managers. */
  readonly managers: () => readonly string[];
  /** This cluster's storage nodes that take shipments now; never rejects. */
  readonly storage: () => Promise<readonly LinkEndpoint[]>;
  readonly syncIntervalMs?: number;
  /** Limit on the question to the local link keeper. */
  readonly askTimeoutMs?: number;
}

interface LinkState {
  /** The realms as last applied, to log changes only. */
  applied: string;
}

export function clusterLinkBehavior(deps: ClusterLinkDeps): Behavior<LinkState, ClusterLinkActorMessage> {
  const askTimeoutMs = deps.askTimeoutMs ?? DEFAULT_ASK_TIMEOUT_MS;

  return {
    accepts: ['link_hello', 'link_view'],
    init(ctx) {
      const state: LinkState = { applied: '' };
      sync(state, ctx);
      const timer = ctx.clock.setInterval(() => ctx.system.dispatch(ctx.self, { type: 'sync' }), deps.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS);
      ctx.onEnd(() => timer.cancel());
      return state;
    },
    receive(state, message, ctx) {
      switch (message.type) {
        case 'sync':
          sync(state, ctx);
          if (message.replyTo) ctx.system.reply(message.replyTo, { ok: true });
          return state;
        case 'link_hello':
          // From the wire: without a reply address there is no one to answer.
          if (isReplyTo(message.replyTo)) hello(message, ctx);
          return state;
        case 'link_view':
          if (isReplyTo(message.replyTo)) view(message, ctx);
          return state;
        default:
          return assertNever(message);
      }
    },
  };

  function sync(state: LinkState, ctx: ActorContext<ClusterLinkActorMessage>): void {
    const self = deps.clusterId();
    if (self !== undefined && isRealmId(self) && deps.realms.self !== self) deps.realms.setSelf(self);
    const records = deps.linked.entries().map(([, record]) => record);
    deps.realms.replaceAll(new Map(records.map((record) => [record.clusterId, record.secret])));
    const applied = `${self ?? '-'} ${records.map((record) => record.clusterId).sort().join(',')}`;
    if (applied !== state.applied) {
      state.applied = applied;
      ctx.log.info('links with other clusters', { self: self ?? null, linked: records.map((record) => record.clusterId) });
    }
  }

  function hello(message: Extract<ClusterLinkMessage, { type: 'link_hello' }>, ctx: ActorContext<ClusterLinkActorMessage>): void {
    const self = deps.clusterId();
    const asker = realmOf(message.replyTo.node);
    if (self === undefined || asker === undefined || asker !== message.clusterId || deps.linked.get(asker) === undefined) {
      ctx.log.info('refused a hello from another cluster', { from: message.replyTo.node, clusterId: String(message.clusterId) });
      ctx.system.reply(message.replyTo, { ok: false, code: 'NotLinked', message: `cluster ${self ?? '(no id yet)'} holds no link with cluster ${String(message.clusterId)}; run leofs-adm join-cluster there` });
      return;
    }
    // Answered without holding the mailbox: finding the storage nodes may ask the ring keeper.
    void deps.storage().then((storage) => ctx.system.reply(message.replyTo, { ok: true, clusterId: self, managers: [...deps.managers()], storage: [...storage] }));
  }

  function view(message: Extract<ClusterLinkMessage, { type: 'link_view' }>, ctx: ActorContext<ClusterLinkActorMessage>): void {
    const self = deps.clusterId();
    // Secrets go to this cluster's own nodes only.
    if (realmOf(message.replyTo.node) !== undefined) {
      ctx.system.reply(message.replyTo, { ok: false, code: 'Unavailable', message: 'link_view is for the nodes of this cluster' });
      return;
    }
    if (self === undefined) {
      ctx.system.reply(message.replyTo, { ok: false, code: 'Unavailable', message: 'this cluster has no id yet (no control plane)' });
      return;
    }
    void ask(ctx.system, linkKeeperRef(ctx.system.node), { type: 'links' }, askTimeoutMs).then((reply) => {
      if (isRuntimeFailure(reply)) {
        ctx.system.reply(message.replyTo, { ok: false, code: 'Unavailable', message: `${ctx.system.node} does not lead the managers now (${reply.code}); ask the leader` });
        return;
      }
      const heard = new Map(reply.links.map((link) => [link.clusterId, link.storage]));
      const clusters: LinkTarget[] = deps.linked.entries().map(([, record]) => ({
        clusterId: record.clusterId,
        secret: record.secret,
        storage: [...(heard.get(record.clusterId) ?? [])],
        ...(record.buckets !== undefined ? { buckets: [...record.buckets] } : {}),
      }));
      ctx.system.reply(message.replyTo, { ok: true, self, clusters });
    });
  }
}
