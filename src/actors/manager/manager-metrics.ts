/**
 * The manager's instruments: its part in the managers' log (leader or not, term, log positions), and,
 * on the leader, the cluster's members by role and state and whether every running member holds the
 * current ring. Read at scrape time, as `leofs-adm status` would; a follower leaves the cluster's
 * figures to the leader rather than report stale ones.
 */
import { Gauge, type Registry } from 'prom-client';
import { consensusRef, ringKeeperRef } from '../../protocol/cluster/paths.js';
import { isRuntimeFailure } from '../../runtime/failures.js';
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
      this.reset();
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
      this.reset();
      if (reply) this.set(reply.consistent ? 1 : 0);
    },
  });
  const consensus = oncePerScrape(async () => {
    const reply = await ask(system, consensusRef(system.node), { type: 'status' }, STATUS_TIMEOUT_MS);
    return isRuntimeFailure(reply) ? undefined : reply.managers.find((manager) => manager.node === system.node);
  });
  new Gauge({
    name: 'leofs_manager_leader',
    help: 'Whether this manager leads the managers (1) or follows (0).',
    registers,
    async collect() {
      const self = await consensus();
      if (self) this.set(self.role === 'leader' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'leofs_manager_log_position',
    help: "This manager's term, last log index, commit index and applied index, by kind.",
    labelNames: ['kind'],
    registers,
    async collect() {
      const self = await consensus();
      if (!self) return;
      this.set({ kind: 'term' }, self.term);
      this.set({ kind: 'last' }, self.lastIndex);
      this.set({ kind: 'committed' }, self.commitIndex);
      this.set({ kind: 'applied' }, self.appliedIndex);
    },
  });
}
