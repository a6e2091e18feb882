/**
 * The operators' web console, served by the manager on an HTTP port of its own (off unless
 * configured). Everything it shows or changes goes through the admin commands leofs-adm sends, run on
 * the leading manager's admin actor; it keeps nothing but when it last saw each session used.
 *
 * A login is an administrator's access key id and secret, checked by the admin command
 * `check_credentials`; it opens a session whose signed token is the cookie (HttpOnly, SameSite=Strict),
 * valid on every manager (core/console-sessions.ts): each use issues it again with its last use moved
 * on, and a logout is a revocation replicated to every manager through the admin command
 * `revoke_console_sessions`, as deleting a user or access key is. Every change is a POST carrying the
 * session's CSRF token, which the page reads from /api/session; a change without it, or from another
 * origin, is refused. Nothing but the login page, its script and styles answers without a session.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../../runtime/clock.js';
import { isRuntimeFailure } from '../../../runtime/failures.js';
import type { Logger } from '../../../runtime/logger.js';
import type { AdminCommand, AdminResult } from '../../../protocol/cluster/admin.js';
import { isMemberAction } from '../../../protocol/cluster/ring-keeper.js';
import { isBucketAcl, isUserRole } from '../../../core/auth-snapshot.js';
import { csrfMatches, DEFAULT_LOGIN_LIMITS, DEFAULT_SESSION_LIMITS, isRevoked, LoginThrottle, SessionTokens, type ConsoleSession, type SessionLimits, type SessionRevocation } from '../../../core/console-sessions.js';
import {
  CSRF_FIELD,
  CSRF_HEADER,
  MAX_BODY_BYTES,
  parseCookies,
  parseFields,
  sameOrigin,
  securityHeaders,
  sessionCookie,
  sessionCookieName,
} from '../../../protocol/console/web.js';
import type { AdminRunner } from './admin-runner.js';
import { loadConsoleAssets, type ConsoleAsset, type ConsoleFile } from './console-assets.js';
import { clusterView, type ClusterView } from './cluster-view.js';
import { StatusFeed } from './status-feed.js';

/** A request that takes longer than this to arrive is cut off. */
const REQUEST_TIMEOUT_MS = 15_000;
/** Operators are few; this bounds what a flood of connections can hold. */
const MAX_CONNECTIONS = 128;
const MAX_FEED_LISTENERS = 32;
const DEFAULT_FEED_INTERVAL_MS = 3_000;

export interface ConsoleServerOptions {
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  /** Certificate and key, PEM: served over HTTPS, and the cookie is Secure. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  readonly run: AdminRunner;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly sessionLimits?: SessionLimits;
  /** How often the live Cluster page is refreshed. */
  readonly feedIntervalMs?: number;
  /** Where the pages are read from (default: web/console of this package). */
  readonly assetsDir?: string;
  /** Signs session tokens: the same on every manager, so that a session holds on each; undefined while not known yet (logins wait). */
  readonly sessionKey: Uint8Array | (() => Uint8Array | undefined);
  /**
   * Whether the user exists, is an administrator and still holds the access key, in this manager's
   * copy of the replicated users: checked on every request, so a session outlives none of them even
   * when the revocation that should have ended it was never written.
   */
  readonly account: (userId: string, accessKeyId: string) => boolean;
  /** This manager's copy of the replicated revocations, by key (core/console-sessions.ts revocationKey). */
  readonly revocations?: (key: string) => SessionRevocation | undefined;
  /** Session ids (crypto's by default). */
  readonly token?: () => string;
}

export interface ConsoleServer {
  /** Where it listens, as http(s)://host:port. */
  readonly url: string;
  close(): Promise<void>;
}

/** An answer refused before any admin command ran. */
class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const tls = options.tls !== undefined;
  const assets = loadConsoleAssets(options.assetsDir);
  const now = (): number => options.clock.now();
  const limits = options.sessionLimits ?? DEFAULT_SESSION_LIMITS;
  const lookup = options.revocations ?? (() => undefined);
  const sessions = new SessionTokens(now, options.sessionKey, options.token ?? (() => randomBytes(24).toString('base64url')), limits, (session, nowMs) => isRevoked(session, nowMs, lookup) || !options.account(session.userId, session.accessKeyId));
  const throttle = new LoginThrottle(now, DEFAULT_LOGIN_LIMITS);
  const headers = securityHeaders(tls);
  let lastRing: Extract<AdminResult, { kind: 'ring' }> | null = null;

  const readCluster = async (): Promise<{ ok: true; view: ClusterView } | { ok: false; code: string; message: string }> => {
    const status = await runAdmin({ command: 'status' });
    if (!status.ok) return status;
    if (status.result.kind !== 'cluster_status') return { ok: false, code: 'Unexpected', message: `status answered ${status.result.kind}` };
    // The ring is fetched again only when its checksum changed.
    if (status.result.settings !== null && lastRing?.checksum !== status.result.checksum) {
      const ring = await runAdmin({ command: 'dump_ring' });
      if (ring.ok && ring.result.kind === 'ring') lastRing = ring.result;
    }
    return { ok: true, view: clusterView(status.result, status.result.settings === null ? null : lastRing) };
  };
  const feed = new StatusFeed({
    clock: options.clock,
    logger: options.logger,
    intervalMs: options.feedIntervalMs ?? DEFAULT_FEED_INTERVAL_MS,
    read: readCluster,
    isLive: (token) => sessions.isLive(token),
    maxListeners: MAX_FEED_LISTENERS,
  });

  async function runAdmin(command: AdminCommand): Promise<{ ok: true; result: AdminResult } | { ok: false; code: string; message: string }> {
    const reply = await options.run(command);
    if (isRuntimeFailure(reply)) return { ok: false, code: reply.code, message: `the manager did not answer: ${reply.message}` };
    return reply;
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    serve(req, res).catch((error: unknown) => {
      if (error instanceof HttpRefusal) return sendJson(res, error.status, { code: error.code, message: error.message });
      options.logger.warn('console request failed', { path: pathOf(req), error });
      if (!res.headersSent) sendJson(res, 500, { code: 'InternalError', message: 'the console failed to answer; see the manager log' });
      else res.destroy();
    });
  };
  const serverOptions = { requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS };
  const server: Server = options.tls ? createHttpsServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key }, handler) : createHttpServer(serverOptions, handler);
  server.maxConnections = MAX_CONNECTIONS;
  server.keepAliveTimeout = 5_000;
  await listen(server, options.host, options.port);
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req);
    const method = req.method ?? 'GET';
    const sessionId = parseCookies(req.headers.cookie).get(sessionCookieName(tls));
    // Pages refresh their data themselves: reading /api is no use of the session, so a page left open
    // still lapses. A use is a page loaded, /api/session (asked on each move to another page) or a change.
    const session = method !== 'POST' && path.startsWith('/api/') && path !== '/api/session' ? sessions.peek(sessionId) : sessions.use(sessionId);
    // Each use moves the session's last use on: the browser keeps the token issued with it.
    if (session !== undefined && session.token !== sessionId) res.setHeader('Set-Cookie', sessionCookie(session.token, (session.createdAtMs + limits.maxAgeMs - now()) / 1000, tls));
    // A manager that cannot check sessions yet (it is joining the others) says so: its session may be
    // good, and a 401 would send the operator back to the login page for nothing.
    if (session === undefined && sessionId !== undefined && sessionId.length > 0 && !sessions.ready() && path !== '/login' && !path.startsWith('/assets/')) {
      if (method === 'GET' && !path.startsWith('/api/')) return redirect(res, '/login?failed=unavailable');
      res.setHeader('Retry-After', '1');
      throw new HttpRefusal(503, 'NotReady', 'this manager cannot check sessions yet; try again in a moment');
    }
    if (method === 'POST') {
      if (!sameOrigin(req.headers.origin, req.headers.host, tls)) throw new HttpRefusal(403, 'CrossOrigin', 'changes are taken from the console its own pages only');
      const fields = await readFields(req);
      if (path === '/login') return login(req, res, fields);
      if (session === undefined) throw new HttpRefusal(401, 'NoSession', 'log in first');
      const token = headerOf(req, CSRF_HEADER) ?? fields.get(CSRF_FIELD);
      if (!csrfMatches(session, token)) throw new HttpRefusal(403, 'BadCsrfToken', 'the request does not carry this session its CSRF token; reload the page');
      return change(path, res, session, fields);
    }
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD, POST');
      throw new HttpRefusal(405, 'MethodNotAllowed', 'only GET, HEAD and POST');
    }
    switch (path) {
      case '/login':
        if (session !== undefined) return redirect(res, '/');
        return sendAsset(req, res, 'login.html');
      case '/assets/console.css':
        return sendAsset(req, res, 'console.css');
      case '/assets/login.js':
        return sendAsset(req, res, 'login.js');
      case '/favicon.svg':
        return sendAsset(req, res, 'favicon.svg');
      default:
        break;
    }
    if (session === undefined) {
      if (path.startsWith('/api/')) throw new HttpRefusal(401, 'NoSession', 'log in first');
      return redirect(res, '/login');
    }
    switch (path) {
      case '/':
        return sendAsset(req, res, 'app.html');
      case '/assets/app.js':
        return sendAsset(req, res, 'app.js');
      case '/api/session':
        return sendJson(res, 200, { userId: session.userId, accessKeyId: session.accessKeyId, csrfToken: session.csrfToken, expiresAtMs: session.expiresAtMs });
      case '/api/cluster': {
        const read = await readCluster();
        return read.ok ? sendJson(res, 200, read.view) : sendJson(res, 502, { code: read.code, message: read.message });
      }
      case '/api/events':
        if (!feed.listen(res, session.token, headers)) throw new HttpRefusal(503, 'TooManyListeners', 'too many pages follow the cluster; close some');
        return;
      case '/api/users':
        return answer(res, { command: 'get_users' });
      case '/api/access-keys': {
        const userId = queryOf(req).get('userId');
        if (userId === null || userId.length === 0) throw new HttpRefusal(400, 'MissingField', 'userId is required');
        return answer(res, { command: 'get_access_keys', userId });
      }
      case '/api/buckets':
        return answer(res, { command: 'get_buckets' });
      // Each bucket's objects and size (the count may be up to half a minute old), and the endpoints.
      case '/api/bucket-stats':
        return answer(res, { command: 'bucket_stats' });
      case '/api/endpoints':
        return answer(res, { command: 'get_endpoints' });
      case '/api/rebalance':
        return answer(res, { command: 'rebalance_status' });
      case '/api/recovery':
        return answer(res, { command: 'recovery_status' });
      case '/api/queues':
        return answer(res, { command: 'mq_stats', node: nodeOf(req) });
      case '/api/actors':
        return answer(res, { command: 'actors', node: nodeOf(req) });
      case '/api/node':
        return answer(res, { command: 'status', node: nodeOf(req) });
      case '/api/metrics': {
        const node = queryOf(req).get('node');
        return answer(res, node === null || node.length === 0 ? { command: 'metrics_history' } : { command: 'metrics_history', node });
      }
      default:
        throw new HttpRefusal(404, 'NotFound', `nothing at ${path}`);
    }
  }

  async function login(req: IncomingMessage, res: ServerResponse, fields: ReadonlyMap<string, string>): Promise<void> {
    const address = req.socket.remoteAddress ?? 'unknown';
    // Read before the check: a revocation of the user written while it runs covers this session.
    const startedAtMs = now();
    if (throttle.waitMs(address) > 0) return redirect(res, '/login?failed=throttled');
    if (!sessions.ready()) return redirect(res, '/login?failed=unavailable');
    const accessKeyId = fields.get('accessKeyId')?.trim() ?? '';
    const secretAccessKey = fields.get('secretAccessKey') ?? '';
    if (accessKeyId.length === 0 || secretAccessKey.length === 0) return redirect(res, '/login?failed=missing');
    const checked = await runAdmin({ command: 'check_credentials', accessKeyId, secretAccessKey });
    if (!checked.ok && checked.code !== 'InvalidCredentials') {
      options.logger.warn('console login could not be checked', { code: checked.code, reason: checked.message });
      return redirect(res, '/login?failed=unavailable');
    }
    if (!checked.ok || checked.result.kind !== 'credentials' || checked.result.user.role !== 'admin') {
      throttle.failed(address);
      // Not the access key id typed: it may be a secret pasted in the wrong field.
      options.logger.warn('console login refused', { address });
      return redirect(res, '/login?failed=invalid');
    }
    throttle.succeeded(address);
    const session = sessions.open(checked.result.user.userId, accessKeyId, startedAtMs);
    options.logger.info('console login', { userId: session.userId, address });
    res.setHeader('Set-Cookie', sessionCookie(session.token, limits.maxAgeMs / 1000, tls));
    return redirect(res, '/');
  }

  /** A POST with a session and its CSRF token. */
  async function change(path: string, res: ServerResponse, session: ConsoleSession, fields: ReadonlyMap<string, string>): Promise<void> {
    const need = (name: string): string => {
      const value = fields.get(name)?.trim();
      if (value === undefined || value.length === 0) throw new HttpRefusal(400, 'MissingField', `${name} is required`);
      return value;
    };
    const optional = (name: string): string | undefined => {
      const value = fields.get(name)?.trim();
      return value === undefined || value.length === 0 ? undefined : value;
    };
    switch (path) {
      case '/logout': {
        // Ended here at once; on the other managers once the revocation reaches them.
        const revoked = await runAdmin({ command: 'revoke_console_sessions', revocation: sessions.end(session) });
        if (!revoked.ok) options.logger.warn('console logout not told to the other managers: the session still holds there until it lapses', { userId: session.userId, code: revoked.code, reason: revoked.message });
        options.logger.info('console logout', { userId: session.userId });
        res.setHeader('Set-Cookie', sessionCookie('', 0, tls));
        return sendJson(res, 200, { loggedOut: true, everywhere: revoked.ok });
      }
      case '/api/users/create': {
        const role = optional('role') ?? 'normal';
        if (!isUserRole(role)) throw new HttpRefusal(400, 'BadField', 'role must be admin or normal');
        const displayName = optional('displayName');
        return answer(res, { command: 'create_user', userId: need('userId'), role, ...(displayName !== undefined ? { displayName } : {}) }, session);
      }
      case '/api/users/delete': {
        // The admin command ends the user's console sessions on every manager.
        return answer(res, { command: 'delete_user', userId: need('userId') }, session);
      }
      case '/api/access-keys/create':
        return answer(res, { command: 'add_access_key', userId: need('userId') }, session);
      case '/api/access-keys/delete': {
        // The admin command ends the sessions opened with the key on every manager.
        return answer(res, { command: 'delete_access_key', userId: need('userId'), accessKeyId: need('accessKeyId') }, session);
      }
      case '/api/nodes/action': {
        const action = need('action');
        if (!isMemberAction(action)) throw new HttpRefusal(400, 'BadField', 'action must be suspend, resume, detach or rollback');
        if (await answered(res, { command: 'member_action', action, node: need('node') }, session)) feed.refresh();
        return;
      }
      case '/api/rebalance/start':
        if (await answered(res, { command: 'rebalance' }, session)) feed.refresh();
        return;
      case '/api/buckets/create': {
        const acl = optional('acl') ?? 'private';
        if (!isBucketAcl(acl)) throw new HttpRefusal(400, 'BadField', 'acl must be private, public-read, public-read-write or authenticated-read');
        return answer(res, { command: 'add_bucket', bucket: need('bucket'), accessKeyId: need('accessKeyId'), acl }, session);
      }
      case '/api/buckets/delete':
        return answer(res, { command: 'delete_bucket', bucket: need('bucket'), accessKeyId: need('accessKeyId') }, session);
      default:
        throw new HttpRefusal(404, 'NotFound', `nothing at ${path}`);
    }
  }

  /** Runs the command and sends its result, or its refusal with the admin actor's code. */
  async function answer(res: ServerResponse, command: AdminCommand, session?: ConsoleSession): Promise<void> {
    await answered(res, command, session);
  }

  /** As answer; true when the command was done. */
  async function answered(res: ServerResponse, command: AdminCommand, session?: ConsoleSession): Promise<boolean> {
    const reply = await runAdmin(command);
    if (session !== undefined) options.logger.info('console change', { userId: session.userId, command: command.command, ok: reply.ok, ...(reply.ok ? {} : { code: reply.code }) });
    if (reply.ok) sendJson(res, 200, reply.result);
    else sendJson(res, statusOf(reply.code), { code: reply.code, message: reply.message });
    return reply.ok;
  }

  function sendAsset(req: IncomingMessage, res: ServerResponse, name: ConsoleFile): void {
    const asset: ConsoleAsset = assets.get(name)!;
    const common = { ...headers, 'Content-Type': asset.contentType, 'Cache-Control': asset.cacheControl, ETag: asset.etag };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, common);
      res.end();
      return;
    }
    res.writeHead(200, { ...common, 'Content-Length': asset.body.length });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }

  function sendJson(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
    res.end(res.req.method === 'HEAD' ? undefined : text);
  }

  function redirect(res: ServerResponse, location: string): void {
    res.writeHead(303, { ...headers, Location: location, 'Cache-Control': 'no-store', 'Content-Length': 0 });
    res.end();
  }

  return {
    url: `${tls ? 'https' : 'http'}://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        feed.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The HTTP status of an admin refusal: the operator's mistake, a conflict, or the cluster's trouble. */
function statusOf(code: string): number {
  if (code === 'BadCommand' || code === 'InvalidArgument' || code === 'InvalidBucketName') return 400;
  if (code.startsWith('NoSuch') || code === 'UnknownNode') return 404;
  if (code === 'AccessDenied') return 403;
  if (code === 'Timeout' || code === 'NodeDown' || code === 'NoLeader' || code === 'NotLeader' || code === 'NodeUnavailable') return 503;
  return 409;
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}

function queryOf(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '/';
  const at = url.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : url.slice(at + 1));
}

function nodeOf(req: IncomingMessage): string {
  const node = queryOf(req).get('node');
  if (node === null || node.length === 0) throw new HttpRefusal(400, 'MissingField', 'node is required');
  return node;
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readFields(req: IncomingMessage): Promise<ReadonlyMap<string, string>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpRefusal(413, 'TooLarge', `a console request carries at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return new Map();
  const fields = parseFields(req.headers['content-type'], Buffer.concat(chunks).toString('utf8'));
  if (fields === undefined) throw new HttpRefusal(415, 'BadBody', 'send a form or a JSON object');
  return fields;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
