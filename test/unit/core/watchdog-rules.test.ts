import { expect } from 'chai';
import { DEFAULT_WATCHDOG_THRESHOLDS, evaluateAlarms, throttles, type Alarm, type WatchdogReadings } from '../../../src/core/watchdog-rules.js';

const CALM: WatchdogReadings = { cpuPercent: 5, rssBytes: 100e6, eventLoopDelayMs: 1, diskFreeBytes: 50e9, diskTotalBytes: 100e9, queueItems: 0, errorsPerMinute: 0 };
const T = DEFAULT_WATCHDOG_THRESHOLDS;
const levels = (alarms: readonly Alarm[]) => Object.fromEntries(alarms.map((alarm) => [alarm.name, alarm.level]));

describe('core/watchdog-rules', () => {
  it('raises nothing on calm readings, and skips readings a role does not have', () => {
    expect(evaluateAlarms(CALM, T, [], 0)).to.deep.equal([]);
    const { diskFreeBytes: _f, diskTotalBytes: _t, queueItems: _q, ...noDisk } = CALM;
    expect(evaluateAlarms({ ...noDisk, cpuPercent: 99 }, T, [], 0).map((alarm) => alarm.name)).to.deep.equal(['cpu']);
  });

  it('takes the strongest level a reading crosses', () => {
    expect(levels(evaluateAlarms({ ...CALM, eventLoopDelayMs: 300, rssBytes: 4e9 }, T, [], 0))).to.deep.equal({ event_loop: 'throttle', memory: 'refuse' });
    expect(levels(evaluateAlarms({ ...CALM, diskFreeBytes: 100e6 }, T, [], 0))).to.deep.equal({ disk: 'read_only' });
    expect(levels(evaluateAlarms({ ...CALM, diskFreeBytes: 5e9 }, T, [], 0))).to.deep.equal({ disk: 'throttle' });
    expect(levels(evaluateAlarms({ ...CALM, queueItems: 1e6 }, T, [], 0))).to.deep.equal({ queue: 'report' });
  });

  it('holds an alarm until the reading is back well inside, keeping when it began', () => {
    const raised = evaluateAlarms({ ...CALM, cpuPercent: 95 }, T, [], 1_000);
    const hovering = evaluateAlarms({ ...CALM, cpuPercent: 80 }, T, raised, 2_000);
    expect(hovering).to.have.length(1);
    expect(hovering[0]).to.include({ level: 'throttle', sinceMs: 1_000 });
    expect(hovering[0]!.message).to.match(/not yet back/);
    expect(evaluateAlarms({ ...CALM, cpuPercent: 70 }, T, hovering, 3_000)).to.deep.equal([]);
    // A floor clears only well above it: read-only holds at 600 MB free, lifts at 700 MB.
    const full = evaluateAlarms({ ...CALM, diskFreeBytes: 500e6 }, T, [], 0);
    expect(levels(evaluateAlarms({ ...CALM, diskFreeBytes: 600e6 }, T, full, 1))).to.deep.equal({ disk: 'read_only' });
    expect(levels(evaluateAlarms({ ...CALM, diskFreeBytes: 700e6 }, T, full, 1))).to.deep.equal({ disk: 'throttle' });
  });

  it('steps a refusal down to throttling before clearing it', () => {
    const refusing = evaluateAlarms({ ...CALM, eventLoopDelayMs: 5_000 }, T, [], 0);
    expect(levels(evaluateAlarms({ ...CALM, eventLoopDelayMs: 1_000 }, T, refusing, 1))).to.deep.equal({ event_loop: 'throttle' });
    expect(throttles(refusing)).to.equal(true);
    expect(throttles(evaluateAlarms({ ...CALM, queueItems: 1e6 }, T, [], 0))).to.equal(false);
  });

  it('has a CPU alarm of a storage node serving no client only tell, and throttle once clients come', () => {
    const idle = evaluateAlarms({ ...CALM, cpuPercent: 95, clientRequests: 0 }, T, [], 1_000);
    expect(levels(idle)).to.deep.equal({ cpu: 'report' });
    expect(idle[0]!.message).to.match(/with no client requests/);
    expect(throttles(idle)).to.equal(false);
    // Clients arrive while the reading is still not back well inside: it throttles, from now.
    const served = evaluateAlarms({ ...CALM, cpuPercent: 85, clientRequests: 40 }, T, idle, 2_000);
    expect(served).to.have.length(1);
    expect(served[0]).to.include({ level: 'throttle', sinceMs: 2_000 });
    expect(evaluateAlarms({ ...CALM, cpuPercent: 95, clientRequests: 1 }, T, served, 2_500)[0]).to.include({ level: 'throttle', sinceMs: 2_000 });
    expect(throttles(served)).to.equal(true);
    // They leave while it hovers: it only tells again, and clears once the reading is back.
    const left = evaluateAlarms({ ...CALM, cpuPercent: 80, clientRequests: 0 }, T, served, 3_000);
    expect(levels(left)).to.deep.equal({ cpu: 'report' });
    expect(evaluateAlarms({ ...CALM, cpuPercent: 70, clientRequests: 3 }, T, left, 4_000)).to.deep.equal([]);
    // The other alarms throttle whether or not clients are served.
    expect(levels(evaluateAlarms({ ...CALM, eventLoopDelayMs: 300, clientRequests: 0 }, T, [], 0))).to.deep.equal({ event_loop: 'throttle' });
  });
});
