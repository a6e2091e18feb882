/** A manager of a test: waiting until it leads, and joining storage nodes to it. */
import type { ActorApi } from '../../src/runtime/actor.js';
import { consensusRef, ringKeeperRef } from '../../src/protocol/cluster/paths.js';
import type { JoinReply, RingKeeperMessage } from '../../src/protocol/cluster/ring-keeper.js';
import { ask } from '../../src/runtime/typed-ask.js';
import { eventually } from './eventually.js';
import { isRuntimeFailure } from '../../src/runtime/failures.js';
import { actorRef } from '../../src/runtime/refs.js';
import type { SupervisorMessage, ChildInfo } from '../../src/runtime/supervisor.js';

/** Waits until a manager leads and runs its duties (they start once it is elected). */
export async function managerReady(system: ActorApi, manager: string, timeoutMs = 10_000): Promise<void> {
  await eventually(async () => {
    const leader = await ask(system, consensusRef(manager), { type: 'leader' }, 1_000);
    if (isRuntimeFailure(leader) || leader.role !== 'leader') return false;
    const children = await system.ask<SupervisorMessage, readonly ChildInfo[]>(actorRef(manager, '/node/manager'), (replyTo) => ({ type: 'which_children', replyTo }), 1_000);
    return !isRuntimeFailure(children) && children.some((child) => child.name === 'admin');
  }, timeoutMs, `${manager} leading with its duties started`);
}

/**
 * Joins `nodes` to the manager as storage nodes named storage_0, storage_1, ... (32 vnodes each), so that
 * an admin `start` can make the ring of them.
 */
export async function joinStorageNodes(system: ActorApi, manager: string, nodes: ReadonlyArray<{ readonly name: string; readonly address: string }>): Promise<void> {
  for (const [i, node] of nodes.entries()) {
    const joined = await system.ask<RingKeeperMessage, JoinReply>(
      ringKeeperRef(manager),
      (replyTo) => ({ type: 'join', node: node.name, role: 'storage', address: node.address, storage: { numOfVnodes: 32, alias: `storage_${i}` }, replyTo }),
      5_000,
    );
    if (isRuntimeFailure(joined) || !joined.ok) throw new Error(`${node.name} did not join ${manager}: ${JSON.stringify(joined)}`);
  }
}
