/**
 * The contract of every node's watchdog and of the manager's alarm board: what a watchdog answers, how
 * an operator changes a threshold live, and how a node tells the manager its alarms. What is measured
 * and when it alarms: core/watchdog-rules.ts.
 */
import { ALARM_LEVELS, ALARM_NAMES, WATCHDOG_THRESHOLD_NAMES, type Alarm, type WatchdogReadings, type WatchdogThresholds } from '../../core/watchdog-rules.js';
import { actorRef, type ActorRef, type ReplyTo } from '../../runtime/refs.js';

export const WATCHDOG_PATH = '/node/watchdog';
export const ALARM_BOARD_PATH = '/node/manager/alarms';

export interface WatchdogStatus {
  readonly ok: true;
  readonly readings: WatchdogReadings | null;
  readonly alarms: readonly Alarm[];
  readonly thresholds: WatchdogThresholds;
}

export type SetThresholdReply = { readonly ok: true; readonly thresholds: WatchdogThresholds } | { readonly ok: false; readonly code: 'BadProperty'; readonly message: string };

export type WatchdogMessage =
  | { readonly type: 'sample' }
  | { readonly type: 'status'; readonly replyTo: ReplyTo<WatchdogStatus> }
  | { readonly type: 'set_threshold'; readonly name: string; readonly value: number; readonly replyTo: ReplyTo<SetThresholdReply> };

export interface NodeAlarms {
  readonly node: string;
  readonly alarms: readonly Alarm[];
  /** When the manager last heard from the node's watchdog. */
  readonly reportedAtMs: number;
}

export type AlarmBoardMessage =
  /** `reportEveryMs`: the longest the node goes between two reports (its board entry lapses after three). */
  | { readonly type: 'alarms'; readonly node: string; readonly alarms: readonly Alarm[]; readonly reportEveryMs?: number }
  | { readonly type: 'list'; readonly replyTo: ReplyTo<{ readonly ok: true; readonly nodes: readonly NodeAlarms[] }> };

export const watchdogRef = (node: string): ActorRef<WatchdogMessage> => actorRef(node, WATCHDOG_PATH);
export const alarmBoardRef = (managerNode: string): ActorRef<AlarmBoardMessage> => actorRef(managerNode, ALARM_BOARD_PATH);

export function isAlarm(value: unknown): value is Alarm {
  if (typeof value !== 'object' || value === null) return false;
  const alarm = value as Partial<Alarm>;
  return (
    (ALARM_NAMES as readonly unknown[]).includes(alarm.name) &&
    (ALARM_LEVELS as readonly unknown[]).includes(alarm.level) &&
    typeof alarm.reading === 'number' &&
    typeof alarm.threshold === 'number' &&
    typeof alarm.sinceMs === 'number' &&
    typeof alarm.message === 'string'
  );
}

/** A threshold as an operator may set it live: a known name and a value in its range. */
export function thresholdProblem(name: string, value: number): string | undefined {
  if (!(WATCHDOG_THRESHOLD_NAMES as readonly string[]).includes(name)) return `unknown watchdog threshold ${name} (known: ${WATCHDOG_THRESHOLD_NAMES.join(', ')})`;
  if (!Number.isFinite(value) || value < 0) return `${name} must be a number at least 0`;
  if (name === 'throttleFactor' && (value <= 0 || value > 1)) return 'throttleFactor must be above 0 and at most 1';
  if (name.endsWith('Percent') && value > 100) return `${name} is a percentage (0 to 100)`;
  return undefined;
}
