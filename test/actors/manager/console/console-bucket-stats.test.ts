/**
 * The console's bucket sizes, endpoints and node status, over HTTP against a stand-in for the admin actor: each is
 * the admin command leofs-adm sends, answered as the admin actor answers it, a refusal with its status;
 * neither answers without a session; the Accounts page has the columns and the list to show them in.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { startConsoleServer, type ConsoleServer } from '../../../../src/actors/manager/console/console-server.js';
import type { AdminCommand, AdminReply, AdminResult } from '../../../../src/protocol/cluster/admin.js';
import { DEFAULT_WATCHDOG_THRESHOLDS } from '../../../../src/core/watchdog-rules.js';
import { ManualClock } from '../../../../src/runtime/clock.js';
import { createLogger } from '../../../../src/runtime/logger.js';

const ADMIN = { userId: 'admin', accessKeyId: 'ADMINKEY0001', secret: 'admin-secret-0123456789' };

const STATS: AdminResult = {
  kind: 'bucket_stats',
  buckets: [{ bucket: 'photos', owner: 'alice', acl: 'private', objects: 3, bytes: 4096, noncurrentVersions: 0, noncurrentBytes: 0 }],
  countedAtMs: 1_000,
  nodes: ['storage_0@127.0.0.1'],
  notRunning: [],
  missing: [],
  partial: false,
  rebalancing: false,
};

const NODE_STATUS: AdminResult = {
  kind: 'node_status', node: 'storage_0@127.0.0.1', role: 'storage', address: '127.0.0.1:1', state: 'running', startedAtMs: 0, uptimeMs: 1, ring: null, peers: [], version: '1',
  watchdog: {
    readings: { cpuPercent: 1, rssBytes: 1, eventLoopDelayMs: 1, diskFreeBytes: 75 * 2 ** 30, diskTotalBytes: 100 * 2 ** 30, errorsPerMinute: 0 },
    alarms: [],
    thresholds: DEFAULT_WATCHDOG_THRESHOLDS,
  },
};

describe('web console bucket sizes, endpoints and node status', () => {
  const commands: AdminCommand[] = [];
  let statsReply: AdminReply = { ok: true, result: STATS };
  let server: ConsoleServer;
  let cookie: string;

  async function run(command: AdminCommand): Promise<AdminReply> {
    commands.push(command);
    switch (command.command) {
      case 'check_credentials':
        if (command.accessKeyId !== ADMIN.accessKeyId || command.secretAccessKey !== ADMIN.secret) return { ok: false, code: 'InvalidCredentials', message: 'wrong' };
        return { ok: true, result: { kind: 'credentials', user: { userId: ADMIN.userId, accessKeyId: ADMIN.accessKeyId, role: 'admin', createdAtMs: 0 } } };
      case 'bucket_stats':
        return statsReply;
      case 'get_endpoints':
        return { ok: true, result: { kind: 'endpoints', endpoints: [{ host: 's3.example.com', createdAtMs: 0 }] } };
      case 'status':
        return command.node === undefined ? { ok: false, code: 'BadCommand', message: 'a node is named' } : { ok: true, result: NODE_STATUS };
      default:
        return { ok: false, code: 'BadCommand', message: `not in this test: ${command.command}` };
    }
  }

  before(async () => {
    server = await startConsoleServer({ host: '127.0.0.1', port: 0, run, sessionKey: randomBytes(32), account: () => true, clock: new ManualClock(), logger: createLogger({ level: 'error', sink: () => {} }) });
    const response = await fetch(`${server.url}/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ accessKeyId: ADMIN.accessKeyId, secretAccessKey: ADMIN.secret }) });
    cookie = response.headers.get('set-cookie')!.split(';')[0]!;
  });

  after(() => server.close());

  const get = (path: string, withCookie = true): Promise<Response> => fetch(`${server.url}${path}`, withCookie ? { headers: { cookie } } : {});

  it('answers bucket sizes and endpoints with the admin commands, and nothing without a session', async () => {
    expect((await get('/api/bucket-stats', false)).status).to.equal(401);
    expect((await get('/api/endpoints', false)).status).to.equal(401);
    expect(commands.filter((command) => command.command !== 'check_credentials'), 'no command ran without a session').to.deep.equal([]);

    const stats = await get('/api/bucket-stats');
    expect(stats.status).to.equal(200);
    expect(stats.headers.get('cache-control')).to.equal('no-store');
    expect(await stats.json()).to.deep.equal(STATS);
    expect(commands.at(-1), 'the cached count, not a fresh one').to.deep.equal({ command: 'bucket_stats' });

    const endpoints = await get('/api/endpoints');
    expect(endpoints.status).to.equal(200);
    expect(await endpoints.json()).to.deep.equal({ kind: 'endpoints', endpoints: [{ host: 's3.example.com', createdAtMs: 0 }] });
    expect(commands.at(-1)).to.deep.equal({ command: 'get_endpoints' });
  });

  it("reads a node's status (its disk among its watchdog's readings) through status NODE, and needs the node named", async () => {
    expect((await get('/api/node?node=storage_0%40127.0.0.1', false)).status).to.equal(401);
    const status = await get('/api/node?node=storage_0%40127.0.0.1');
    expect(status.status).to.equal(200);
    expect(await status.json()).to.deep.equal(NODE_STATUS);
    expect(commands.at(-1)).to.deep.equal({ command: 'status', node: 'storage_0@127.0.0.1' });
    expect((await get('/api/node')).status).to.equal(400);
  });

  it('passes a refusal on with its status', async () => {
    statsReply = { ok: false, code: 'NotStarted', message: 'the cluster has no ring yet; run start first' };
    try {
      const refused = await get('/api/bucket-stats');
      expect(refused.status).to.equal(409);
      expect(await refused.json()).to.deep.equal({ code: 'NotStarted', message: 'the cluster has no ring yet; run start first' });
    } finally {
      statsReply = { ok: true, result: STATS };
    }
  });

  it('has Objects and Size columns in the buckets table and a list of endpoints on the Accounts page', async () => {
    const page = await (await get('/')).text();
    expect(page).to.include('<th>ACL</th><th>Objects</th><th>Size</th><th>Created</th>');
    expect(page).to.include('<ul id="endpoints"></ul>');
    const script = await (await get('/assets/app.js')).text();
    expect(script).to.include("getJson('/api/bucket-stats')").and.include("getJson('/api/endpoints')");
  });
});
