/**
 * Every node's watchdog: samples the node's vital signs at a fixed interval, holds them against the
 * thresholds (core/watchdog-rules.ts), and when an alarm goes up or down, logs it, applies what the
 * role does about it (a storage node slows its background work, refuses writes, turns read-only) and
 * tells the manager, which shows it in `leofs-adm status`. It never stops or kills anything: every
 * effect lifts by itself once the readings are back.
 *
 * The manager hears again every REPORT_EVERY_MS (or every sample, when samples are further apart) even
 * without a change, so a restarted manager learns the alarms that are up.
 */
import type { Behavior } from '../../runtime/actor.js';
import type { Logger } from '../../runtime/logger.js';
import { SelfTimer } from '../../runtime/self-timer.js';
import { evaluateAlarms, type Alarm, type WatchdogReadings, type WatchdogThresholds } from '../../core/watchdog-rules.js';
import { alarmBoardRef, thresholdProblem, type WatchdogMessage } from '../../protocol/cluster/watchdog.js';
import type { WatchdogSampler } from './watchdog-sampler.js';

const REPORT_EVERY_MS = 30_000;

export interface WatchdogDeps {
  /** Opened by each incarnation, closed when it ends. */
  readonly openSampler: () => WatchdogSampler;
  readonly thresholds: WatchdogThresholds;
  readonly intervalMs: number;
  /** What the role does about the alarms that are up (called after every sample). */
  readonly apply: (alarms: readonly Alarm[], thresholds: WatchdogThresholds) => void;
  /** The manager's node, once known. */
  readonly manager: () => string | undefined;
}

interface WatchdogState {
  readonly sampler: WatchdogSampler;
  readonly timer: SelfTimer<WatchdogMessage>;
  thresholds: WatchdogThresholds;
  readings: WatchdogReadings | null;
  alarms: readonly Alarm[];
  reportedAtMs: number;
}

export function watchdogBehavior(deps: WatchdogDeps): Behavior<WatchdogState, WatchdogMessage> {
  // Thresholds changed live (update-property) outlive a restart of the actor, not of the node.
  let thresholds = deps.thresholds;
  return {
    accepts: ['status', 'set_threshold'],
    init(ctx) {
      const sampler = deps.openSampler();
      ctx.onEnd(() => sampler.close());
      const timer = new SelfTimer<WatchdogMessage>(ctx, { type: 'sample' });
      timer.schedule(deps.intervalMs);
      return { sampler, timer, thresholds, readings: null, alarms: [], reportedAtMs: Number.NEGATIVE_INFINITY };
    },
    async receive(state, message, ctx) {
      const judge = (): void => {
        if (!state.readings) return;
        const alarms = evaluateAlarms(state.readings, state.thresholds, state.alarms, ctx.clock.now());
        const changed = logChanges(state.alarms, alarms, ctx.log);
        state.alarms = alarms;
        deps.apply(alarms, state.thresholds);
        const manager = deps.manager();
        if (manager !== undefined && (changed || ctx.clock.now() - state.reportedAtMs >= REPORT_EVERY_MS)) {
          const reportEveryMs = Math.max(REPORT_EVERY_MS, deps.intervalMs);
          ctx.system.dispatch(alarmBoardRef(manager), { type: 'alarms', node: ctx.system.node, alarms, reportEveryMs });
          state.reportedAtMs = ctx.clock.now();
        }
      };
      switch (message.type) {
        case 'sample':
          try {
            state.readings = await state.sampler.sample();
            judge();
          } finally {
            state.timer.schedule(deps.intervalMs);
          }
          return state;
        case 'status':
          ctx.system.reply(message.replyTo, { ok: true, readings: state.readings, alarms: state.alarms, thresholds: state.thresholds });
          return state;
        case 'set_threshold': {
          const value = Number(message.value);
          const problem = thresholdProblem(String(message.name), value);
          if (problem) {
            ctx.system.reply(message.replyTo, { ok: false, code: 'BadProperty', message: problem });
            return state;
          }
          thresholds = { ...state.thresholds, [message.name]: value };
          state.thresholds = thresholds;
          ctx.log.info('watchdog threshold changed', { name: message.name, value });
          // Judged again at once, so that the change shows before the next sample.
          judge();
          ctx.system.reply(message.replyTo, { ok: true, thresholds });
          return state;
        }
      }
    },
  };
}

/** Logs alarms raised, changed and cleared; says whether any did. */
function logChanges(before: readonly Alarm[], after: readonly Alarm[], log: Logger): boolean {
  let changed = false;
  for (const alarm of after) {
    const previous = before.find((earlier) => earlier.name === alarm.name);
    if (previous?.level === alarm.level) continue;
    changed = true;
    log.warn(previous ? 'alarm changed' : 'alarm raised', { alarm: alarm.name, level: alarm.level, reading: alarm.reading, threshold: alarm.threshold, detail: alarm.message });
  }
  for (const alarm of before) {
    if (after.some((later) => later.name === alarm.name)) continue;
    changed = true;
    log.info('alarm cleared', { alarm: alarm.name, level: alarm.level });
  }
  return changed;
}
