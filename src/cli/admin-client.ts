/**
 * A connection to a manager's admin actor, for `leofs-adm`, `leofs shell` and `leofs dev`: this process
 * joins the cluster transport as a dial-only node (no port of its own), proves the cluster cookie in
 * the handshake, which is what authorizes administration, and asks the admin actor. The shell also
 * talks to other nodes through the same node.
 */
import { randomBytes } from 'node:crypto';
import { adminRef } from '../protocol/cluster/paths.js';
import type { AdminCommand, AdminReply } from '../protocol/cluster/admin.js';
import type { RuntimeFailure } from '../runtime/failures.js';
import { createLogger, type Logger } from '../runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../runtime/node.js';
import { HandshakeRefused, type TlsOptions } from '../runtime/remote/transport.js';
import { ask } from '../runtime/typed-ask.js';

export interface AdminClientOptions {
  /** host:port of the manager's cluster port. */
  readonly manager: string;
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
  /** The manager's node name, as it proved in the handshake. */
  readonly managerNode: string;
  /** The node this process joined the cluster as. */
  readonly node: ClusterNode;
  run(command: AdminCommand): Promise<AdminReply | RuntimeFailure>;
  close(): Promise<void>;
}

export class ManagerUnreachable extends Error {
  override readonly name = 'ManagerUnreachable';
}

/** The manager answered but refused the cookie this client proved. */
export class CookieRefused extends Error {
  override readonly name = 'CookieRefused';
}

export async function openAdminClient(options: AdminClientOptions): Promise<AdminClient> {
  const name = `${options.namePrefix ?? 'adm'}_${process.pid}_${randomBytes(3).toString('hex')}@127.0.0.1`;
  const logger = options.logger ?? createLogger({ level: 'error', sink: () => {} });
  const node: ClusterNode = await startClusterNode({ node: name, cookie: options.cookie, logger, ...(options.tls ? { tls: options.tls } : {}) });
  let managerNode: string;
  try {
    managerNode = await node.transport.connect(options.manager);
  } catch (error) {
    await node.stop();
    if (error instanceof HandshakeRefused) {
      throw new CookieRefused(`the manager at ${options.manager} refused the cluster cookie; check --cookie or LEOFS_COOKIE`);
    }
    throw new ManagerUnreachable(`cannot reach the manager at ${options.manager}: ${(error as Error).message}`);
  }
  return {
    managerNode,
    node,
    run: (command) => ask(node.system, adminRef(managerNode), { type: 'admin', command }, options.timeoutMs),
    close: () => node.stop(),
  };
}
