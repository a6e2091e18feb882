/**
 * The manager's board of the alarms each node's watchdog reports: kept in memory (every watchdog
 * reports again within half a minute, so a restarted manager has them back by then) and shown by
 * `leofs-adm status`. A node that has missed three of its reports drops off the board: its alarms say
 * nothing of now (its member state tells whether it is down). A report that does not hold alarms is
 * refused with a log line.
 */
import type { Behavior } from '../../runtime/actor.js';
import { isAlarm, type AlarmBoardMessage, type NodeAlarms } from '../../protocol/cluster/watchdog.js';

/** A node reports at most this many alarms (one per kind); more is malformed. */
const MAX_ALARMS_PER_NODE = 16;
/** How often a node that does not say otherwise reports (the watchdog's default). */
const DEFAULT_REPORT_EVERY_MS = 30_000;
const MISSED_REPORTS = 3;

interface BoardEntry extends NodeAlarms {
  readonly staleAfterMs: number;
}

export function alarmBoardBehavior(): Behavior<Map<string, BoardEntry>, AlarmBoardMessage> {
  return {
    accepts: ['alarms', 'list'],
    init: () => new Map(),
    receive(board, message, ctx) {
      switch (message.type) {
        case 'alarms': {
          const alarms = message.alarms as unknown;
          if (typeof message.node !== 'string' || !Array.isArray(alarms) || alarms.length > MAX_ALARMS_PER_NODE || !alarms.every(isAlarm)) {
            ctx.log.warn('refused a malformed alarm report', { node: String(message.node) });
            return board;
          }
          const every = message.reportEveryMs;
          const reportEveryMs = typeof every === 'number' && Number.isFinite(every) && every > 0 ? Math.min(every, 24 * 3_600_000) : DEFAULT_REPORT_EVERY_MS;
          board.set(message.node, { node: message.node, alarms, reportedAtMs: ctx.clock.now(), staleAfterMs: MISSED_REPORTS * reportEveryMs });
          return board;
        }
        case 'list':
          for (const [node, entry] of board) if (ctx.clock.now() - entry.reportedAtMs > entry.staleAfterMs) board.delete(node);
          const nodes = [...board.values()].filter((entry) => entry.alarms.length > 0).map(({ staleAfterMs: _stale, ...entry }) => entry);
          ctx.system.reply(message.replyTo, { ok: true, nodes });
          return board;
      }
    },
  };
}
