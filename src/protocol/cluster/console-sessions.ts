/**
 * The contract of the leader's keeper of console session revocations: the web console's sessions are
 * tokens every manager checks on its own (core/console-sessions.ts), so ending one early (a logout, a
 * deleted user or access key) is a record in the managers' replicated state, written here and read by
 * every manager's console from its own copy.
 */
import { actorRef, type ActorRef, type ReplyTo } from '../../runtime/refs.js';
import type { SessionRevocation } from '../../core/console-sessions.js';

export const CONSOLE_SESSIONS_PATH = '/node/manager/console_sessions';
/** The replicated table of revocations, keyed by core/console-sessions.ts revocationKey. */
export const CONSOLE_REVOCATIONS_TABLE = 'console_revocations';

export type RevokeReply = { readonly ok: true } | { readonly ok: false; readonly code: 'BadRevocation' | 'NotLeader'; readonly message: string };

export type ConsoleSessionsMessage = { readonly type: 'revoke'; readonly revocation: SessionRevocation; readonly replyTo: ReplyTo<RevokeReply> };

export const consoleSessionsRef = (managerNode: string): ActorRef<ConsoleSessionsMessage> => actorRef(managerNode, CONSOLE_SESSIONS_PATH);
