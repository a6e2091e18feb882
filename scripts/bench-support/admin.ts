/** Admin commands from a benchmark, through the project's admin client. */
import type { AdminClient } from '../../src/cli/admin-client.js';
import type { AdminCommand, AdminResult } from '../../src/protocol/cluster/admin.js';

/** Runs an admin command and answers its result, which must be of kind `kind`. */
export async function admin<K extends AdminResult['kind']>(client: AdminClient, command: AdminCommand, kind: K): Promise<Extract<AdminResult, { kind: K }>> {
  const reply = await client.run(command);
  if (!reply.ok) throw new Error(`admin ${command.command}: ${reply.message} (${reply.code})`);
  if (reply.result.kind !== kind) throw new Error(`admin ${command.command}: expected a ${kind} result, got ${reply.result.kind}`);
  return reply.result as Extract<AdminResult, { kind: K }>;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
