/**
 * What the shell holds while it runs: its node in the cluster (joined through the admin client), the
 * members as the manager last listed them, whose addresses it gives its transport so that it can reach
 * every node, each node's actor paths for completion, and the follower actor that receives a followed
 * node's log. Every ask has a limit.
 */
import type { AdminClient } from './admin-client.js';
import type { ActorSummary, FollowReply, LogLinesMessage } from '../protocol/cluster/node-info.js';
import { nodeInfoRef } from '../protocol/cluster/paths.js';
import type { MemberStatus } from '../protocol/cluster/ring-keeper.js';
import { LOG_FOLLOWER_NAME, logFollowerBehavior, logFollowerRef, SHELL_ROOT_NAME } from '../actors/shell/log-follower.js';
import type { RuntimeFailure } from '../runtime/failures.js';
import { worker } from '../runtime/supervisor.js';
import { ask } from '../runtime/typed-ask.js';

/** Completion refreshes names older than this. */
const NAMES_FRESH_MS = 10_000;
/** Completion waits this long at most for names it has to fetch. */
const COMPLETION_WAIT_MS = 2_000;

export type NodeLookup = { readonly ok: true; readonly node: string } | { readonly ok: false; readonly problem: string };

export class ShellSession {
  private members: readonly MemberStatus[] = [];
  private membersAtMs = 0;
  private readonly actorPaths = new Map<string, { readonly paths: readonly string[]; readonly atMs: number }>();
  private followed: { readonly node: string; readonly onBatch: (batch: LogLinesMessage) => void } | undefined;

  private constructor(
    readonly client: AdminClient,
    /** Limit on each ask to a node's actors. */
    readonly timeoutMs: number,
  ) {}

  /** Starts the shell's own actors on the client's node. */
  static async open(client: AdminClient, timeoutMs: number): Promise<ShellSession> {
    const session = new ShellSession(client, timeoutMs);
    const follower = logFollowerBehavior((batch) => {
      if (session.followed?.node === batch.node) session.followed.onBatch(batch);
    });
    await client.node.system.startRoot(SHELL_ROOT_NAME, { strategy: 'one_for_one', maxRestarts: 10, periodMs: 60_000, children: [worker(LOG_FOLLOWER_NAME, follower)] }, () => {});
    return session;
  }

  /** This shell's own node name. */
  get self(): string {
    return this.client.node.system.node;
  }

  /** The members as the manager lists them now (a problem when it does not answer). */
  async listMembers(): Promise<readonly MemberStatus[] | string> {
    const reply = await this.client.run({ command: 'status' });
    if (!reply.ok) return `the manager did not list the members: ${reply.message} (${reply.code})`;
    if (reply.result.kind !== 'cluster_status') return `the manager answered status with ${reply.result.kind}`;
    this.members = reply.result.members;
    this.membersAtMs = Date.now();
    for (const member of this.members) if (member.address) this.client.node.transport.addPeer(member.node, member.address);
    return this.members;
  }

  /** The names last listed. */
  knownNodes(): string[] {
    return this.members.map((member) => member.node);
  }

  /** The members last listed that `name` names: by full name, or by the part before @. */
  private named(name: string): string[] {
    const exact = this.members.filter((member) => member.node === name);
    return (exact.length > 0 ? exact : this.members.filter((member) => member.node.split('@')[0] === name)).map((member) => member.node);
  }

  /** A member by its full name, or by the part before @ when that is unique; the list is fetched again if need be. */
  async resolveNode(name: string): Promise<NodeLookup> {
    let found = this.named(name);
    if (found.length !== 1) {
      const listed = await this.listMembers();
      if (typeof listed === 'string') return { ok: false, problem: listed };
      found = this.named(name);
    }
    if (found.length === 1) return { ok: true, node: found[0]! };
    if (found.length > 1) return { ok: false, problem: `${name} is ambiguous: ${found.join(', ')}` };
    return { ok: false, problem: `unknown node ${name}; the nodes are ${this.knownNodes().join(', ') || '(none listed)'}` };
  }

  async actors(node: string): Promise<readonly ActorSummary[] | RuntimeFailure> {
    const reply = await ask(this.client.node.system, nodeInfoRef(node), { type: 'which_actors' }, this.timeoutMs);
    if (!reply.ok) return reply;
    this.actorPaths.set(node, { paths: reply.actors.map((actor) => actor.path), atMs: Date.now() });
    return reply.actors;
  }

  /** `message` to the actor at `path` on `node`, delivered guarded by the node's info actor; its answer. */
  deliver(node: string, path: string, message: unknown): Promise<unknown> {
    return ask(this.client.node.system, nodeInfoRef(node), { type: 'deliver', path, message }, this.timeoutMs);
  }

  /** Asks `node` to send its log to this shell's follower for `leaseMs` (again: renews). */
  follow(node: string, leaseMs: number): Promise<FollowReply | RuntimeFailure> {
    return ask(this.client.node.system, nodeInfoRef(node), { type: 'follow', subscriber: logFollowerRef(this.self), leaseMs }, this.timeoutMs);
  }

  async unfollow(node: string, timeoutMs: number): Promise<void> {
    await ask(this.client.node.system, nodeInfoRef(node), { type: 'unfollow', subscriber: logFollowerRef(this.self) }, timeoutMs);
  }

  /** Where the follower hands the batches of `node` (others are late ones of an earlier follow, dropped). */
  printFollowed(target: { readonly node: string; readonly onBatch: (batch: LogLinesMessage) => void } | undefined): void {
    this.followed = target;
  }

  // ---- names for completion ----

  /** Node names for completion: the list, fetched again when stale (waiting a little only when there is none). */
  async nodeNames(): Promise<string[]> {
    if (Date.now() - this.membersAtMs > NAMES_FRESH_MS) {
      const refreshed = this.listMembers();
      if (this.members.length === 0) await withinMs(refreshed, COMPLETION_WAIT_MS);
    }
    return this.knownNodes();
  }

  /** Actor paths of `node` for completion, fetched when not known or stale. */
  async actorPathsOf(name: string): Promise<readonly string[] | undefined> {
    const [node, ...others] = this.named(name);
    if (node === undefined || others.length > 0) return undefined;
    const known = this.actorPaths.get(node);
    if (!known || Date.now() - known.atMs > NAMES_FRESH_MS) {
      const fetched = this.actors(node);
      if (!known) await withinMs(fetched, COMPLETION_WAIT_MS);
    }
    return this.actorPaths.get(node)?.paths;
  }

  cachedActorPaths(name: string): readonly string[] | undefined {
    const [node, ...others] = this.named(name);
    return node === undefined || others.length > 0 ? undefined : this.actorPaths.get(node)?.paths;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

function withinMs(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void promise.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
