/**
 * The manager's tree: /node/manager/members (member directory).
 */
import type { ClusterNode } from '../../runtime/node.js';
import { worker, type SupervisorSpec } from '../../runtime/supervisor.js';
import { membersBehavior } from './members.js';

export function managerTree(node: ClusterNode): SupervisorSpec {
  const { system, transport } = node;
  return {
    strategy: 'one_for_one',
    maxRestarts: 10,
    periodMs: 60_000,
    children: [
      worker(
        'members',
        membersBehavior({
          self: { node: system.node, role: 'manager', address: transport.address, state: 'running' },
          watchNodes: (listener) => system.onNodeEvent(listener),
        }),
      ),
    ],
  };
}
