/** Admin commands from a benchmark, through the project's admin client. */
import { openAdminClient, type AdminClient } from '../../src/cli/admin-client.js';
import { readCookieFile } from '../../src/cli/cookie.js';
import type { AdminCommand, AdminResult } from '../../src/protocol/cluster/admin.js';
import type { DevCluster } from './dev-cluster.js';
import type { Teardown } from './teardown.js';

/** An admin client of a benchmark's `leofs dev`, with its cookie file, closed with the run however it ends. */
export async function openDevAdmin(cluster: DevCluster, teardown: Teardown, timeoutMs: number): Promise<AdminClient> {
  const cookie = readCookieFile(cluster.cookieFile);
  if (!cookie.ok) throw new Error(cookie.problem);
  const client = await openAdminClient({ manager: cluster.managerAddress, cookie: cookie.cookie, timeoutMs });
  teardown.add({ orderly: () => client.close(), lastResort: () => {} });
  return client;
}

/** Runs an admin command and answers its result, which must be of kind `kind`. */
export async function admin<K extends AdminResult['kind']>(client: AdminClient, command: AdminCommand, kind: K): Promise<Extract<AdminResult, { kind: K }>> {
  const reply = await client.run(command);
  if (!reply.ok) throw new Error(`admin ${command.command}: ${reply.message} (${reply.code})`);
  if (reply.result.kind !== kind) throw new Error(`admin ${command.command}: expected a ${kind} result, got ${reply.result.kind}`);
  return reply.result as Extract<AdminResult, { kind: K }>;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
