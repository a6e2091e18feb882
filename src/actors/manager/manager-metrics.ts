/**
 * The manager's instruments: the cluster's members by role and state, and whether every running
 * member holds the current ring. Read from the ring keeper at scrape time, as `leofs-adm status` would.
 */
import { Gauge, type Registry } from 'prom-client';
import { ringKeeperRef } from '../../protocol/cluster/paths.js';
import { MEMBER_STATES, type ClusterStatus } from '../../protocol/cluster/ring-keeper.js';
import { ROLES } from '../../protocol/cluster/roles.js';
import type { ActorApi } from '../../runtime/actor.js';
import { ask } from '../../runtime/typed-ask.js';
import { oncePerScrape } from '../common/node-metrics.js';

const STATUS_TIMEOUT_MS = 1_000;

export function managerMetrics(registry: Registry, system: ActorApi): void {
  const registers = [registry];
  const status = oncePerScrape(
    (): Promise<ClusterStatus | undefined> => ask(system, ringKeeperRef(system.node), { type: 'status' }, STATUS_TIMEOUT_MS).then((reply) => (reply.ok ? reply : undefined)),
  );
  new Gauge({
    name: 'leofs_cluster_members',
    help: 'Members of the cluster by role and state, as the manager knows them.',
    labelNames: ['role', 'state'],
    registers,
    async collect() {
      const reply = await status();
      if (!reply) return;
      for (const role of ROLES) for (const state of MEMBER_STATES) this.set({ role, state }, reply.members.filter((member) => member.role === role && member.state === state).length);
    },
  });
  new Gauge({
    name: 'leofs_cluster_ring_consistent',
    help: 'Whether every running member reported the current ring (1) or not (0).',
    registers,
    async collect() {
      const reply = await status();
      if (reply) this.set(reply.consistent ? 1 : 0);
    },
  });
}
