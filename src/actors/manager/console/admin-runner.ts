/**
 * How the console runs an admin command: on the admin actor of whichever manager leads, exactly as
 * leofs-adm does, so the console has no path of its own into the manager's state. A console served by
 * a manager that does not lead asks its own consensus actor who does.
 */
import type { ActorApi } from '../../../runtime/actor.js';
import { isRuntimeFailure, type RuntimeFailure } from '../../../runtime/failures.js';
import { ask } from '../../../runtime/typed-ask.js';
import type { AdminCommand, AdminReply } from '../../../protocol/cluster/admin.js';
import { adminRef, consensusRef } from '../../../protocol/cluster/paths.js';

export type AdminRunner = (command: AdminCommand) => Promise<AdminReply | RuntimeFailure>;

const LEADER_ASK_TIMEOUT_MS = 2_000;

export function leaderAdminRunner(system: ActorApi, timeoutMs: number): AdminRunner {
  return async (command) => {
    const leader = await ask(system, consensusRef(system.node), { type: 'leader' }, LEADER_ASK_TIMEOUT_MS);
    if (isRuntimeFailure(leader)) return leader;
    if (leader.leader === null) return { ok: false, code: 'NoLeader', message: 'no manager leads right now (a majority of managers must be up); try again in a moment' };
    return ask(system, adminRef(leader.leader), { type: 'admin', command }, timeoutMs);
  };
}
