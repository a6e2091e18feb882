/**
 * The leader's keeper of console session revocations: writes each one to the managers' replicated
 * table, so that every manager's console refuses the sessions it names once the record reaches it.
 * A later record for the same subject keeps the latest bounds. Records past their `untilMs` name no
 * live session any more and are dropped as new ones are written, so the table holds a few hours of
 * logouts at most.
 */
import type { Behavior } from '../../runtime/actor.js';
import { isSessionRevocation, revocationKey, type SessionRevocation } from '../../core/console-sessions.js';
import type { StateTable } from '../../store/node-state.js';
import type { ConsoleSessionsMessage } from '../../protocol/cluster/console-sessions.js';

/** Expired records dropped with each write, at most: a write stays small. */
const PRUNE_PER_WRITE = 32;

export interface ConsoleSessionsDeps {
  readonly revocations: StateTable<SessionRevocation>;
}

export function consoleSessionsBehavior(deps: ConsoleSessionsDeps): Behavior<null, ConsoleSessionsMessage> {
  return {
    accepts: ['revoke'],
    init: () => null,
    async receive(state, message, ctx) {
      const revocation = message.revocation as unknown;
      if (!isSessionRevocation(revocation)) {
        ctx.system.reply(message.replyTo, { ok: false, code: 'BadRevocation', message: 'a revocation names a session, user or access key, and when it holds until' });
        return state;
      }
      const key = revocationKey(revocation.kind, revocation.subject);
      const held = deps.revocations.get(key);
      const record: SessionRevocation = held === undefined ? revocation : { ...revocation, beforeMs: Math.max(held.beforeMs, revocation.beforeMs), untilMs: Math.max(held.untilMs, revocation.untilMs) };
      try {
        await deps.revocations.put(key, record);
        const nowMs = ctx.clock.now();
        const expired = deps.revocations.entries().filter(([other, entry]) => other !== key && entry.untilMs <= nowMs).slice(0, PRUNE_PER_WRITE);
        for (const [other] of expired) await deps.revocations.remove(other);
      } catch (error) {
        ctx.system.reply(message.replyTo, { ok: false, code: 'NotLeader', message: `the revocation was not confirmed by a majority of managers: ${error instanceof Error ? error.message : String(error)}` });
        return state;
      }
      ctx.log.info('console sessions revoked', { kind: record.kind, ...(record.kind === 'session' ? {} : { subject: record.subject }) });
      ctx.system.reply(message.replyTo, { ok: true });
      return state;
    },
  };
}
