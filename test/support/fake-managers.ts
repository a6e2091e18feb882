/**
 * A control plane of stand-in managers, each a real cluster node on loopback: every one runs a
 * consensus actor that answers who leads from a shared script, and only the one said to lead runs a
 * ring keeper, an auth and an admin actor (so an ask to them elsewhere answers NoProc, as on real followers).
 * A manager of an earlier release runs no consensus actor at all. Tests elect, stop and restart them.
 */
import type { Behavior } from '../../src/runtime/actor.js';
import type { ConsensusMessage, LeaderReply } from '../../src/protocol/cluster/consensus.js';
import type { AdminMessage } from '../../src/protocol/cluster/admin.js';
import type { AuthMessage } from '../../src/protocol/cluster/auth.js';
import type { RingKeeperMessage } from '../../src/protocol/cluster/ring-keeper.js';
import { ROOT_NAME } from '../../src/protocol/cluster/paths.js';
import { memoryLogger } from '../../src/runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../../src/runtime/node.js';
import { actorRef } from '../../src/runtime/refs.js';
import { supervisor, worker, type SupervisorMessage } from '../../src/runtime/supervisor.js';
import { ask } from '../../src/runtime/typed-ask.js';

export const FAKE_COOKIE = 'fake-managers-cookie';

export interface FakeManager {
  readonly name: string;
  node: ClusterNode | undefined;
  /** Where it listens; kept across restarts. */
  address: string;
  /** What its consensus actor says instead of the truth (a lagging or cut-off manager). */
  override?: Partial<Omit<LeaderReply, 'ok'>>;
}

export class FakeManagers {
  readonly managers: FakeManager[] = [];
  leader: number | null = null;
  term = 1;
  /** Every join a ring keeper answered: which manager, for which node. */
  readonly joins: Array<{ readonly manager: string; readonly node: string }> = [];
  /** Every auth ask answered, by which manager. */
  readonly authAsks: string[] = [];
  /** `leader` asks answered, all managers together. */
  leaderAsks = 0;

  /** Starts `count` managers (`legacy`: of an earlier release, no consensus actor); none leads yet. */
  static async start(count: number, options: { readonly legacy?: boolean } = {}): Promise<FakeManagers> {
    const plane = new FakeManagers();
    for (let i = 0; i < count; i++) {
      const manager: FakeManager = { name: `manager_${i}@127.0.0.1`, node: undefined, address: '127.0.0.1:0' };
      plane.managers.push(manager);
      await plane.boot(manager, options.legacy === true);
    }
    return plane;
  }

  get addresses(): string[] {
    return this.managers.map((manager) => manager.address);
  }

  /** Makes manager `index` the leader in a new term: the former leader stops its leader-only actors. */
  async elect(index: number | null): Promise<void> {
    const previous = this.leader;
    this.leader = index;
    this.term++;
    if (previous !== null && previous !== index) await this.setLeading(this.managers[previous]!, false);
    if (index !== null) await this.setLeading(this.managers[index]!, true);
  }

  /** Stops manager `index` (its peers see it go down); it keeps its address for `restart`. */
  async stop(index: number): Promise<void> {
    const manager = this.managers[index]!;
    await manager.node?.stop();
    manager.node = undefined;
  }

  async restart(index: number): Promise<void> {
    await this.boot(this.managers[index]!, false);
    if (this.leader === index) await this.setLeading(this.managers[index]!, true);
  }

  async close(): Promise<void> {
    for (let i = 0; i < this.managers.length; i++) await this.stop(i);
  }

  private async boot(manager: FakeManager, legacy: boolean): Promise<void> {
    const port = Number(manager.address.slice(manager.address.lastIndexOf(':') + 1));
    const node = await startClusterNode({ node: manager.name, cookie: FAKE_COOKIE, listen: { host: '127.0.0.1', port }, logger: memoryLogger('error').logger });
    manager.node = node;
    manager.address = node.transport.address!;
    const consensus = legacy ? [] : [worker('consensus', this.consensusBehavior(manager))];
    const leading = legacy ? this.leaderOnly(manager) : [];
    await node.system.startRoot(ROOT_NAME, { strategy: 'one_for_one', maxRestarts: 5, periodMs: 1_000, children: [supervisor('manager', { strategy: 'one_for_one', maxRestarts: 5, periodMs: 1_000, children: [...consensus, ...leading] })] }, () => {});
  }

  private async setLeading(manager: FakeManager, leading: boolean): Promise<void> {
    const node = manager.node;
    if (node === undefined) return;
    const parent = actorRef<SupervisorMessage>(manager.name, `/${ROOT_NAME}/manager`);
    for (const child of this.leaderOnly(manager)) {
      const reply = leading
        ? await ask(node.system, parent, { type: 'start_child', spec: child }, 2_000)
        : await ask(node.system, parent, { type: 'terminate_child', name: child.name }, 2_000);
      if (!reply.ok && reply.code !== 'AlreadyStarted' && reply.code !== 'NoSuchChild') throw new Error(`${manager.name}: ${reply.code}`);
    }
  }

  private leaderOnly(manager: FakeManager) {
    return [worker('ring_keeper', this.ringKeeperBehavior(manager)), worker('auth', this.authBehavior(manager)), worker('admin', this.adminBehavior(manager))];
  }

  private consensusBehavior(manager: FakeManager): Behavior<null, ConsensusMessage> {
    return {
      accepts: ['leader'],
      init: () => null,
      receive: (state, message, ctx) => {
        if (message.type !== 'leader') return state;
        this.leaderAsks++;
        const leader = this.leader === null ? undefined : this.managers[this.leader]!;
        const truth: LeaderReply = {
          ok: true,
          leader: leader?.name ?? null,
          leaderAddress: leader?.address ?? null,
          term: this.term,
          role: leader === manager ? 'leader' : 'follower',
        };
        ctx.system.reply(message.replyTo, { ...truth, ...manager.override });
        return state;
      },
    };
  }

  private ringKeeperBehavior(manager: FakeManager): Behavior<null, RingKeeperMessage> {
    return {
      accepts: ['join'],
      init: () => null,
      receive: (state, message, ctx) => {
        if (message.type !== 'join') return state;
        this.joins.push({ manager: manager.name, node: message.node });
        ctx.system.reply(message.replyTo, { ok: true, members: [{ node: manager.name, role: 'manager', address: manager.address, state: 'running', joinedAtMs: 0 }] });
        return state;
      },
    };
  }

  /** Answers `version` with the manager itself as the only node, so a test sees where a command ran. */
  private adminBehavior(manager: FakeManager): Behavior<null, AdminMessage> {
    return {
      accepts: ['admin'],
      init: () => null,
      receive: (state, message, ctx) => {
        ctx.system.reply(message.replyTo, { ok: true, result: { kind: 'versions', nodes: [{ node: manager.name, role: 'manager', version: null }] } });
        return state;
      },
    };
  }

  private authBehavior(manager: FakeManager): Behavior<null, AuthMessage> {
    return {
      accepts: ['list_buckets'],
      init: () => null,
      receive: (state, message, ctx) => {
        if (message.type !== 'list_buckets') return state;
        this.authAsks.push(manager.name);
        ctx.system.reply(message.replyTo, { ok: true, buckets: [] });
        return state;
      },
    };
  }
}
