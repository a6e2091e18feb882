/** Waits until a manager leads and runs its duties (they start once it is elected). */
import type { ActorApi } from '../../src/runtime/actor.js';
import { consensusRef } from '../../src/protocol/cluster/paths.js';
import { ask } from '../../src/runtime/typed-ask.js';
import { eventually } from './eventually.js';
import { isRuntimeFailure } from '../../src/runtime/failures.js';
import { actorRef } from '../../src/runtime/refs.js';
import type { SupervisorMessage, ChildInfo } from '../../src/runtime/supervisor.js';

export async function managerReady(system: ActorApi, manager: string, timeoutMs = 10_000): Promise<void> {
  await eventually(async () => {
    const leader = await ask(system, consensusRef(manager), { type: 'leader' }, 1_000);
    if (isRuntimeFailure(leader) || leader.role !== 'leader') return false;
    const children = await system.ask<SupervisorMessage, readonly ChildInfo[]>(actorRef(manager, '/node/manager'), (replyTo) => ({ type: 'which_children', replyTo }), 1_000);
    return !isRuntimeFailure(children) && children.some((child) => child.name === 'admin');
  }, timeoutMs, `${manager} leading with its duties started`);
}
