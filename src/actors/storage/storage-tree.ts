/**
 * The storage node's tree. Its workers (vnodes, replicator, recoverer, queues) hang here.
 */
import type { SupervisorSpec } from '../../runtime/supervisor.js';

export function storageTree(): SupervisorSpec {
  return { strategy: 'one_for_one', maxRestarts: 10, periodMs: 60_000, children: [] };
}
