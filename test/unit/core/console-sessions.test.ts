import { expect } from 'chai';
import { csrfMatches, LoginThrottle, SessionTable } from '../../../src/core/console-sessions.js';

const LIMITS = { idleMs: 30 * 60_000, maxAgeMs: 2 * 3_600_000, maxSessions: 3 };

function table(limits = LIMITS): { sessions: SessionTable; advance: (ms: number) => void } {
  let nowMs = 1_700_000_000_000;
  let counter = 0;
  const sessions = new SessionTable(() => nowMs, () => `token-${++counter}`, limits);
  return { sessions, advance: (ms) => void (nowMs += ms) };
}

describe('web console sessions', () => {
  it('knows a session by its id, with a CSRF token apart from it', () => {
    const { sessions } = table();
    const session = sessions.open('admin', 'KEY1');
    expect(session.id).to.not.equal(session.csrfToken);
    expect(sessions.use(session.id)).to.include({ userId: 'admin', accessKeyId: 'KEY1' });
    expect(sessions.use('token-99')).to.equal(undefined);
    expect(sessions.use(undefined)).to.equal(undefined);
  });

  it('ends a session left unused for the idle time, and keeps one in use until its maximum age', () => {
    const { sessions, advance } = table();
    const idle = sessions.open('admin', 'KEY1');
    const busy = sessions.open('admin', 'KEY1');
    advance(LIMITS.idleMs - 1);
    expect(sessions.use(busy.id)).to.not.equal(undefined);
    advance(1);
    expect(sessions.use(idle.id), 'idle for 30 minutes').to.equal(undefined);
    expect(sessions.use(idle.id), 'gone for good').to.equal(undefined);
    for (let used = LIMITS.idleMs; used < LIMITS.maxAgeMs - 60_000; used += 60_000) {
      advance(60_000);
      expect(sessions.use(busy.id), `used every minute, at ${used} ms`).to.not.equal(undefined);
    }
    advance(60_000);
    expect(sessions.use(busy.id), 'past its maximum age').to.equal(undefined);
  });

  it('ends the oldest session when too many are open, and every session of a user on demand', () => {
    const { sessions } = table();
    const first = sessions.open('a', 'KA');
    const second = sessions.open('b', 'KB');
    sessions.open('a', 'KA');
    sessions.open('c', 'KC');
    expect(sessions.size).to.equal(3);
    expect(sessions.use(first.id)).to.equal(undefined);
    sessions.closeUser('a');
    expect(sessions.size).to.equal(2);
    sessions.close(second.id);
    expect(sessions.use(second.id)).to.equal(undefined);
  });

  it('ends the sessions opened with an access key when that key is deleted, and no other', () => {
    const { sessions } = table();
    const old = sessions.open('admin', 'OLDKEY');
    const rotated = sessions.open('admin', 'NEWKEY');
    sessions.closeAccessKey('OLDKEY');
    expect(sessions.use(old.id)).to.equal(undefined);
    expect(sessions.use(rotated.id)).to.not.equal(undefined);
  });

  it("accepts a change only with the session's own CSRF token", () => {
    const { sessions } = table();
    const one = sessions.open('admin', 'KEY1');
    const other = sessions.open('admin', 'KEY1');
    expect(csrfMatches(one, one.csrfToken)).to.equal(true);
    expect(csrfMatches(one, other.csrfToken)).to.equal(false);
    expect(csrfMatches(one, one.id)).to.equal(false);
    expect(csrfMatches(one, undefined)).to.equal(false);
    expect(csrfMatches(one, '')).to.equal(false);
  });
});

describe('web console login throttle', () => {
  it('makes an address wait after five failures, and forgets them after a quiet minute', () => {
    let nowMs = 0;
    const throttle = new LoginThrottle(() => nowMs, { failures: 5, windowMs: 60_000, maxAddresses: 10 });
    for (let i = 0; i < 4; i++) throttle.failed('10.0.0.1');
    expect(throttle.waitMs('10.0.0.1')).to.equal(0);
    throttle.failed('10.0.0.1');
    expect(throttle.waitMs('10.0.0.1')).to.equal(60_000);
    expect(throttle.waitMs('10.0.0.2'), 'another address').to.equal(0);
    nowMs += 30_000;
    expect(throttle.waitMs('10.0.0.1')).to.equal(30_000);
    nowMs += 30_000;
    expect(throttle.waitMs('10.0.0.1')).to.equal(0);
    throttle.failed('10.0.0.3');
    throttle.succeeded('10.0.0.3');
    expect(throttle.waitMs('10.0.0.3')).to.equal(0);
  });

  it('remembers a bounded number of addresses', () => {
    let nowMs = 0;
    const throttle = new LoginThrottle(() => nowMs, { failures: 1, windowMs: 60_000, maxAddresses: 2 });
    throttle.failed('a');
    nowMs += 1;
    throttle.failed('b');
    throttle.failed('c');
    expect(throttle.waitMs('a'), 'forgotten first').to.equal(0);
    expect(throttle.waitMs('c')).to.be.greaterThan(0);
  });
});
