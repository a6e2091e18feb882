/**
 * The web console as an operator uses it, in headless Chromium against `leofs dev --console-port 0`
 * (a manager, three storage nodes and a gateway as processes on loopback): a wrong secret is refused,
 * the admin's keys log in, the Cluster page shows the three storage nodes running on one ring drawn
 * as a circle, a user is created and its secret shown once, its access key rotated, a change without
 * the CSRF token refused, a fourth storage node added and rebalanced in from the page (after a few
 * hundred objects were written through the S3 API, charted on the Traffic page, and partly moved to it), the queues and
 * actors shown, and logging out ends the session. A second manager of its own, whose config makes
 * sessions end after 10 s idle, shows an idle session ended. The pages are saved as screenshots
 * (1280x800) in a temporary folder, kept and its path printed when a test failed or
 * LEOFS_KEEP_SCREENSHOTS is set, removed otherwise. Chromium is the Debian package; where it is
 * missing the test says so and is skipped.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { readAdminCredentials, ADMIN_CREDENTIALS_FILE } from '../../src/store/admin-credentials.js';
import { eventually } from '../support/eventually.js';
import { NodeProcess, stopChild } from '../support/node-process.js';

const CHROMIUM = '/usr/bin/chromium';
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const STEP_TIMEOUT_MS = 20_000;
/** The managers sample every node's request counters this often: a chart has points within seconds. */
const TRAFFIC_SAMPLE_INTERVAL_MS = 500;
/** Small objects written before the fourth storage node joins, so that the rebalance has data to move. */
const OBJECTS = 300;
const OBJECTS_IN_FLIGHT = 16;

describe('web console in a browser', function () {
  this.timeout(180_000);

  let root: string;
  let dev: ChildProcess | undefined;
  let out = '';
  let browser: Browser | undefined;
  let page: Page;
  let url: string;
  let accessKeyId: string;
  let secret: string;
  let shots: string;
  /** Screenshots are kept for a look when a test failed. */
  let anyFailed = false;
  let managerAddress: string;
  let s3: S3Client | undefined;
  /** The confirmations the pages asked for (all accepted). */
  const dialogs: string[] = [];
  const extraNodes: NodeProcess[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.warn(`      ${CHROMIUM} is missing (Debian package chromium): web console browser tests skipped`);
      this.skip();
    }
    root = mkdtempSync(join(tmpdir(), 'leofs-console-'));
    shots = mkdtempSync(join(tmpdir(), 'leofs-console-screenshots-'));
    const { LEOFS_COOKIE: _cookie, LEOFS_COOKIE_FILE: _file, LEOFS_MANAGER: _manager, ...env } = process.env;
    dev = spawn(process.execPath, [CLI, 'dev', '--manager-port', '0', '--http-port', '0', '--console-port', '0', '--traffic-sample-interval-ms', String(TRAFFIC_SAMPLE_INTERVAL_MS), '--log-level', 'info'], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    dev.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    dev.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await eventually(() => {
      if (dev!.exitCode !== null) throw new Error(`leofs dev exited:\n${out}`);
      return /npx leofs-adm.*status/.test(out);
    }, 90_000, `leofs dev up:\n${out}`);
    url = /console\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
    accessKeyId = /access key id (\S+)/.exec(out)![1]!;
    secret = /secret access key (\S+)/.exec(out)![1]!;
    managerAddress = /leofs-adm .*--manager (\S+)/.exec(out)![1]!;
    s3 = new S3Client({ endpoint: /S3\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey: secret } });
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'], timeout: 30_000, protocolTimeout: 30_000 });
    page = await browser.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    await page.setViewport({ width: 1280, height: 800 });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
  });

  after(async () => {
    s3?.destroy();
    await browser?.close();
    for (const node of extraNodes) await node.kill('SIGTERM');
    await stopChild(dev);
    if (root) rmSync(root, { recursive: true, force: true });
    if (!shots) return;
    if (anyFailed || process.env.LEOFS_KEEP_SCREENSHOTS) console.log(`      web console screenshots: ${shots}`);
    else rmSync(shots, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') anyFailed = true;
  });

  async function logIn(key: string, secretAccessKey: string): Promise<void> {
    await page.goto(`${url}/login`);
    await page.type('#access-key-id', key);
    await page.type('#secret-access-key', secretAccessKey);
    await Promise.all([page.waitForNavigation(), page.click('#login-button')]);
  }

  it('refuses a wrong secret and says why', async () => {
    await logIn(accessKeyId, `${secret}x`);
    expect(new URL(page.url()).pathname).to.equal('/login');
    await page.waitForSelector('#login-problem:not([hidden])');
    expect(await page.$eval('#login-problem', (node) => node.textContent)).to.include('wrong');
    await page.screenshot({ path: join(shots, 'login-refused.png') });
    const cookies = await browser!.cookies();
    expect(cookies.filter((cookie) => cookie.name === 'leofs_console')).to.deep.equal([]);
  });

  it('logs the admin in and shows three running storage nodes on one ring', async () => {
    await logIn(accessKeyId, secret);
    expect(new URL(page.url()).pathname).to.equal('/');
    const [cookie] = (await browser!.cookies()).filter((candidate) => candidate.name === 'leofs_console');
    expect(cookie).to.include({ httpOnly: true, sameSite: 'Strict' });
    await page.waitForFunction(`document.querySelectorAll('#nodes tr[data-role="storage"] .state-running').length === 3`);
    expect(await page.$eval('#ring-consistent', (node) => node.textContent)).to.equal('yes');
    expect(await page.$$eval('#ring path.arc', (paths) => new Set(paths.map((path) => path.getAttribute('data-node'))).size)).to.equal(3);
    const legend = await page.$$eval('#ring-legend li', (items) => items.map((item) => item.textContent ?? ''));
    expect(legend).to.have.length(3);
    // Each storage node's disk, from its watchdog's reading, e.g. "41% of 251.8 GiB".
    await page.waitForFunction(`[...document.querySelectorAll('#nodes tr[data-role="storage"] td.disk')].filter((cell) => / of /.test(cell.textContent)).length === 3`);
    await page.screenshot({ path: join(shots, 'cluster.png') });
  });

  it("charts each gateway's requests, latency and bytes of the last hour from the requests it answered", async () => {
    await s3!.send(new CreateBucketCommand({ Bucket: 'charts' }));
    let next = 0;
    await Promise.all(
      Array.from({ length: OBJECTS_IN_FLIGHT }, async () => {
        for (let i = next++; i < OBJECTS; i = next++) await s3!.send(new PutObjectCommand({ Bucket: 'charts', Key: `object-${i}`, Body: `body of object ${i}`.padEnd(512, '.') }));
      }),
    );
    await page.click('#nav-traffic');
    const requests = '#traffic-nodes section[data-node^="gateway_"] .chart[data-chart="Requests"] polyline';
    // A line with a point above zero: the puts, sampled by the manager and drawn by the page.
    await page.waitForFunction(
      `[...document.querySelectorAll('${requests}')].some((line) => (line.getAttribute('data-values') ?? '').split(' ').some((value) => Number(value) > 0))`,
      { timeout: 30_000 },
    );
    const drawn = await page.$$eval('#traffic-nodes section[data-node^="gateway_"] .chart', (charts) =>
      charts.map((chart) => ({ chart: chart.getAttribute('data-chart'), series: [...chart.querySelectorAll('polyline')].map((line) => line.getAttribute('data-series')) })),
    );
    expect(drawn.map((chart) => chart.chart)).to.deep.equal(['Requests', 'Latency', 'Bytes']);
    expect(new Set(drawn.find((chart) => chart.chart === 'Bytes')!.series)).to.include.members(['in', 'out']);
    expect(new Set(drawn.find((chart) => chart.chart === 'Latency')!.series)).to.include.members(['p50', 'p99']);
    await page.screenshot({ path: join(shots, 'traffic.png') });
  });

  it("shows each bucket's objects and size, and creates a bucket from the page", async () => {
    await page.click('#nav-accounts');
    await page.waitForSelector('#buckets tr[data-bucket="charts"]');
    // The charts step wrote OBJECTS objects of 512 bytes into this bucket.
    await page.waitForFunction(`document.querySelector('#buckets tr[data-bucket="charts"]')?.cells[3]?.textContent === '${OBJECTS}'`);
    expect(await page.$eval('#buckets tr[data-bucket="charts"]', (row) => (row as unknown as { cells: Array<{ textContent: string }> }).cells[4]!.textContent)).to.equal(`${((OBJECTS * 512) / 1024).toFixed(1)} KiB`);
    await page.type('#create-bucket input[name="bucket"]', 'from-the-page');
    await page.click('#create-bucket button[type="submit"]');
    await page.waitForSelector('#buckets tr[data-bucket="from-the-page"]');
    // Made after the count the page shows (kept for a while on the manager): not counted yet, not counting forever.
    await page.waitForFunction(`document.querySelector('#buckets tr[data-bucket="from-the-page"]')?.cells[3]?.textContent === '-'`);
    await s3!.send(new HeadBucketCommand({ Bucket: 'from-the-page' }));
    await page.screenshot({ path: join(shots, 'buckets.png') });
  });

  it('creates a user and shows its secret once', async () => {
    await page.click('#nav-accounts');
    await page.waitForSelector('#users tr[data-user="admin"]');
    await page.type('#create-user input[name="userId"]', 'carol');
    await page.click('#create-user button[type="submit"]');
    await page.waitForSelector('#new-secret:not([hidden])');
    expect(await page.$eval('#new-user-id', (node) => node.textContent)).to.equal('carol');
    expect(await page.$eval('#new-secret-access-key', (node) => node.textContent)).to.have.length.greaterThan(20);
    await page.waitForSelector('#users tr[data-user="carol"]');
    await page.screenshot({ path: join(shots, 'accounts.png') });
    await page.click('#hide-secret');
    expect(await page.$eval('#new-secret-access-key', (node) => node.textContent)).to.equal('');
  });

  it("rotates a user's access key: a second key is shown once, then the old one is deleted", async () => {
    const oldKey = await page.$eval('#users tr[data-user="carol"] td.mono', (node) => node.textContent ?? '');
    await page.click('#users tr[data-user="carol"] .keys-button');
    await page.waitForSelector(`#key-table tr[data-key="${oldKey}"]`);
    expect(await page.$eval(`#key-table tr[data-key="${oldKey}"] button.danger`, (node) => (node as unknown as { disabled: boolean }).disabled), 'the last key stays').to.equal(true);
    await page.click('#add-key');
    await page.waitForSelector('#new-key:not([hidden])');
    const newKey = await page.$eval('#new-key-id', (node) => node.textContent ?? '');
    expect(newKey).to.match(/^[A-Z0-9]{20}$/).and.not.equal(oldKey);
    expect(await page.$eval('#new-key-secret', (node) => node.textContent)).to.have.length(40);
    await page.waitForFunction(`document.querySelectorAll('#key-table tr[data-key]').length === 2`);
    expect(await page.$eval('#add-key', (node) => (node as unknown as { disabled: boolean }).disabled), 'two keys at most').to.equal(true);
    await page.screenshot({ path: join(shots, 'access-keys.png') });
    await page.click('#hide-key');
    await page.click(`#key-table tr[data-key="${oldKey}"] button.danger`);
    await page.waitForFunction(`document.querySelector('#key-table tr[data-key="${oldKey}"]') === null`);
    await page.waitForFunction(`document.querySelector('#users tr[data-user="carol"] td.mono')?.textContent === '${newKey}'`);
  });

  it("shows each storage node's durable queues and a node's actors with their mailboxes and restarts", async () => {
    await page.click('#nav-queues');
    await page.waitForFunction(`new Set([...document.querySelectorAll('#queues tbody tr[data-queue]')].map((row) => row.dataset.node)).size === 3`);
    await page.waitForFunction(`document.querySelectorAll('#background tbody tr').length === 3`);
    await page.waitForSelector('#actors tbody tr[data-path$="/recoverer"]');
    expect(await page.$eval('#actors-node', (node) => (node as unknown as { value: string }).value)).to.match(/^storage_\d@127\.0\.0\.1$/);
    const recoverer = await page.$$eval('#actors tbody tr[data-path$="/recoverer"] td', (cells) => cells.map((cell) => cell.textContent ?? ''));
    expect(recoverer[1]).to.equal('running');
    expect(Number(recoverer[2]), 'mailbox').to.be.at.least(0);
    await page.screenshot({ path: join(shots, 'queues-and-actors.png') });
  });

  it('refuses a change from the page without the CSRF token, or with a forged one', async () => {
    const tried = await page.evaluate(async () => {
      const create = (headers: Record<string, string>): Promise<Response> =>
        fetch('/api/users/create', { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ userId: 'mallory' }) });
      const without = await create({});
      const forged = await create({ 'X-CSRF-Token': 'forged-token' });
      const users = (await (await fetch('/api/users')).json()) as { users: Array<{ userId: string }> };
      return { without: without.status, code: ((await without.json()) as { code: string }).code, forged: forged.status, users: users.users.map((user) => user.userId) };
    });
    expect(tried).to.deep.equal({ without: 403, code: 'BadCsrfToken', forged: 403, users: ['admin', 'carol'] });
  });

  it('adds a fourth storage node, rebalances it in after a confirmation, and shows the bar at 100%', async () => {
    const fourth = new NodeProcess('storage_3@127.0.0.1', ['--role', 'storage', '--manager', managerAddress, '--data', join(root, 'storage_3'), '--cookie-file', join(root, 'data', 'dev', 'cookie'), '--log-level', 'warn']);
    extraNodes.push(fourth);
    await fourth.start(30_000);
    await page.click('#nav-cluster');
    await page.waitForSelector('#nodes tr[data-node="storage_3@127.0.0.1"] .state-attached');
    expect(await page.$eval('#rebalance-hint', (node) => node.textContent)).to.include('storage_3@127.0.0.1 (attached)');
    const asked = dialogs.length;
    // Every bar the page draws is watched: one below 100% shows data on its way.
    await page.evaluate(`
      window.barsSeen = [];
      new MutationObserver(() => {
        for (const bar of document.querySelectorAll('#rebalance-bars progress')) window.barsSeen.push({ value: bar.value, max: bar.max });
      }).observe(document.getElementById('rebalance-bars'), { childList: true });
    `);
    await page.click('#start-rebalance');
    await page.waitForSelector('#rebalance-state[data-state="finished"]', { timeout: 60_000 });
    // Once over, each receiver says what it took in: the objects written above, partly.
    await page.waitForSelector('#rebalance-bars .bar-row[data-node="storage_3@127.0.0.1"][data-objects]');
    const moved = await page.$eval('#rebalance-bars .bar-row[data-node="storage_3@127.0.0.1"]', (row) => ({ objects: Number(row.getAttribute('data-objects')), bytes: Number(row.getAttribute('data-bytes')) }));
    const seen = (await page.evaluate('window.barsSeen')) as Array<{ value: number; max: number }>;
    expect(moved.objects > 0 || seen.some((bar) => bar.value < bar.max), `data moved (${JSON.stringify(moved)}, bars seen ${JSON.stringify(seen)})`).to.equal(true);
    expect(moved.objects, 'objects moved to the new node').to.be.within(1, OBJECTS);
    expect(moved.bytes).to.be.greaterThan(0);
    expect(dialogs.slice(asked), 'asked once before it started').to.have.length(1);
    expect(dialogs.at(-1)).to.match(/^Start a rebalance\?/);
    const bars = await page.$$eval('#rebalance-bars .bar-row', (rows) => rows.map((row) => ({ node: (row as unknown as { dataset: { node: string } }).dataset.node, value: (row.querySelector('progress') as unknown as { value: number; max: number }).value, max: (row.querySelector('progress') as unknown as { max: number }).max })));
    expect(bars.map((bar) => bar.node)).to.include('storage_3@127.0.0.1');
    for (const bar of bars) expect(bar.value, bar.node).to.equal(bar.max);
    await page.waitForSelector('#nodes tr[data-node="storage_3@127.0.0.1"] .state-running');
    await page.waitForFunction(`document.querySelectorAll('#ring-legend li').length === 4`);
    await page.screenshot({ path: join(shots, 'cluster-rebalanced.png') });
  });

  it('suspends a storage node and resumes it from the Cluster page', async () => {
    await page.click('#nodes tr[data-node="storage_3@127.0.0.1"] button[data-action="suspend"]');
    await page.waitForSelector('#nodes tr[data-node="storage_3@127.0.0.1"] .state-suspend');
    await page.waitForSelector('#notice:not([hidden])');
    await page.click('#nodes tr[data-node="storage_3@127.0.0.1"] button[data-action="resume"]');
    await page.waitForSelector('#nodes tr[data-node="storage_3@127.0.0.1"] .state-running');
    expect(await page.$('#nodes tr[data-node="storage_3@127.0.0.1"] button[data-action="detach"]'), 'detach offered').to.not.equal(null);
  });

  it('logs out, after which nothing answers without logging in again', async () => {
    await Promise.all([page.waitForNavigation(), page.click('#logout')]);
    expect(new URL(page.url()).pathname).to.equal('/login');
    await page.goto(`${url}/`);
    expect(new URL(page.url()).pathname).to.equal('/login');
    const status = await page.evaluate(async () => (await fetch('/api/users')).status);
    expect(status).to.equal(401);
  });

  it('ends a session left idle for the time its manager is configured with, and says so at the login', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leofs-console-expiry-'));
    const config = join(dir, 'manager.json');
    // Long enough for the login and the first page to load on a busy machine before the session lapses.
    writeFileSync(config, JSON.stringify({ console: { port: 0, sessionIdleMinutes: 10 / 60 } }));
    const manager = new NodeProcess('manager_0@127.0.0.1', ['--role', 'manager', '--data', join(dir, 'manager'), '--cookie', 'console-expiry-test-cookie', '--config', config, '--log-level', 'warn']);
    extraNodes.push(manager);
    const context = await browser!.createBrowserContext();
    try {
      await manager.start(30_000);
      const consoleUrl = String(manager.lines.find((line) => line.msg === 'node started')!.console);
      // The admin user is made once the manager leads, after its start line.
      const keysFile = join(dir, 'manager', ADMIN_CREDENTIALS_FILE);
      await eventually(() => readAdminCredentials(keysFile) !== undefined, 30_000, 'the admin keys written');
      const keys = readAdminCredentials(keysFile)!;
      const idlePage = await context.newPage();
      idlePage.setDefaultTimeout(STEP_TIMEOUT_MS);
      // The admin keys are written when the manager leads; the key sessions are signed with may still be
      // in derivation then, and the login page asks to try again in a moment, as an operator would.
      await eventually(async () => {
        await idlePage.goto(`${consoleUrl}/login`);
        await idlePage.type('#access-key-id', keys.accessKeyId);
        await idlePage.type('#secret-access-key', keys.secretAccessKey);
        await Promise.all([idlePage.waitForNavigation(), idlePage.click('#login-button')]);
        return new URL(idlePage.url()).searchParams.get('failed') !== 'unavailable';
      }, 30_000, 'the manager able to check logins');
      expect(new URL(idlePage.url()).pathname).to.equal('/');
      // The Cluster page only follows the live feed, which does not count as use: the session lapses and the page is sent to the login.
      await idlePage.waitForFunction(`window.location.pathname === '/login'`);
      expect(new URL(idlePage.url()).searchParams.get('failed')).to.equal('expired');
      expect(await idlePage.$eval('#login-problem', (node) => node.textContent)).to.include('session has ended');
      expect(await idlePage.evaluate(async () => (await fetch('/api/users')).status)).to.equal(401);
      await idlePage.screenshot({ path: join(shots, 'session-expired.png') });
    } finally {
      await context.close();
      await manager.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
