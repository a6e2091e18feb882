import { expect } from 'chai';
import { ManualClock } from '../../../src/runtime/clock.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { ThrottledLog } from '../../../src/runtime/throttled-log.js';

describe('runtime/throttled-log', () => {
  const SUMMARY = 'more lines suppressed';

  function setUp(): { clock: ManualClock; log: ThrottledLog; lines: Array<Record<string, unknown>> } {
    const clock = new ManualClock();
    const { logger, lines } = memoryLogger('debug');
    return { clock, lines, log: new ThrottledLog(logger, clock, { maxLines: 3, intervalMs: 10_000, summary: SUMMARY }) };
  }

  it('writes the first lines of an interval, then one summary with the count of the rest when the interval ends', () => {
    const { clock, log, lines } = setUp();
    for (let i = 0; i < 1000; i++) log.warn('refused', { n: i });
    expect(lines.map((line) => line.n)).to.deep.equal([0, 1, 2]);
    expect(lines.every((line) => line.level === 'warn')).to.equal(true);
    clock.advance(9_999);
    expect(lines).to.have.length(3);
    clock.advance(1);
    expect(lines).to.have.length(4);
    expect(lines[3]).to.include({ msg: SUMMARY, suppressed: 997, intervalMs: 10_000 });
  });

  it('starts a new allowance in the next interval, and writes no summary when nothing was left out', () => {
    const { clock, log, lines } = setUp();
    log.info('a');
    log.info('b');
    clock.advance(60_000);
    expect(lines.map((line) => line.msg)).to.deep.equal(['a', 'b']);
    for (let i = 0; i < 5; i++) log.warn('c');
    clock.advance(5_000);
    for (let i = 0; i < 5; i++) log.warn('d');
    clock.advance(5_000);
    expect(lines.map((line) => line.msg)).to.deep.equal(['a', 'b', 'c', 'c', 'c', SUMMARY]);
    expect(lines[5]).to.include({ suppressed: 7 });
    log.warn('e');
    expect(lines.at(-1)).to.include({ msg: 'e' });
  });

  it('reports what it left out at once when flushed, and only once', () => {
    const { clock, log, lines } = setUp();
    for (let i = 0; i < 10; i++) log.warn('x');
    log.flush();
    expect(lines.at(-1)).to.include({ msg: SUMMARY, suppressed: 7 });
    log.flush();
    clock.advance(20_000);
    expect(lines.filter((line) => line.msg === SUMMARY)).to.have.length(1);
    expect(clock.pendingTimers).to.equal(0);
  });
});
