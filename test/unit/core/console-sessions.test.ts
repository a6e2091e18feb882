import { expect } from 'chai';
import { csrfMatches, isRevoked, LoginThrottle, REVOCATION_CLOCK_MARGIN_MS, revocationKey, revocationOfAll, sessionKeyOf, SessionTokens, type SessionRevocation } from '../../../src/core/console-sessions.js';

const LIMITS = { idleMs: 30 * 60_000, maxAgeMs: 2 * 3_600_000, maxSessions: 3 };
const KEY = Buffer.alloc(32, 7);

/** Two managers' tokens over one key and one replicated table of revocations, on one manual clock. */
function managers(limits = LIMITS): { a: SessionTokens; b: SessionTokens; advance: (ms: number) => void; revoke: (revocation: SessionRevocation) => void } {
  let nowMs = 1_700_000_000_000;
  let counter = 0;
  const table = new Map<string, SessionRevocation>();
  const make = (): SessionTokens => new SessionTokens(() => nowMs, KEY, () => `id-${++counter}`, limits, (session, atMs) => isRevoked(session, atMs, (key) => table.get(key)));
  return { a: make(), b: make(), advance: (ms) => void (nowMs += ms), revoke: (revocation) => void table.set(revocationKey(revocation.kind, revocation.subject), revocation) };
}

describe('web console sessions', () => {
  it('is known by its signed token on every manager holding the key, and by none other', () => {
    const { a, b } = managers();
    const session = a.open('admin', 'KEY1');
    expect(session.csrfToken).to.not.equal(session.token);
    expect(b.use(session.token)).to.include({ id: session.id, userId: 'admin', accessKeyId: 'KEY1', csrfToken: session.csrfToken });
    const stranger = new SessionTokens(() => session.createdAtMs, Buffer.alloc(32, 8), () => 'x');
    expect(stranger.use(session.token), 'another key').to.equal(undefined);
    const [body, mac] = session.token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), u: 'mallory' })).toString('base64url');
    expect(a.use(`${forged}.${mac}`), 'a changed payload').to.equal(undefined);
    expect(a.use('garbage')).to.equal(undefined);
    expect(a.use(undefined)).to.equal(undefined);
  });

  it("signs with a key slow to derive from the cookie, salted with the cluster's id: another cluster's token is refused", async () => {
    const started = process.hrtime.bigint();
    const key = await sessionKeyOf('the-cookie', 'cluster-a');
    expect(Number(process.hrtime.bigint() - started) / 1e6, 'milliseconds for one guess').to.be.greaterThan(20);
    expect((await sessionKeyOf('the-cookie', 'cluster-a')).equals(key), 'the same on every manager of the cluster').to.equal(true);
    const nowMs = 1_700_000_000_000;
    const here = new SessionTokens(() => nowMs, key, () => 'id-1');
    const elsewhere = new SessionTokens(() => nowMs, await sessionKeyOf('the-cookie', 'cluster-b'), () => 'id-2');
    expect(here.use(elsewhere.open('admin', 'KEY1').token)).to.equal(undefined);
    const unknown = new SessionTokens(() => nowMs, () => undefined, () => 'id-3');
    expect(unknown.ready()).to.equal(false);
    expect(unknown.use(here.open('admin', 'KEY1').token), 'no key known yet: nothing accepted').to.equal(undefined);
  });

  it('ends a session left unused for the idle time, and keeps one in use until its maximum age, on whichever manager it is used', () => {
    const { a, b, advance } = managers();
    const idle = a.open('admin', 'KEY1');
    let busy = a.open('admin', 'KEY1');
    advance(LIMITS.idleMs - 1);
    busy = b.use(busy.token)!;
    expect(busy).to.not.equal(undefined);
    advance(1);
    expect(a.use(idle.token), 'idle for 30 minutes').to.equal(undefined);
    expect(b.use(idle.token), 'on the other manager too').to.equal(undefined);
    for (let used = LIMITS.idleMs; used < LIMITS.maxAgeMs - 60_000; used += 60_000) {
      advance(60_000);
      busy = (used % 120_000 === 0 ? a : b).use(busy.token)!;
      expect(busy, `used every minute, at ${used} ms`).to.not.equal(undefined);
    }
    advance(60_000);
    expect(a.use(busy.token), 'past its maximum age').to.equal(undefined);
  });

  it('does not count a look as a use, and keeps an earlier token alive while the session is used on the same manager', () => {
    const { a, b, advance } = managers();
    const first = a.open('admin', 'KEY1');
    advance(LIMITS.idleMs / 2);
    expect(a.peek(first.token)!.usedAtMs, 'a look moves nothing').to.equal(first.createdAtMs);
    a.use(first.token);
    advance(LIMITS.idleMs / 2 + 1);
    expect(a.isLive(first.token), 'its last use is remembered here').to.equal(true);
    expect(b.isLive(first.token), 'the other manager only has the token').to.equal(false);
  });

  it('ends a session on every manager once its revocation is replicated, and at once where it was ended', () => {
    const { a, b, revoke } = managers();
    const session = a.open('admin', 'KEY1');
    const other = a.open('admin', 'KEY1');
    const revocation = a.end(session);
    expect(a.use(session.token), 'ended here').to.equal(undefined);
    expect(b.use(session.token), 'not yet replicated').to.not.equal(undefined);
    revoke(revocation);
    expect(b.use(session.token)).to.equal(undefined);
    expect(b.use(other.token), 'another session of the same user').to.not.equal(undefined);
  });

  it("ends the sessions a user or an access key opened before its revocation, and not those opened after", () => {
    const { a, b, advance, revoke } = managers();
    const old = a.open('admin', 'OLDKEY');
    const rotated = a.open('admin', 'NEWKEY');
    const carol = a.open('carol', 'CAROLKEY');
    revoke(a.endAll('access_key', 'OLDKEY'));
    revoke(b.endAll('user', 'carol'));
    expect(b.use(old.token)).to.equal(undefined);
    expect(b.use(rotated.token)).to.not.equal(undefined);
    expect(a.use(carol.token)).to.equal(undefined);
    advance(REVOCATION_CLOCK_MARGIN_MS + 1);
    expect(a.use(a.open('carol', 'CAROLKEY2').token), 'carol made again, logged in again').to.not.equal(undefined);
  });

  it("ends the sessions opened on a manager whose clock runs minutes ahead of the leader's that dated the revocation", () => {
    const { a, advance, revoke } = managers();
    // The login happens on a manager four minutes ahead; the leader, four minutes behind it, revokes the user a moment later.
    advance(4 * 60_000);
    const ahead = a.open('dave', 'DAVEKEY');
    advance(-4 * 60_000 + 1_000);
    const revocation = a.endAll('user', 'dave');
    expect(revocation).to.deep.equal(revocationOfAll('user', 'dave', ahead.createdAtMs - 4 * 60_000 + 1_000, LIMITS));
    revoke(revocation);
    advance(4 * 60_000);
    expect(a.use(ahead.token)).to.equal(undefined);
  });

  it("accepts a change only with the session's own CSRF token, the same on every manager", () => {
    const { a, b } = managers();
    const one = a.open('admin', 'KEY1');
    const other = a.open('admin', 'KEY1');
    expect(csrfMatches(one, one.csrfToken)).to.equal(true);
    expect(csrfMatches(b.use(one.token)!, one.csrfToken)).to.equal(true);
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
