/**
 * Bucket CORS: which of a bucket's rules lets a browser's cross-origin request through, and the
 * response headers that say so, as S3 decides it. Pure: the gateway answers preflights (OPTIONS) and
 * adds the headers to ordinary responses from these, and PutBucketCors checks a configuration here.
 *
 *   AllowedOrigin   an origin, or a pattern whose one `*` stands for any text; compared case-sensitively.
 *   AllowedMethod   GET, PUT, POST, DELETE or HEAD.
 *   AllowedHeader   a header a preflight may name in Access-Control-Request-Headers, compared
 *                   case-insensitively, with at most one `*`.
 *   ExposeHeader    a response header the browser lets the page read.
 *   MaxAgeSeconds   how long the browser may keep a preflight's answer.
 *
 * The first rule that allows the origin, the method and (for a preflight) every requested header decides.
 */

export const CORS_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'] as const;
export type CorsMethod = (typeof CORS_METHODS)[number];

export interface CorsRule {
  readonly id?: string;
  readonly allowedOrigins: readonly string[];
  readonly allowedMethods: readonly CorsMethod[];
  readonly allowedHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly maxAgeSeconds?: number;
}

export interface CorsConfig {
  readonly rules: readonly CorsRule[];
}

/** A browser's preflight: its Origin, Access-Control-Request-Method and Access-Control-Request-Headers. */
export interface PreflightRequest {
  readonly origin: string;
  readonly method: string;
  /** Header names as listed; compared trimmed and lower-cased. */
  readonly requestHeaders: readonly string[];
}

/** An ordinary (not OPTIONS) request from a page of another origin. */
export interface ActualRequest {
  readonly origin: string;
  readonly method: string;
  /**
   * Access-Control-Request-Method, when an ordinary request carries one: the rules are then judged for
   * that method, as Ceph's S3 gateway does.
   */
  readonly accessControlRequestMethod?: string | undefined;
}

export const MAX_CORS_RULES = 100;
export const MAX_CORS_RULE_ID_CHARS = 255;
/** S3's schema makes MaxAgeSeconds a 32-bit signed integer. */
export const MAX_CORS_AGE_SECONDS = 2 ** 31 - 1;

/** Response headers whose value depends on the CORS request headers, for caches. */
const VARY = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method';

export function isCorsMethod(value: string): value is CorsMethod {
  return (CORS_METHODS as readonly string[]).includes(value);
}

/**
 * Why a configuration is not valid, with the message S3 gives, undefined when it is. Rules are judged
 * in order and, within one, its methods, origins, allowed headers and exposed headers in that order.
 */
export function corsProblem(config: CorsConfig): string | undefined {
  if (config.rules.length === 0 || config.rules.length > MAX_CORS_RULES) return `a CORS configuration holds 1 to ${MAX_CORS_RULES} rules`;
  for (const rule of config.rules) {
    if (rule.id !== undefined && rule.id.length > MAX_CORS_RULE_ID_CHARS) return `a CORS rule ID is at most ${MAX_CORS_RULE_ID_CHARS} characters`;
    if (rule.allowedOrigins.length === 0) return 'a CORS rule has at least one AllowedOrigin';
    if (rule.allowedMethods.length === 0) return 'a CORS rule has at least one AllowedMethod';
    const age = rule.maxAgeSeconds;
    if (age !== undefined && !(Number.isSafeInteger(age) && age >= 0 && age <= MAX_CORS_AGE_SECONDS)) {
      return `MaxAgeSeconds is a whole number from 0 to ${MAX_CORS_AGE_SECONDS}`;
    }
    const method = rule.allowedMethods.find((name) => !isCorsMethod(name));
    if (method !== undefined) return `Found unsupported HTTP method in CORS config. Unsupported method is ${method}`;
    const origin = rule.allowedOrigins.find((pattern) => wildcards(pattern) > 1);
    if (origin !== undefined) return `AllowedOrigin "${origin}" can not have more than one wildcard.`;
    const header = rule.allowedHeaders.find((pattern) => wildcards(pattern) > 1);
    if (header !== undefined) return `AllowedHeader "${header}" can not have more than one wildcard.`;
    const exposed = rule.exposeHeaders.find((name) => wildcards(name) > 0);
    if (exposed !== undefined) return `ExposeHeader "${exposed}" contains wildcard. We currently do not support wildcard for ExposeHeader.`;
  }
  return undefined;
}

function wildcards(pattern: string): number {
  return pattern.split('*').length - 1;
}

/** Checks a configuration that came from the wire or the disk. */
export function isCorsConfig(value: unknown): value is CorsConfig {
  if (typeof value !== 'object' || value === null) return false;
  const rules = (value as Record<string, unknown>)['rules'];
  if (!Array.isArray(rules)) return false;
  const shaped = rules.every((rule: unknown) => {
    if (typeof rule !== 'object' || rule === null) return false;
    const { id, allowedOrigins, allowedMethods, allowedHeaders, exposeHeaders, maxAgeSeconds } = rule as Record<string, unknown>;
    return (id === undefined || typeof id === 'string')
      && isStringList(allowedOrigins) && isStringList(allowedMethods) && isStringList(allowedHeaders) && isStringList(exposeHeaders)
      && (maxAgeSeconds === undefined || typeof maxAgeSeconds === 'number');
  });
  return shaped && corsProblem(value as CorsConfig) === undefined;
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** The header names an Access-Control-Request-Headers value lists, trimmed and lower-cased. */
export function requestedHeaderNames(value: string | undefined): string[] {
  return value === undefined ? [] : headerNames(value.split(','));
}

function headerNames(names: readonly string[]): string[] {
  return names.map((name) => name.trim().toLowerCase()).filter((name) => name !== '');
}

/** The rule that allows a preflight, if one does. */
export function matchPreflight(config: CorsConfig, request: PreflightRequest): CorsRule | undefined {
  if (request.origin === '') return undefined;
  const headers = headerNames(request.requestHeaders);
  return config.rules.find((rule) =>
    allowsOrigin(rule, request.origin)
    && allowsMethod(rule, request.method)
    && headers.every((header) => rule.allowedHeaders.some((pattern) => wildcardMatches(pattern.toLowerCase(), header))));
}

/** The rule that gives an ordinary request its CORS headers, if one does; requested headers play no part. */
export function matchActual(config: CorsConfig, request: ActualRequest): CorsRule | undefined {
  if (request.origin === '') return undefined;
  const method = request.accessControlRequestMethod ?? request.method;
  return config.rules.find((rule) => allowsOrigin(rule, request.origin) && allowsMethod(rule, method));
}

function allowsOrigin(rule: CorsRule, origin: string): boolean {
  return rule.allowedOrigins.some((pattern) => wildcardMatches(pattern, origin));
}

function allowsMethod(rule: CorsRule, method: string): boolean {
  return rule.allowedMethods.some((allowed) => allowed === method);
}

/** Whether `text` is `pattern` with its one `*` (if any) standing for any run of characters. */
function wildcardMatches(pattern: string, text: string): boolean {
  const star = pattern.indexOf('*');
  if (star < 0) return pattern === text;
  const prefix = pattern.slice(0, star);
  const suffix = pattern.slice(star + 1);
  return text.length >= prefix.length + suffix.length && text.startsWith(prefix) && text.endsWith(suffix);
}

/** A preflight's response headers from the rule `matchPreflight` found for it. */
export function preflightHeaders(rule: CorsRule, request: PreflightRequest): Record<string, string> {
  return corsHeaders(rule, request.origin, headerNames(request.requestHeaders));
}

/** An ordinary response's CORS headers from the rule `matchActual` found for its request. */
export function actualHeaders(rule: CorsRule, origin: string): Record<string, string> {
  return corsHeaders(rule, origin, []);
}

/**
 * The headers in the order S3 writes them. A rule open to every origin answers `*`, which a browser
 * never pairs with credentials; a rule naming origins echoes the request's and allows credentials.
 */
function corsHeaders(rule: CorsRule, origin: string, requestedHeaders: readonly string[]): Record<string, string> {
  const anyOrigin = rule.allowedOrigins.includes('*');
  return {
    'Access-Control-Allow-Origin': anyOrigin ? '*' : origin,
    'Access-Control-Allow-Methods': rule.allowedMethods.join(', '),
    ...(requestedHeaders.length === 0 ? {} : { 'Access-Control-Allow-Headers': requestedHeaders.join(', ') }),
    ...(rule.exposeHeaders.length === 0 ? {} : { 'Access-Control-Expose-Headers': rule.exposeHeaders.join(', ') }),
    ...(rule.maxAgeSeconds === undefined ? {} : { 'Access-Control-Max-Age': String(rule.maxAgeSeconds) }),
    ...(anyOrigin ? {} : { 'Access-Control-Allow-Credentials': 'true' }),
    Vary: VARY,
  };
}
