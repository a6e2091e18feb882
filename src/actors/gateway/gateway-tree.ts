/**
 * The gateway's tree. Its HTTP listener and request handlers hang here.
 */
import type { SupervisorSpec } from '../../runtime/supervisor.js';

export function gatewayTree(): SupervisorSpec {
  return { strategy: 'one_for_one', maxRestarts: 10, periodMs: 60_000, children: [] };
}
