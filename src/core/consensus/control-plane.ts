/**
 * Whether a manager heeds another: both must be listed managers of the same cluster and the same
 * generation of its control plane. A generation begins at creation and at every restore from a backup,
 * so managers still holding state from before a restore cannot mix their log into the restored one.
 */
import type { ControlPlaneId } from './raft-messages.js';

/** Why `from` (claiming control plane `id`) is not heeded, `malformed` for an id that is not one, or undefined when it is. */
export function refusalOf(input: { readonly voters: readonly string[]; readonly own: ControlPlaneId | null; readonly from: string; readonly id: unknown }): string | undefined {
  const { voters, own, from, id } = input;
  if (!voters.includes(from)) return `${from} is not in this manager's list of managers (${voters.join(', ')})`;
  if (!isControlPlaneId(id)) return 'malformed';
  if (own === null) return undefined;
  if (id.clusterId !== own.clusterId) {
    return `manager ${from} belongs to cluster ${id.clusterId}, this manager to cluster ${own.clusterId}; one of them was started with the wrong data directory or managers list`;
  }
  if (id.epoch !== own.epoch) {
    return `manager ${from} holds control plane state of another generation (${id.epoch}, this one ${own.epoch}): after a restore from backup or a manager started alone, managers with older state must be emptied before they rejoin`;
  }
  return undefined;
}

export function isControlPlaneId(value: unknown): value is ControlPlaneId {
  const id = value as Partial<ControlPlaneId> | null;
  return typeof id === 'object' && id !== null && typeof id.clusterId === 'string' && typeof id.epoch === 'string' && id.clusterId !== '' && id.epoch !== '';
}
