/**
 * The link keeper, a duty of the managers' leader: the single writer of the `linked_clusters` table
 * (join-cluster, remove-cluster), and the one that keeps in touch with each linked cluster. Every
 * probe interval it says hello to one of the cluster's managers (the one that answered last, else
 * the next in its list) and keeps in memory how the cluster answered: up with its storage nodes,
 * waiting (it refuses this cluster: it has not joined it yet), or down. A new leader asks again
 * before it knows; storage nodes then keep shipping to the storage nodes they last heard of.
 *
 * When a linked cluster names other managers than the record holds, the record takes its list, so
 * that a manager it added or moved is found after the one the operator named is gone.
 */
import type { ActorContext, Behavior } from '../../runtime/actor.js';
import { isRuntimeFailure } from '../../runtime/failures.js';
import type { ReplyTo } from '../../runtime/refs.js';
import { HandshakeRefused } from '../../runtime/remote/transport.js';
import { ask } from '../../runtime/typed-ask.js';
import { assertNever } from '../../core/assert-never.js';
import {
  clusterLinkRef,
  isClusterAddress,
  isNodeName,
  linkJoinProblem,
  MAX_HELLO_MANAGERS,
  MAX_HELLO_STORAGE_NODES,
  type LinkedCluster,
  type LinkEndpoint,
} from '../../protocol/cluster/cluster-link.js';
import { isRealmId } from '../../protocol/cluster/realm-names.js';
import type { LinkJoinReply, LinkKeeperMessage, LinkState, LinkStatus } from '../../protocol/cluster/link-keeper.js';
import type { StateTable } from '../../store/node-state.js';

export const DEFAULT_LINK_PROBE_INTERVAL_MS = 2_000;
const DEFAULT_HELLO_TIMEOUT_MS = 3_000;

export interface LinkKeeperDeps {
  /** The replicated table of linked clusters (writes go through the managers' log). */
  readonly linked: StateTable<LinkedCluster>;
  /** This cluster's id, once the control plane has one. */
  readonly clusterId: () => string | undefined;
  /** Resolves once the transport's realms hold the table as it is now (the cluster link actor's sync). */
  readonly linksChanged: () => Promise<void>;
  /** Dials a manager of a linked cluster; resolves with its realm-qualified name. Absent: this node cannot. */
  readonly connectForeign?: (address: string, clusterId: string) => Promise<string>;
  readonly isUp: (node: string) => boolean;
  readonly probeIntervalMs?: number;
  readonly helloTimeoutMs?: number;
}

/** How one hello went. */
type HelloOutcome =
  | { readonly state: 'up'; readonly address: string; readonly node: string; readonly managers: readonly string[]; readonly storage: readonly LinkEndpoint[] }
  | { readonly state: 'waiting' | 'down'; readonly reason: string };

type KeeperMessage =
  | LinkKeeperMessage
  | { readonly type: 'tick' }
  | { readonly type: 'probed'; readonly clusterId: string; readonly generation: number; readonly outcome: HelloOutcome; readonly replyTo?: ReplyTo<LinkJoinReply> };

/** What this leader knows of one linked cluster, in memory. */
interface Contact {
  state: LinkState;
  reason?: string;
  lastContactMs: number | null;
  storage: readonly LinkEndpoint[];
  /** The manager address that answered last, and the name it proved there. */
  address?: string;
  node?: string;
  probing: boolean;
  /** Raised by a join: a probe begun before it is out of date. */
  generation: number;
}

type Contacts = Map<string, Contact>;

export function linkKeeperBehavior(deps: LinkKeeperDeps): Behavior<Contacts, KeeperMessage> {
  const helloTimeoutMs = deps.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS;

  return {
    accepts: [],
    init(ctx) {
      const timer = ctx.clock.setInterval(() => ctx.system.dispatch(ctx.self, { type: 'tick' }), deps.probeIntervalMs ?? DEFAULT_LINK_PROBE_INTERVAL_MS);
      ctx.onEnd(() => timer.cancel());
      ctx.system.dispatch(ctx.self, { type: 'tick' });
      return new Map();
    },
    async receive(contacts, message, ctx) {
      switch (message.type) {
        case 'tick':
          for (const [clusterId, record] of deps.linked.entries()) {
            const contact = contactOf(contacts, clusterId);
            if (!contact.probing) probe(record, contact, ctx);
          }
          for (const clusterId of contacts.keys()) if (deps.linked.get(clusterId) === undefined) contacts.delete(clusterId);
          return contacts;
        case 'probed':
          await probed(contacts, message, ctx);
          return contacts;
        case 'join':
          await join(contacts, message, ctx);
          return contacts;
        case 'remove': {
          if (deps.linked.get(message.clusterId) === undefined) {
            ctx.system.reply(message.replyTo, { ok: false, code: 'NoSuchCluster', message: `no cluster ${message.clusterId} is linked with this one` });
            return contacts;
          }
          await deps.linked.remove(message.clusterId);
          contacts.delete(message.clusterId);
          await deps.linksChanged();
          ctx.log.info('link with another cluster removed', { clusterId: message.clusterId });
          ctx.system.reply(message.replyTo, { ok: true });
          return contacts;
        }
        case 'links':
          ctx.system.reply(message.replyTo, {
            ok: true,
            self: deps.clusterId() ?? null,
            links: deps.linked.entries().map(([clusterId, record]) => statusOf(record, contactOf(contacts, clusterId))),
          });
          return contacts;
        default:
          return assertNever(message);
      }
    },
  };

  async function join(contacts: Contacts, message: Extract<LinkKeeperMessage, { type: 'join' }>, ctx: ActorContext<KeeperMessage>): Promise<void> {
    const { clusterId, manager, secret, buckets, replyTo } = message;
    const self = deps.clusterId();
    if (self === undefined) {
      ctx.system.reply(replyTo, { ok: false, code: 'NotReady', message: 'this cluster has no id yet' });
      return;
    }
    const problem = linkJoinProblem(manager, clusterId, secret, buckets) ?? (clusterId === self ? `${clusterId} is this cluster's own id; name the other cluster's` : undefined);
    if (problem !== undefined) {
      ctx.system.reply(replyTo, { ok: false, code: 'InvalidArgument', message: problem });
      return;
    }
    const existing = deps.linked.get(clusterId);
    // The manager named now is tried first; those the cluster told us of stay behind it.
    const managers = [manager, ...(existing?.managers ?? []).filter((known) => known !== manager)];
    await deps.linked.put(clusterId, { clusterId, managers, secret, joinedAtMs: existing?.joinedAtMs ?? ctx.clock.now(), ...(buckets !== undefined ? { buckets: [...buckets] } : {}) });
    await deps.linksChanged();
    ctx.log.info(existing ? 'link with another cluster renewed' : 'linked with another cluster', { clusterId, manager });
    // A new secret or manager: what was known of the cluster says nothing of the link now.
    const previous = contacts.get(clusterId);
    const contact: Contact = { state: 'unknown', lastContactMs: previous?.lastContactMs ?? null, storage: previous?.storage ?? [], probing: false, generation: (previous?.generation ?? 0) + 1 };
    contacts.set(clusterId, contact);
    probe(deps.linked.get(clusterId)!, contact, ctx, replyTo);
  }

  async function probed(contacts: Contacts, message: Extract<KeeperMessage, { type: 'probed' }>, ctx: ActorContext<KeeperMessage>): Promise<void> {
    const { clusterId, outcome } = message;
    const record = deps.linked.get(clusterId);
    const contact = contacts.get(clusterId);
    if (record === undefined || contact === undefined) {
      if (message.replyTo) ctx.system.reply(message.replyTo, { ok: false, code: 'InvalidArgument', message: `cluster ${clusterId} was removed meanwhile` });
      return;
    }
    if (contact.generation === message.generation) {
      contact.probing = false;
      const before = contact.state;
      contact.state = outcome.state;
      if (outcome.state === 'up') {
        delete contact.reason;
        contact.lastContactMs = ctx.clock.now();
        contact.storage = outcome.storage;
        contact.address = outcome.address;
        contact.node = outcome.node;
        if (outcome.managers.length > 0 && outcome.managers.join(',') !== record.managers.join(',')) await takeManagers(record, outcome.managers, ctx);
      } else {
        contact.reason = outcome.reason;
        delete contact.node;
      }
      if (before !== contact.state) ctx.log.info('link with another cluster', { clusterId, state: contact.state, ...(contact.reason ? { reason: contact.reason } : {}) });
    }
    if (message.replyTo) ctx.system.reply(message.replyTo, { ok: true, link: statusOf(record, contact) });
  }

  /** The managers a linked cluster names for itself replace those of the record. */
  async function takeManagers(record: LinkedCluster, managers: readonly string[], ctx: ActorContext<KeeperMessage>): Promise<void> {
    try {
      await deps.linked.put(record.clusterId, { ...record, managers: [...managers] });
      ctx.log.info('a linked cluster named its managers', { clusterId: record.clusterId, managers });
    } catch (error) {
      // Tried again at the next hello; the old list still reaches the cluster.
      ctx.log.warn('could not record the managers of a linked cluster', { clusterId: record.clusterId, error });
    }
  }

  /** Says hello to `record`'s cluster without holding the mailbox; the outcome comes back as `probed`. */
  function probe(record: LinkedCluster, contact: Contact, ctx: ActorContext<KeeperMessage>, replyTo?: ReplyTo<LinkJoinReply>): void {
    contact.probing = true;
    const { generation } = contact;
    void hello(record, contact, ctx).then(
      (outcome) => ctx.system.dispatch(ctx.self, { type: 'probed', clusterId: record.clusterId, generation, outcome, ...(replyTo ? { replyTo } : {}) }),
      (error: unknown) => ctx.system.dispatch(ctx.self, { type: 'probed', clusterId: record.clusterId, generation, outcome: { state: 'down', reason: String(error) }, ...(replyTo ? { replyTo } : {}) }),
    );
  }

  /** One hello, to the manager that answered last first, then to the others in turn. */
  async function hello(record: LinkedCluster, contact: Contact, ctx: ActorContext<KeeperMessage>): Promise<HelloOutcome> {
    const self = deps.clusterId();
    const { connectForeign } = deps;
    if (self === undefined) return { state: 'down', reason: 'this cluster has no id yet' };
    if (connectForeign === undefined) return { state: 'down', reason: 'this manager cannot dial other clusters' };
    const first = contact.address !== undefined ? record.managers.indexOf(contact.address) : -1;
    const order = first <= 0 ? record.managers : [...record.managers.slice(first), ...record.managers.slice(0, first)];
    const failures: string[] = [];
    for (const address of order) {
      let node: string;
      try {
        node = address === contact.address && contact.node !== undefined && deps.isUp(contact.node) ? contact.node : await connectForeign(address, record.clusterId);
      } catch (error) {
        if (error instanceof HandshakeRefused) {
          return { state: 'waiting', reason: `${address} refuses this cluster: it has not run join-cluster for it yet, or was given another secret (${error.message})` };
        }
        failures.push(error instanceof Error ? error.message : String(error));
        continue;
      }
      const reply = await ask(ctx.system, clusterLinkRef(node), { type: 'link_hello', clusterId: self }, helloTimeoutMs);
      // A cluster that removed its link refuses what comes over a connection opened before.
      if (isRuntimeFailure(reply) && reply.code === 'BadMessage') return { state: 'waiting', reason: `${address} refuses this cluster: its link was removed there (${reply.message})` };
      if (isRuntimeFailure(reply)) {
        failures.push(`${address}: ${reply.code}: ${reply.message}`);
        continue;
      }
      if (!reply.ok) return { state: 'waiting', reason: `${address}: ${reply.message}` };
      if (!isHelloAnswer(reply)) return { state: 'down', reason: `${address} answers the hello with something else than a cluster's managers and storage nodes` };
      if (reply.clusterId !== record.clusterId) return { state: 'down', reason: `${address} answers as cluster ${reply.clusterId}, not ${record.clusterId}` };
      return { state: 'up', address, node, managers: reply.managers, storage: reply.storage };
    }
    return { state: 'down', reason: failures.join('; ') || 'no manager of it is known' };
  }
}

/** The answer of another cluster, checked before it is kept or written. */
function isHelloAnswer(reply: { clusterId: unknown; managers: unknown; storage: unknown }): boolean {
  const isEndpoint = (value: unknown): boolean =>
    typeof value === 'object' && value !== null && isNodeName((value as LinkEndpoint).node) && isClusterAddress((value as LinkEndpoint).address);
  return (
    isRealmId(reply.clusterId) &&
    Array.isArray(reply.managers) && reply.managers.length <= MAX_HELLO_MANAGERS && reply.managers.every(isClusterAddress) &&
    Array.isArray(reply.storage) && reply.storage.length <= MAX_HELLO_STORAGE_NODES && reply.storage.every(isEndpoint)
  );
}

function contactOf(contacts: Contacts, clusterId: string): Contact {
  let contact = contacts.get(clusterId);
  if (contact === undefined) {
    contact = { state: 'unknown', lastContactMs: null, storage: [], probing: false, generation: 0 };
    contacts.set(clusterId, contact);
  }
  return contact;
}

/** A link as the admin sees it: never its secret. */
function statusOf(record: LinkedCluster, contact: Contact): LinkStatus {
  return {
    clusterId: record.clusterId,
    managers: record.managers,
    joinedAtMs: record.joinedAtMs,
    ...(record.buckets !== undefined ? { buckets: record.buckets } : {}),
    state: contact.state,
    ...(contact.reason !== undefined ? { reason: contact.reason } : {}),
    lastContactMs: contact.lastContactMs,
    storage: contact.storage,
  };
}
