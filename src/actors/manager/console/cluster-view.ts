/**
 * What the console's Cluster page shows, made from the answers of the admin commands `status` and
 * `dump_ring` (the ones leofs-adm prints): members with their role, state and address, whether each
 * holds the manager's ring, and each storage node's share of the ring to draw it as a circle.
 */
import type { AdminResult } from '../../../protocol/cluster/admin.js';
import { buildRing } from '../../../core/ring/ring.js';
import { ringShares, type RingArc } from '../../../core/ring/ring-shares.js';

type ClusterStatusResult = Extract<AdminResult, { kind: 'cluster_status' }>;
type RingResult = Extract<AdminResult, { kind: 'ring' }>;

export interface ClusterView {
  readonly settings: ClusterStatusResult['settings'];
  readonly epoch: number;
  /** The manager's ring checksum, as leofs-adm prints it (hex). */
  readonly checksum: string;
  /** Whether every running member reported the manager's ring. */
  readonly consistent: boolean;
  readonly members: ReadonlyArray<{
    readonly node: string;
    readonly role: string;
    readonly state: string;
    readonly address: string | null;
    /** The checksum the member last reported (hex); null before it has. */
    readonly ringChecksum: string | null;
    readonly ringAgrees: boolean;
    readonly alarms: readonly string[];
  }>;
  readonly ring: { readonly shares: ReadonlyArray<{ readonly node: string; readonly share: number }>; readonly arcs: readonly RingArc[] } | null;
  readonly managers: ClusterStatusResult['managers'];
  readonly rebalance: ClusterStatusResult['rebalance'] | null;
}

export function hexChecksum(checksum: number): string {
  return checksum.toString(16).padStart(8, '0');
}

export function clusterView(status: ClusterStatusResult, ring: RingResult | null): ClusterView {
  const alarms = new Map(status.alarms.map((entry) => [entry.node, entry.alarms.map((alarm) => `${alarm.name} ${alarm.level}`)]));
  const doc = ring?.doc ?? null;
  return {
    settings: status.settings,
    epoch: status.epoch,
    checksum: hexChecksum(status.checksum),
    consistent: status.consistent,
    members: status.members.map((member) => ({
      node: member.node,
      role: member.role,
      state: member.state,
      address: member.address,
      ringChecksum: member.ring === null ? null : hexChecksum(member.ring.checksum),
      ringAgrees: member.ring !== null && member.ring.checksum === status.checksum,
      alarms: alarms.get(member.node) ?? [],
    })),
    ring: doc === null ? null : ringShares(buildRing(doc.current, { rackAware: doc.settings.rackAware })),
    managers: status.managers,
    rebalance: status.rebalance ?? null,
  };
}
