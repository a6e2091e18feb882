/**
 * Brings up one cluster node: its clock, logger, actor system and transport, wired together. The role's
 * supervision tree is started by the caller; this module knows nothing of roles.
 */
import { systemClock, type Clock } from './clock.js';
import { createLogger, type Logger, type LogLevel } from './logger.js';
import type { LinkRealms } from './remote/link-realms.js';
import { ClusterTransport, type TlsOptions, type TransportLimits } from './remote/transport.js';
import { ActorSystem, type SystemLimits } from './system.js';

export interface ClusterNodeOptions {
  readonly node: string;
  readonly cookie: string;
  /** Absent for a node that only dials out. */
  readonly listen?: { readonly host: string; readonly port: number };
  readonly tls?: TlsOptions;
  /** Linked clusters, for a node that takes part in multi-cluster replication. */
  readonly realms?: LinkRealms;
  readonly logLevel?: LogLevel;
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly transportLimits?: Partial<TransportLimits>;
  readonly systemLimits?: Partial<SystemLimits>;
}

export interface ClusterNode {
  readonly system: ActorSystem;
  readonly transport: ClusterTransport;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Stops the actor tree in order, then the transport. */
  stop(): Promise<void>;
}

export async function startClusterNode(options: ClusterNodeOptions): Promise<ClusterNode> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: options.logLevel ?? 'info', bindings: { node: options.node } });
  const system = new ActorSystem({ node: options.node, clock, logger, ...(options.systemLimits ? { limits: options.systemLimits } : {}) });
  const transport = new ClusterTransport({
    node: options.node,
    cookie: options.cookie,
    clock,
    logger,
    ...(options.listen ? { listen: options.listen } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.realms ? { realms: options.realms } : {}),
    ...(options.transportLimits ? { limits: options.transportLimits } : {}),
  });
  system.attachRemote(transport);
  await transport.start(system);
  let stopping: Promise<void> | undefined;
  return {
    system,
    transport,
    logger,
    clock,
    stop: () => {
      stopping ??= (async () => {
        await system.stop();
        await transport.close();
      })();
      return stopping;
    },
  };
}
