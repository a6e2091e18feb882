/**
 * Which alarms a node's readings raise against its thresholds, with hysteresis: an alarm goes up the
 * moment a reading crosses its threshold, and comes down only once the reading is back well inside
 * (under 80% of a ceiling, above 125% of a floor), so a reading that hovers at a threshold does not
 * turn throttling and write refusal on and off every few seconds.
 */
/** One sample of a node's vital signs; readings a role does not have are absent. */
export interface WatchdogReadings {
  /** CPU time of this process over the last interval, as a percentage of one core. */
  readonly cpuPercent: number;
  readonly rssBytes: number;
  /** 99th percentile of the event loop's delay over the last interval. */
  readonly eventLoopDelayMs: number;
  /** Free and total bytes of the file system holding the node's data. */
  readonly diskFreeBytes?: number;
  readonly diskTotalBytes?: number;
  /** Items waiting in the node's durable queues. */
  readonly queueItems?: number;
  /** The node's own failures over the last minute: a gateway's 5xx answers, a storage node's writes that failed their quorum. */
  readonly errorsPerMinute: number;
  /**
   * Requests clients made of a storage node over the last two intervals: the reads and writes it
   * coordinated or took part in as a replica, and the listings it answered.
   */
  readonly clientRequests?: number;
}

export interface WatchdogThresholds {
  readonly cpuThrottlePercent: number;
  readonly memoryThrottleBytes: number;
  /** Past this a storage node refuses new writes (SlowDown) until it is back under 80% of it. */
  readonly memoryRefuseBytes: number;
  readonly eventLoopThrottleMs: number;
  readonly eventLoopRefuseMs: number;
  readonly diskThrottleFreePercent: number;
  /** A storage node turns read-only while its disk has less free space than this. */
  readonly diskReadOnlyFreeBytes: number;
  readonly queueAlarmItems: number;
  readonly errorsThrottlePerMinute: number;
  /** Background work runs at this share of its pace while a throttling alarm is up (0 < x <= 1). */
  readonly throttleFactor: number;
}

export const DEFAULT_WATCHDOG_THRESHOLDS: WatchdogThresholds = {
  cpuThrottlePercent: 90,
  memoryThrottleBytes: 1536 * 1024 * 1024,
  memoryRefuseBytes: 3 * 1024 * 1024 * 1024,
  eventLoopThrottleMs: 200,
  eventLoopRefuseMs: 2_000,
  diskThrottleFreePercent: 10,
  diskReadOnlyFreeBytes: 512 * 1024 * 1024,
  queueAlarmItems: 100_000,
  errorsThrottlePerMinute: 600,
  throttleFactor: 0.25,
};

export const WATCHDOG_THRESHOLD_NAMES = Object.keys(DEFAULT_WATCHDOG_THRESHOLDS) as ReadonlyArray<keyof WatchdogThresholds>;

export const ALARM_NAMES = ['cpu', 'memory', 'event_loop', 'disk', 'queue', 'errors'] as const;
export type AlarmName = (typeof ALARM_NAMES)[number];

/**
 * What an alarm does: `report` only tells; `throttle` also slows background work; `refuse` (memory,
 * event loop) also has a storage node refuse new writes with SlowDown; `read_only` (disk) has it refuse
 * writes that add data.
 */
export const ALARM_LEVELS = ['report', 'throttle', 'refuse', 'read_only'] as const;
export type AlarmLevel = (typeof ALARM_LEVELS)[number];

export interface Alarm {
  readonly name: AlarmName;
  readonly level: AlarmLevel;
  readonly reading: number;
  readonly threshold: number;
  readonly sinceMs: number;
  readonly message: string;
}


const CEILING_CLEAR = 0.8;
const FLOOR_CLEAR = 1.25;

/** A threshold a reading is held against; `floor` ones (free disk) alarm when the reading is below. */
interface Limit {
  readonly level: AlarmLevel;
  readonly threshold: number;
  readonly floor?: boolean;
}

interface Check {
  readonly name: AlarmName;
  readonly reading: number | undefined;
  readonly unit: string;
  /** Strongest first. */
  readonly limits: readonly Limit[];
}

export function evaluateAlarms(readings: WatchdogReadings, thresholds: WatchdogThresholds, previous: readonly Alarm[], nowMs: number): Alarm[] {
  const diskFreePercent = readings.diskFreeBytes !== undefined && readings.diskTotalBytes ? (readings.diskFreeBytes / readings.diskTotalBytes) * 100 : undefined;
  const checks: Check[] = [
    { name: 'cpu', reading: readings.cpuPercent, unit: '% of a core', limits: [{ level: 'throttle', threshold: thresholds.cpuThrottlePercent }] },
    {
      name: 'memory',
      reading: readings.rssBytes,
      unit: ' bytes resident',
      limits: [
        { level: 'refuse', threshold: thresholds.memoryRefuseBytes },
        { level: 'throttle', threshold: thresholds.memoryThrottleBytes },
      ],
    },
    {
      name: 'event_loop',
      reading: readings.eventLoopDelayMs,
      unit: ' ms event-loop delay (p99)',
      limits: [
        { level: 'refuse', threshold: thresholds.eventLoopRefuseMs },
        { level: 'throttle', threshold: thresholds.eventLoopThrottleMs },
      ],
    },
    { name: 'queue', reading: readings.queueItems, unit: ' queued items', limits: [{ level: 'report', threshold: thresholds.queueAlarmItems }] },
    { name: 'errors', reading: readings.errorsPerMinute, unit: ' errors a minute', limits: [{ level: 'throttle', threshold: thresholds.errorsThrottlePerMinute }] },
  ];
  const alarms: Alarm[] = [];
  // A CPU alarm that only told (below) is still a throttling one for its hysteresis.
  const underlying = previous.map((alarm) => (alarm.name === 'cpu' && alarm.level === 'report' ? { ...alarm, level: 'throttle' as const } : alarm));
  for (const check of checks) {
    const alarm = judge(check, underlying, nowMs);
    if (!alarm) continue;
    // Slowing background work gives the CPU back to clients. In a sample with none, the CPU is the
    // background work's own and slowing it would only drag it out: the alarm then just tells.
    const judged = alarm.name === 'cpu' && readings.clientRequests === 0 ? { ...alarm, level: 'report' as const, message: `${alarm.message}, with no client requests` } : alarm;
    // Like any alarm's, its time is that of its level.
    const before = previous.find((earlier) => earlier.name === judged.name);
    alarms.push(before && before.level !== judged.level ? { ...judged, sinceMs: nowMs } : judged);
  }
  // Free disk has two floors in different units: bytes for read-only, a share of the disk for throttling.
  const disk =
    judge({ name: 'disk', reading: readings.diskFreeBytes, unit: ' bytes free', limits: [{ level: 'read_only', threshold: thresholds.diskReadOnlyFreeBytes, floor: true }] }, previous, nowMs) ??
    judge({ name: 'disk', reading: diskFreePercent, unit: '% of the disk free', limits: [{ level: 'throttle', threshold: thresholds.diskThrottleFreePercent, floor: true }] }, previous, nowMs);
  if (disk) alarms.push(disk);
  return alarms;
}

function judge(check: Check, previous: readonly Alarm[], nowMs: number): Alarm | undefined {
  if (check.reading === undefined) return undefined;
  const reading = check.reading;
  const before = previous.find((alarm) => alarm.name === check.name);
  for (const limit of check.limits) {
    const crossed = limit.floor ? reading < limit.threshold : reading > limit.threshold;
    // An alarm already at this level (or above it) holds until the reading is back well inside.
    const held = before !== undefined && rank(before.level) >= rank(limit.level) && (limit.floor ? reading < limit.threshold * FLOOR_CLEAR : reading > limit.threshold * CEILING_CLEAR);
    if (!crossed && !held) continue;
    const sinceMs = before && before.level === limit.level ? before.sinceMs : nowMs;
    const comparison = limit.floor ? 'below' : 'above';
    return {
      name: check.name,
      level: limit.level,
      reading,
      threshold: limit.threshold,
      sinceMs,
      message: `${round(reading)}${check.unit}, ${crossed ? comparison : `not yet back from ${comparison}`} ${round(limit.threshold)}`,
    };
  }
  return undefined;
}

const RANKS: Readonly<Record<AlarmLevel, number>> = { report: 0, throttle: 1, refuse: 2, read_only: 2 };

function rank(level: AlarmLevel): number {
  return RANKS[level];
}

function round(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** Whether background work should slow down: any alarm above `report`. */
export function throttles(alarms: readonly Alarm[]): boolean {
  return alarms.some((alarm) => alarm.level !== 'report');
}
