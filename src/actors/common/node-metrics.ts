/**
 * A node's Prometheus registry: the process metrics every Node.js service exports, and what every node
 * of the cluster has whatever its role (its actors' mailboxes and crashes, its links to peers, the ring
 * epoch it holds). A role adds its own instruments to the same registry.
 *
 * Gauges that mirror state elsewhere are filled in at scrape time (`collect`), so nothing has to keep
 * them current between scrapes.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ActorSummary } from '../../protocol/cluster/node-info.js';
import type { Role } from '../../protocol/cluster/roles.js';
import type { PeerInfo } from '../../runtime/remote/transport.js';
import type { RingView } from './ring-view.js';
import { ALARM_LEVELS, ALARM_NAMES, type Alarm } from '../../core/watchdog-rules.js';

export interface NodeMetricsSources {
  readonly node: string;
  readonly role: Role;
  readonly version: string;
  readonly actors: () => readonly ActorSummary[];
  readonly peers: () => readonly PeerInfo[];
  readonly pendingAsks: () => number;
  readonly ringView: RingView;
  /** The alarms the node's watchdog holds now; undefined when it does not answer. */
  readonly alarms: () => Promise<readonly Alarm[] | undefined>;
}

/**
 * An answer that several gauges of one scrape read (an actor's status, say): asked once per scrape
 * and forgotten once the scrape's collectors have run.
 */
export function oncePerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => (pending ??= read().finally(() => setImmediate(() => (pending = undefined))));
}

export function nodeMetricsRegistry(sources: NodeMetricsSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  new Gauge({ name: 'leofs_node_info', help: 'This node: its name, role and release (always 1).', labelNames: ['node', 'role', 'version'], registers }).set(
    { node: sources.node, role: sources.role, version: sources.version },
    1,
  );
  new Gauge({
    name: 'leofs_actor_mailbox_messages',
    help: 'Messages waiting for each actor of this node.',
    labelNames: ['actor'],
    registers,
    collect() {
      this.reset();
      for (const actor of sources.actors()) this.set({ actor: actor.path }, actor.mailbox);
    },
  });
  new Counter({
    name: 'leofs_actor_restarts_total',
    help: 'Incarnations of each actor of this node that crashed (and were restarted by its supervisor).',
    labelNames: ['actor'],
    registers,
    collect() {
      this.reset();
      for (const actor of sources.actors()) this.inc({ actor: actor.path }, actor.crashes);
    },
  });
  new Gauge({
    name: 'leofs_transport_peer_up',
    help: 'Whether the cluster link to each known peer is up (1) or not (0).',
    labelNames: ['peer'],
    registers,
    collect() {
      this.reset();
      for (const peer of sources.peers()) this.set({ peer: peer.node }, peer.state === 'up' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'leofs_transport_buffered_bytes',
    help: 'Bytes queued on the links to each peer, not yet taken by the network.',
    labelNames: ['peer'],
    registers,
    collect() {
      this.reset();
      for (const peer of sources.peers()) this.set({ peer: peer.node }, peer.bufferedBytes);
    },
  });
  new Gauge({
    name: 'leofs_pending_asks',
    help: 'Requests this node sent and waits an answer for.',
    registers,
    collect() {
      this.set(sources.pendingAsks());
    },
  });
  new Gauge({
    name: 'leofs_ring_epoch',
    help: 'Epoch of the ring this node holds (0: none yet).',
    registers,
    collect() {
      this.set(sources.ringView.current?.doc.epoch ?? 0);
    },
  });
  new Gauge({
    name: 'leofs_ring_rebalancing',
    help: 'Whether the ring this node holds is between two rings (a rebalance is moving data).',
    registers,
    collect() {
      this.set(sources.ringView.current?.previous ? 1 : 0);
    },
  });
  new Gauge({
    name: 'leofs_watchdog_alarm',
    help: 'Alarms the node\'s watchdog holds (1 while up), by alarm and level: report, throttle, refuse (writes), read_only.',
    labelNames: ['alarm', 'level'],
    registers,
    async collect() {
      const alarms = await sources.alarms();
      if (!alarms) return;
      this.reset();
      for (const name of ALARM_NAMES) {
        const alarm = alarms.find((raised) => raised.name === name);
        for (const level of ALARM_LEVELS) this.set({ alarm: name, level }, alarm?.level === level ? 1 : 0);
      }
    },
  });
  return registry;
}
