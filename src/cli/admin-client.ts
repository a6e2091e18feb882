/**
 * A connection to the admin actor of the managers' leader, for `leofs-adm`, `leofs shell` and `leofs
 * dev`: this process joins the cluster transport as a dial-only node (no port of its own), proves the
 * cluster cookie in the handshake, which is what authorizes administration, finds the leader among the
 * managers it was given and asks its admin actor. The shell also talks to other nodes through the same
 * node.
 */
import { randomBytes } from 'node:crypto';
import { ManagerLink, NoLeader } from '../actors/common/manager-link.js';
import { adminRef } from '../protocol/cluster/paths.js';
import type { AdminCommand, AdminMessage, AdminReply } from '../protocol/cluster/admin.js';
import type { RuntimeFailure } from '../runtime/failures.js';
import { createLogger, type Logger } from '../runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../runtime/node.js';
import { HandshakeRefused, type TlsOptions } from '../runtime/remote/transport.js';
import { parseManagerAddresses } from './manager-addresses.js';

/** Limit on each manager's answer to who leads, the dial included: a remote cluster port with TLS may take a moment. */
const MAX_PROBE_TIMEOUT_MS = 10_000;
/** How long a command waits for managers that answer to elect a leader. */
const MAX_ELECTION_WAIT_MS = 10_000;

export interface AdminClientOptions {
  /** host:port of the managers' cluster ports: one, several comma-separated, or a list. Commands run on whichever leads. */
  readonly manager: string | readonly string[];
  readonly cookie: string;
  /** Limit on each command, including the time the manager spends asking other nodes. */
  readonly timeoutMs: number;
  readonly logger?: Logger;
  /** The cluster port's TLS (the CA its certificates chain to); absent for plain WebSocket. */
  readonly tls?: TlsOptions;
  /** The first part of this process's node name (default adm). */
  readonly namePrefix?: string;
}

export interface AdminClient {
  /**
   * The leader's node name, as it proved in the handshake: where commands run. Another manager's once
   * a command has found that the leadership moved.
   */
  readonly managerNode: string;
  /** The node this process joined the cluster as. */
  readonly node: ClusterNode;
  /** Runs a command on the leader; where it no longer leads or is gone, finds the new one and runs it there. */
  run(command: AdminCommand): Promise<AdminReply | RuntimeFailure>;
  close(): Promise<void>;
}

/**
 * Commands that change nothing (or set what is already set), sent again to a new leader when the old
 * one went down before answering; any other is answered with that failure, since it may have been made.
 */
const REPEATABLE_COMMANDS: ReadonlySet<AdminCommand['command']> = new Set([
  'status', 'whereis', 'get_users', 'get_access_keys', 'get_buckets', 'get_bucket', 'get_endpoints', 'bucket_stats', 'delete_bucket_stats', 'lifecycle_status', 'lifecycle_explain',
  'du', 'dump_ring', 'version', 'backup_manager', 'rebalance_status', 'mq_stats', 'actors', 'recovery_status', 'update_log_level', 'update_property', 'purge_cache',
  'cluster_status',
]);

export class ManagerUnreachable extends Error {
  override readonly name = 'ManagerUnreachable';
}

/** The manager answered but refused the cookie this client proved. */
export class CookieRefused extends Error {
  override readonly name = 'CookieRefused';
}

export async function openAdminClient(options: AdminClientOptions): Promise<AdminClient> {
  const parsed = parseManagerAddresses(options.manager, 'manager');
  if (!parsed.ok) throw new Error(parsed.problem);
  const name = `${options.namePrefix ?? 'adm'}_${process.pid}_${randomBytes(3).toString('hex')}@127.0.0.1`;
  const logger = options.logger ?? createLogger({ level: 'error', sink: () => {} });
  const node: ClusterNode = await startClusterNode({ node: name, cookie: options.cookie, logger, ...(options.tls ? { tls: options.tls } : {}) });
  const link = new ManagerLink({
    addresses: parsed.addresses,
    connect: (address) => node.transport.connect(address),
    api: node.system,
    clock: node.clock,
    probeTimeoutMs: Math.min(options.timeoutMs, MAX_PROBE_TIMEOUT_MS),
  });
  let leader: string;
  try {
    leader = await link.awaitLeader(Math.min(options.timeoutMs, MAX_ELECTION_WAIT_MS));
  } catch (error) {
    await node.stop();
    throw error instanceof NoLeader ? connectionProblem(error) : error;
  }
  return {
    get managerNode() {
      return leader;
    },
    node,
    run: async (command) => {
      const reply = await link.askLeader<AdminMessage, 'admin'>(adminRef, { type: 'admin', command }, options.timeoutMs, REPEATABLE_COMMANDS.has(command.command));
      leader = link.known ?? leader;
      return reply;
    },
    close: () => node.stop(),
  };
}

/** Why no manager could be asked, as the admin tools report it: a refused cookie first, since it is the operator's to fix. */
function connectionProblem(error: NoLeader): CookieRefused | ManagerUnreachable {
  const addresses = error.probes.map((probe) => probe.address);
  const refused = error.probes.filter((probe) => probe.error instanceof HandshakeRefused).map((probe) => probe.address);
  if (refused.length > 0) {
    const which = refused.length === 1 ? `the manager at ${refused[0]}` : `the managers at ${refused.join(', ')}`;
    return new CookieRefused(`${which} refused the cluster cookie; check --cookie or LEOFS_COOKIE`);
  }
  const only = error.probes.length === 1 ? error.probes[0] : undefined;
  if (only?.error !== undefined) return new ManagerUnreachable(`cannot reach the manager at ${only.address}: ${only.error.message}`);
  return new ManagerUnreachable(`cannot reach the manager${addresses.length === 1 ? '' : 's'} at ${addresses.join(', ')}: ${error.message}`);
}
