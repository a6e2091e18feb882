/**
 * A node's own HTTP port for operators' tools: Prometheus scrapes `/metrics`, load balancers and
 * service managers probe `/health/live` (the process answers) and `/health/ready` (it can take its
 * share of the work; 503 with the failing checks otherwise). Nothing else is served, nothing is
 * written, and nothing a client sends here reaches the cluster.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../../runtime/logger.js';
import type { HealthReport } from './node-health.js';

/** A scrape or probe that takes longer than this is cut off: a stuck collector must not pile up sockets. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Scrapers and probers are few; this bounds what a flood of connections can hold. */
const MAX_CONNECTIONS = 64;

export interface MetricsEndpointOptions {
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  readonly registry: Registry;
  readonly health: () => HealthReport;
  readonly logger: Logger;
}

export interface MetricsEndpoint {
  /** Where it listens, as http://host:port. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsEndpoint(options: MetricsEndpointOptions): Promise<MetricsEndpoint> {
  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS }, (req, res) => {
    serve(options, req, res).catch((error: unknown) => {
      options.logger.warn('metrics request failed', { url: req.url ?? '', error });
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.keepAliveTimeout = 5_000;
  await listen(server, options.host, options.port);
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serve(options: MetricsEndpointOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, 405, 'text/plain; charset=utf-8', 'only GET and HEAD\n');
  }
  switch (path) {
    case '/metrics':
      return send(res, 200, options.registry.contentType, await options.registry.metrics());
    case '/health/live':
      return send(res, 200, 'application/json', JSON.stringify({ live: true }) + '\n');
    case '/health/ready': {
      const report = options.health();
      return send(res, report.ready ? 200 : 503, 'application/json', JSON.stringify(report) + '\n');
    }
    default:
      return send(res, 404, 'text/plain; charset=utf-8', 'not found: try /metrics, /health/live or /health/ready\n');
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
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
