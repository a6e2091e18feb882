/**
 * The web console's logins, kept on the server: a session is a random id (the browser's cookie holds
 * nothing else) with a CSRF token of its own, and it ends after a while without use and, in any case,
 * some hours after the login. Time and randomness are given, so expiry is tested without waiting.
 * Failed logins are counted per client address: past a few, that address waits before it may try again.
 */
import { secretsEqual } from './constant-time.js';

export interface ConsoleSession {
  readonly id: string;
  /** Sent back by the page with every change it asks for; never in a cookie. */
  readonly csrfToken: string;
  readonly userId: string;
  readonly accessKeyId: string;
  readonly createdAtMs: number;
  /** Moves forward with each use, never past `createdAtMs + maxAgeMs`. */
  readonly expiresAtMs: number;
}

export interface SessionLimits {
  /** A session unused this long ends. */
  readonly idleMs: number;
  /** A session ends this long after its login, used or not. */
  readonly maxAgeMs: number;
  /** The oldest session ends when one more would pass this. */
  readonly maxSessions: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = Object.freeze({ idleMs: 30 * 60_000, maxAgeMs: 12 * 3_600_000, maxSessions: 256 });

/** 32 bytes as text: a session id or a CSRF token. */
export type TokenSource = () => string;

export class SessionTable {
  private readonly sessions = new Map<string, ConsoleSession>();

  constructor(
    private readonly now: () => number,
    private readonly token: TokenSource,
    private readonly limits: SessionLimits = DEFAULT_SESSION_LIMITS,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  open(userId: string, accessKeyId: string): ConsoleSession {
    const nowMs = this.now();
    this.sweep(nowMs);
    while (this.sessions.size >= this.limits.maxSessions) {
      const oldest = this.sessions.keys().next();
      if (oldest.done) break;
      this.sessions.delete(oldest.value);
    }
    const session: ConsoleSession = Object.freeze({
      id: this.token(),
      csrfToken: this.token(),
      userId,
      accessKeyId,
      createdAtMs: nowMs,
      expiresAtMs: nowMs + Math.min(this.limits.idleMs, this.limits.maxAgeMs),
    });
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session of this id, its expiry moved on by this use; undefined when unknown or over. */
  use(id: string | undefined): ConsoleSession | undefined {
    if (id === undefined) return undefined;
    const found = this.sessions.get(id);
    if (found === undefined) return undefined;
    const nowMs = this.now();
    if (nowMs >= found.expiresAtMs) {
      this.sessions.delete(id);
      return undefined;
    }
    const renewed = Object.freeze({ ...found, expiresAtMs: Math.min(nowMs + this.limits.idleMs, found.createdAtMs + this.limits.maxAgeMs) });
    this.sessions.set(id, renewed);
    return renewed;
  }

  /** The live session of this id without counting as a use (a page refreshing itself is not the operator at work). */
  peek(id: string | undefined): ConsoleSession | undefined {
    const found = id === undefined ? undefined : this.sessions.get(id);
    return found !== undefined && this.now() < found.expiresAtMs ? found : undefined;
  }

  /** Whether the session is live without counting as a use (a feed of events is not the operator at work). */
  isLive(id: string): boolean {
    return this.peek(id) !== undefined;
  }

  close(id: string): void {
    this.sessions.delete(id);
  }

  /** Ends every session of a user (deleted, or no longer an administrator). */
  closeUser(userId: string): void {
    for (const [id, session] of this.sessions) if (session.userId === userId) this.sessions.delete(id);
  }

  /** Ends every session opened with an access key (the key was deleted). */
  closeAccessKey(accessKeyId: string): void {
    for (const [id, session] of this.sessions) if (session.accessKeyId === accessKeyId) this.sessions.delete(id);
  }

  private sweep(nowMs: number): void {
    for (const [id, session] of this.sessions) if (nowMs >= session.expiresAtMs) this.sessions.delete(id);
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
