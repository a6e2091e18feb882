/**
 * The web console's HTTP conventions, as data: its cookie, the headers every answer carries, and the
 * checks on what a browser sends (cookies, forms, the origin of a change). No I/O here.
 */

export const SESSION_COOKIE = 'leofs_console';
/** The cookie's name under TLS: the __Host- prefix makes the browser refuse it unless Secure, for this host only, on every path. */
export const SECURE_SESSION_COOKIE = '__Host-leofs_console';

export function sessionCookieName(tls: boolean): string {
  return tls ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}
/** The header a page sends its CSRF token in (a form sends it as the field `csrf`). */
export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_FIELD = 'csrf';
/** Bodies of logins and changes are small forms or JSON; anything bigger is refused. */
export const MAX_BODY_BYTES = 16 * 1024;

/**
 * Scripts and styles from the console itself only, nothing inline, no frames, no plugins; the page
 * talks to its own origin only.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every answer of the console. */
export function securityHeaders(tls: boolean): Record<string, string> {
  return {
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    // Not no-referrer: under it a browser sends "Origin: null" with the console's own forms, which the origin check refuses.
    'Referrer-Policy': 'same-origin',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    ...(tls ? { 'Strict-Transport-Security': 'max-age=31536000' } : {}),
  };
}

/** The cookies of a request's Cookie header; a name given twice keeps its first value. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (header === undefined) return cookies;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    const name = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (name.length > 0 && !cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

/**
 * The session cookie: readable by no script, sent by the browser to this site's own pages only,
 * over TLS only when the console has it; `maxAgeS` 0 removes it. It holds the signed session token
 * (core/console-sessions.ts), nothing else.
 */
export function sessionCookie(id: string, maxAgeS: number, tls: boolean): string {
  return [`${sessionCookieName(tls)}=${id}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.max(0, Math.floor(maxAgeS))}`, ...(tls ? ['Secure'] : [])].join('; ');
}

/** Fields of an `application/x-www-form-urlencoded` or JSON body (string values only); undefined when it is neither. */
export function parseFields(contentType: string | undefined, body: string): Map<string, string> | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') return new Map(new URLSearchParams(body));
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const fields = new Map<string, string>();
    for (const [name, value] of Object.entries(parsed)) if (typeof value === 'string') fields.set(name, value);
    return fields;
  }
  return undefined;
}

/**
 * Whether a change comes from the console's own pages, as far as the browser says: an Origin header,
 * when sent, must be this host's. SameSite=Strict and the CSRF token are the checks; this is one more.
 */
export function sameOrigin(origin: string | undefined, host: string | undefined, tls: boolean): boolean {
  if (origin === undefined) return true;
  if (host === undefined) return false;
  return origin === `${tls ? 'https' : 'http'}://${host}`;
}

/** Whether a host name or address is this machine's own: the only place the console listens by default. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}
