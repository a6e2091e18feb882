/**
 * The web console's logins, valid on every manager: a session is a token the manager signs with a key
 * every manager holds (derived from the cluster cookie and the cluster's id by a slow KDF, so that a
 * token seen does not let the cookie be guessed offline at speed), carrying the session's id, user, access key,
 * login time and last use. Any manager checks it without asking another, so an operator whose manager
 * went away goes on with a standby. It ends after a while without use (each manager moves the last use
 * on by issuing the token again) and, in any case, some hours after the login.
 *
 * A token cannot be taken back by forgetting it, so ending sessions early (a logout, a deleted user or
 * access key) is a revocation kept in the managers' replicated state: every manager refuses what it
 * names once the record reaches it. Time and randomness are given, so expiry is tested without waiting.
 * Failed logins are counted per client address: past a few, that address waits before it may try again.
 */
import { createHmac, scrypt } from 'node:crypto';
import { secretsEqual } from './constant-time.js';

export interface ConsoleSession {
  readonly id: string;
  /** The signed token, the cookie's whole value; issued again with each use. */
  readonly token: string;
  /** Sent back by the page with every change it asks for; never in a cookie. Derived from the id, the same on every manager. */
  readonly csrfToken: string;
  readonly userId: string;
  readonly accessKeyId: string;
  readonly createdAtMs: number;
  readonly usedAtMs: number;
  /** Moves forward with each use, never past `createdAtMs + maxAgeMs`. */
  readonly expiresAtMs: number;
}

export interface SessionLimits {
  /** A session unused this long ends. */
  readonly idleMs: number;
  /** A session ends this long after its login, used or not. */
  readonly maxAgeMs: number;
  /** Sessions whose last use this manager remembers (beyond them, the token's own says when it was used). */
  readonly maxSessions: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = Object.freeze({ idleMs: 30 * 60_000, maxAgeMs: 12 * 3_600_000, maxSessions: 4_096 });

/**
 * A revocation is dated by the leader's clock, a session's login by the clock of the manager that
 * opened it: a revocation reaches this far past its writer's now, so a manager whose clock runs ahead
 * of the leader's by up to this much has its sessions ended all the same.
 */
export const REVOCATION_CLOCK_MARGIN_MS = 5 * 60_000;

/** A session id as text (random). */
export type TokenSource = () => string;

/** What ends sessions early: a session by id, or every session of a user or access key opened up to `beforeMs`. */
export type RevocationKind = 'session' | 'user' | 'access_key';

export interface SessionRevocation {
  readonly kind: RevocationKind;
  readonly subject: string;
  /** Sessions opened at or before this are refused. */
  readonly beforeMs: number;
  /** No session it names lives past this: the record may be dropped then. */
  readonly untilMs: number;
}

/** Where a revocation is kept: one record per subject, the latest wins. */
export function revocationKey(kind: RevocationKind, subject: string): string {
  return `${kind}:${subject}`;
}

/** Every session of a user or access key opened until `nowMs` (and the clock margin past it): none outlives the longest a session lives. */
export function revocationOfAll(kind: 'user' | 'access_key', subject: string, nowMs: number, limits: Pick<SessionLimits, 'maxAgeMs'> = DEFAULT_SESSION_LIMITS): SessionRevocation {
  const beforeMs = nowMs + REVOCATION_CLOCK_MARGIN_MS;
  return { kind, subject, beforeMs, untilMs: beforeMs + limits.maxAgeMs };
}

export function isSessionRevocation(value: unknown): value is SessionRevocation {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    (record.kind === 'session' || record.kind === 'user' || record.kind === 'access_key') &&
    typeof record.subject === 'string' && record.subject.length > 0 && record.subject.length <= 256 &&
    Number.isSafeInteger(record.beforeMs) && Number.isSafeInteger(record.untilMs)
  );
}

/** The revocations that hold now; `lookup` finds the record of a key. */
export function isRevoked(session: Pick<ConsoleSession, 'id' | 'userId' | 'accessKeyId' | 'createdAtMs'>, nowMs: number, lookup: (key: string) => SessionRevocation | undefined): boolean {
  const subjects: ReadonlyArray<readonly [RevocationKind, string]> = [['session', session.id], ['user', session.userId], ['access_key', session.accessKeyId]];
  return subjects.some(([kind, subject]) => {
    const record = lookup(revocationKey(kind, subject));
    return record !== undefined && nowMs < record.untilMs && session.createdAtMs <= record.beforeMs;
  });
}

/** About 64 MiB and a few tenths of a second per guess; each manager derives the key once. */
const SESSION_KEY_SCRYPT = Object.freeze({ N: 2 ** 16, r: 8, p: 1, maxmem: 128 * 1024 * 1024 });

/**
 * The key sessions are signed with, the same on every manager of a cluster: scrypt of the cluster
 * cookie salted with the cluster's id, so a token seen lets no one try cookies offline at the speed
 * of a hash, and a token of another cluster with the same cookie is refused.
 */
export function sessionKeyOf(cookie: string, clusterId: string): Promise<Buffer> {
  // Off the event loop: a manager's heartbeats go on while it derives.
  return new Promise((resolve, reject) => scrypt(cookie, `leofs-ts console sessions v2\n${clusterId}`, 32, SESSION_KEY_SCRYPT, (error, key) => (error ? reject(error) : resolve(key))));
}

const TOKEN_VERSION = 1;
/** A token longer than this is not one of ours (it is read before its signature is checked). */
const MAX_TOKEN_CHARS = 2_048;

interface TokenPayload {
  readonly v: number;
  readonly s: string;
  readonly u: string;
  readonly k: string;
  readonly c: number;
  readonly l: number;
}

export class SessionTokens {
  /** The latest use of each session seen here: a token issued earlier (a page's open feed) does not lapse while the session is in use. */
  private readonly lastUse = new Map<string, number>();
  /** Sessions ended here, held until the replicated revocation arrives (or in its stead, when it could not be written). */
  private readonly ended = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    /** The signing key; undefined while this manager cannot tell it yet (no session is opened or accepted then). */
    private readonly key: Uint8Array | (() => Uint8Array | undefined),
    private readonly randomId: TokenSource,
    private readonly limits: SessionLimits = DEFAULT_SESSION_LIMITS,
    private readonly revoked: (session: Pick<ConsoleSession, 'id' | 'userId' | 'accessKeyId' | 'createdAtMs'>, nowMs: number) => boolean = () => false,
  ) {}

  /** Whether sessions can be signed and checked now. */
  ready(): boolean {
    return this.keyNow() !== undefined;
  }

  /** `openedAtMs`: when the login began (read before its credentials were checked, so a revocation written meanwhile covers it). */
  open(userId: string, accessKeyId: string, openedAtMs: number = this.now()): ConsoleSession {
    const nowMs = openedAtMs;
    return this.issue({ v: TOKEN_VERSION, s: this.randomId(), u: userId, k: accessKeyId, c: nowMs, l: nowMs });
  }

  /** The live session of this token, its last use moved to now (with a new token); undefined when forged, over or revoked. */
  use(token: string | undefined): ConsoleSession | undefined {
    const found = this.peek(token);
    if (found === undefined) return undefined;
    const nowMs = this.now();
    this.remember(found.id, nowMs);
    return this.issue({ v: TOKEN_VERSION, s: found.id, u: found.userId, k: found.accessKeyId, c: found.createdAtMs, l: nowMs });
  }

  /** The live session of this token without counting as a use (a page refreshing itself is not the operator at work). */
  peek(token: string | undefined): ConsoleSession | undefined {
    const payload = this.verify(token);
    if (payload === undefined) return undefined;
    const nowMs = this.now();
    const usedAtMs = Math.max(payload.l, this.lastUse.get(payload.s) ?? 0);
    const session = this.sessionOf({ ...payload, l: usedAtMs }, token!);
    if (nowMs >= session.expiresAtMs || nowMs < payload.c) return undefined;
    const endedUntil = this.ended.get(session.id);
    if (endedUntil !== undefined && nowMs < endedUntil) return undefined;
    if (this.revoked(session, nowMs)) return undefined;
    return session;
  }

  /** Whether the session of this token is live, without counting as a use. */
  isLive(token: string): boolean {
    return this.peek(token) !== undefined;
  }

  /** Ends a session on this manager at once; the other managers learn it from the replicated revocation. */
  end(session: Pick<ConsoleSession, 'id' | 'createdAtMs'>): SessionRevocation {
    const untilMs = session.createdAtMs + this.limits.maxAgeMs;
    this.lastUse.delete(session.id);
    this.bounded(this.ended, session.id, untilMs);
    return { kind: 'session', subject: session.id, beforeMs: untilMs, untilMs };
  }

  /** The revocation that ends every session of a user or access key opened until now. */
  endAll(kind: 'user' | 'access_key', subject: string): SessionRevocation {
    return revocationOfAll(kind, subject, this.now(), this.limits);
  }

  private remember(id: string, usedAtMs: number): void {
    this.bounded(this.lastUse, id, usedAtMs);
  }

  private bounded(map: Map<string, number>, id: string, value: number): void {
    map.delete(id);
    map.set(id, value);
    while (map.size > this.limits.maxSessions) {
      const oldest = map.keys().next();
      if (oldest.done) break;
      map.delete(oldest.value);
    }
  }

  private issue(payload: TokenPayload): ConsoleSession {
    const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    return this.sessionOf(payload, `${body}.${this.sign(body)}`);
  }

  private sessionOf(payload: TokenPayload, token: string): ConsoleSession {
    return Object.freeze({
      id: payload.s,
      token,
      csrfToken: this.sign(`csrf\n${payload.s}`),
      userId: payload.u,
      accessKeyId: payload.k,
      createdAtMs: payload.c,
      usedAtMs: payload.l,
      expiresAtMs: Math.min(payload.l + this.limits.idleMs, payload.c + this.limits.maxAgeMs),
    });
  }

  private verify(token: string | undefined): TokenPayload | undefined {
    if (token === undefined || token.length > MAX_TOKEN_CHARS) return undefined;
    const dot = token.indexOf('.');
    if (dot <= 0) return undefined;
    const body = token.slice(0, dot);
    if (!this.ready() || !secretsEqual(this.sign(body), token.slice(dot + 1))) return undefined;
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    const fields = payload as Partial<TokenPayload> | null;
    if (typeof fields !== 'object' || fields === null || fields.v !== TOKEN_VERSION) return undefined;
    if (typeof fields.s !== 'string' || typeof fields.u !== 'string' || typeof fields.k !== 'string') return undefined;
    if (!Number.isSafeInteger(fields.c) || !Number.isSafeInteger(fields.l)) return undefined;
    return fields as TokenPayload;
  }

  private keyNow(): Uint8Array | undefined {
    return typeof this.key === 'function' ? this.key() : this.key;
  }

  private sign(text: string): string {
    const key = this.keyNow();
    if (key === undefined) throw new Error('console sessions cannot be signed before their key is known');
    return createHmac('sha256', key).update(text, 'utf8').digest('base64url');
  }
}

/** Whether a change asked for carries its session's CSRF token. */
export function csrfMatches(session: ConsoleSession, given: string | undefined): boolean {
  return given !== undefined && given.length > 0 && secretsEqual(session.csrfToken, given);
}

export interface LoginLimits {
  /** Failures from one address before it must wait. */
  readonly failures: number;
  /** How long failures are remembered, and how long an address waits once past the limit. */
  readonly windowMs: number;
  /** Addresses remembered at most; the oldest is forgotten first. */
  readonly maxAddresses: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = Object.freeze({ failures: 5, windowMs: 60_000, maxAddresses: 4_096 });

/** Failed logins per client address, so that secrets cannot be guessed at the speed of the network. */
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; sinceMs: number }>();

  constructor(
    private readonly now: () => number,
    private readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
  ) {}

  /** Milliseconds this address must still wait before it may try; 0 when it may try now. */
  waitMs(address: string): number {
    const entry = this.failures.get(address);
    if (entry === undefined) return 0;
    const elapsed = this.now() - entry.sinceMs;
    if (elapsed >= this.limits.windowMs) {
      this.failures.delete(address);
      return 0;
    }
    return entry.count >= this.limits.failures ? this.limits.windowMs - elapsed : 0;
  }

  failed(address: string): void {
    const nowMs = this.now();
    const entry = this.failures.get(address);
    if (entry !== undefined && nowMs - entry.sinceMs < this.limits.windowMs) {
      // Each failure past the limit starts the wait again.
      this.failures.set(address, { count: entry.count + 1, sinceMs: entry.count + 1 >= this.limits.failures ? nowMs : entry.sinceMs });
      return;
    }
    this.failures.delete(address);
    while (this.failures.size >= this.limits.maxAddresses) {
      const oldest = this.failures.keys().next();
      if (oldest.done) break;
      this.failures.delete(oldest.value);
    }
    this.failures.set(address, { count: 1, sinceMs: nowMs });
  }

  succeeded(address: string): void {
    this.failures.delete(address);
  }
}
