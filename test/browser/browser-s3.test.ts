/**
 * Bucket CORS as a web application meets it: a real headless Chromium opens a page served from
 * another origin and, with fetch, reads an object through a presigned GET URL (its ETag readable
 * only because the rule exposes it) and uploads one through a presigned PUT URL, which the browser
 * sends only after a preflight that asks for the method and for its Content-Type header. When the rules do not allow the page's origin, the browser itself refuses
 * both requests for CORS reasons, and the upload never reaches the store. Chromium is the Debian
 * package installed by .ci/run; where it is missing the test says so and is skipped. An HTML form
 * with a signed policy uploads a file chosen in the page straight to the bucket (POST object), and the
 * store sends the browser back to the application with the object named in the query.
 */
import { DeleteBucketCorsCommand, HeadObjectCommand, GetObjectCommand, PutBucketCorsCommand, PutObjectCommand, type CORSRule, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import puppeteer, { type Browser, type CDPSession, type Page } from 'puppeteer-core';
import { bodyOf, eventually, failure, presignedPath, startHarness, USERS, type Harness } from '../support/gateway-harness.js';

const CHROMIUM = '/usr/bin/chromium';
const BUCKET = 'webapp-assets';
const GREETING_KEY = 'greeting.txt';
const GREETING = 'hello from the object store';
const BROWSER_STEP_TIMEOUT_MS = 15_000;

/** What a fetch made inside the page came to: the parts of the response the page may read, or the error. */
type PageFetchOutcome =
  | { readonly fetched: true; readonly status: number; readonly body: string; readonly etag: string | null; readonly requestId: string | null }
  | { readonly fetched: false; readonly errorName: string; readonly errorMessage: string };

interface PageFetchRequest {
  readonly method: 'GET' | 'PUT';
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/**
 * Runs fetch in the page, as the page's own script would, bounded by a timeout of its own. The HTTP
 * cache is bypassed: presigned URLs made within the same second are equal, and a cached answer would
 * carry the CORS headers of the rules in force when it was stored.
 */
function fetchFromPage(page: Page, url: string, request: PageFetchRequest): Promise<PageFetchOutcome> {
  return page.evaluate(
    async (url, request, timeoutMs): Promise<PageFetchOutcome> => {
      try {
        // `cache` is the browser's option, missing from Node's RequestInit type.
        const init = { ...request, cache: 'no-store' as const, signal: AbortSignal.timeout(timeoutMs) };
        const response = await fetch(url, init);
        return {
          fetched: true,
          status: response.status,
          body: await response.text(),
          etag: response.headers.get('etag'),
          requestId: response.headers.get('x-amz-request-id'),
        };
      } catch (error) {
        const { name, message } = error as Error;
        return { fetched: false, errorName: name, errorMessage: message };
      }
    },
    url,
    request,
    BROWSER_STEP_TIMEOUT_MS,
  );
}

/** Serves the web application's pages (`pages` by path, a plain page otherwise), from an origin of its own. */
async function startWebApp(pages: ReadonlyMap<string, string>): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(pages.get(path) ?? '<!doctype html><html><head><title>web app</title></head><body>web app</body></html>');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The reasons Chromium gave for the CORS failures it saw, from the DevTools protocol's network events. */
async function watchCorsErrors(page: Page): Promise<{ session: CDPSession; reasons: string[] }> {
  const session = await page.createCDPSession();
  const reasons: string[] = [];
  session.on('Network.loadingFailed', (event) => {
    if (event.corsErrorStatus !== undefined) reasons.push(event.corsErrorStatus.corsError);
  });
  await session.send('Network.enable');
  return { session, reasons };
}

describe('browser: CORS and form uploads', function () {
  this.timeout(120_000);

  let h: Harness;
  let alice: S3Client;
  let webApp: { server: Server; origin: string } | undefined;
  let browser: Browser | undefined;
  let page: Page;
  /** Pages the web app serves besides its plain one, set by a test before it opens them. */
  const appPages = new Map<string, string>();

  async function setCorsRules(rules: CORSRule[]): Promise<void> {
    await alice.send(new PutBucketCorsCommand({ Bucket: BUCKET, CORSConfiguration: { CORSRules: rules } }));
    const origins = rules.flatMap((rule) => rule.AllowedOrigins ?? []);
    await eventually(() => JSON.stringify(h.view.bucket(BUCKET)?.cors?.rules.flatMap((rule) => rule.allowedOrigins)) === JSON.stringify(origins));
  }

  async function removeCorsRules(): Promise<void> {
    await alice.send(new DeleteBucketCorsCommand({ Bucket: BUCKET }));
    await eventually(() => h.view.bucket(BUCKET)?.cors === undefined);
  }

  function rulesFor(origin: string): CORSRule[] {
    return [{ AllowedOrigins: [origin], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['content-type'], ExposeHeaders: ['ETag'] }];
  }

  /** How many preflights the gateway has answered with 200, from its request log. */
  function answeredPreflights(): number {
    return h.logs.filter((line) => line.msg === 'request' && line.method === 'OPTIONS' && line.status === 200).length;
  }

  async function presignedUrl(method: 'GET' | 'PUT', key: string): Promise<string> {
    return h.endpoint + (await presignedPath(h.endpoint, 'alice', { method, path: `/${BUCKET}/${key}` }));
  }

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.warn(`      ${CHROMIUM} is missing (Debian package chromium): browser CORS tests skipped`);
      this.skip();
    }
    h = await startHarness();
    h.admin.addBucket(BUCKET, 'alice', 'private');
    alice = h.client('alice');
    await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: GREETING_KEY, Body: GREETING, ContentType: 'text/plain' }));
    webApp = await startWebApp(appPages);
    // headless: true has puppeteer start Chromium with --headless=new.
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox'],
      timeout: 30_000,
      protocolTimeout: 30_000,
    });
    page = await browser.newPage();
    page.setDefaultTimeout(BROWSER_STEP_TIMEOUT_MS);
    page.setDefaultNavigationTimeout(BROWSER_STEP_TIMEOUT_MS);
    await page.goto(`${webApp.origin}/`, { waitUntil: 'load' });
    expect(await page.title()).to.equal('web app');
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    if (webApp !== undefined) await closeServer(webApp.server);
    await h?.close();
  });

  it('lets the page of an allowed origin read an object with its exposed ETag and upload one through a preflight', async () => {
    await setCorsRules(rulesFor(webApp!.origin));
    const expectedEtag = (await alice.send(new HeadObjectCommand({ Bucket: BUCKET, Key: GREETING_KEY }))).ETag;

    const read = await fetchFromPage(page, await presignedUrl('GET', GREETING_KEY), { method: 'GET' });
    expect(read).to.deep.include({ fetched: true, status: 200, body: GREETING, etag: expectedEtag });
    // The gateway sends x-amz-request-id too, but the rule does not expose it, so the page cannot read it.
    expect(read).to.have.property('requestId', null);

    // application/json, unlike text/plain, is not a content type a page may send unasked: the
    // preflight names the Content-Type header, which the rule must allow.
    const uploaded = JSON.stringify({ writtenBy: 'the web app' });
    const preflightsBefore = answeredPreflights();
    const upload = await fetchFromPage(page, await presignedUrl('PUT', 'from-browser.json'), {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: uploaded,
    });
    expect(upload).to.deep.include({ fetched: true, status: 200 });
    expect(answeredPreflights()).to.equal(preflightsBefore + 1);
    const stored = await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'from-browser.json' }));
    expect((await bodyOf(stored)).toString('utf8')).to.equal(uploaded);
    expect(stored.ContentType).to.equal('application/json');
    expect(upload).to.have.property('etag', stored.ETag);
  });

  it('has the browser refuse both requests when the rules allow another origin, and when there are none', async () => {
    const { session, reasons } = await watchCorsErrors(page);
    try {
      for (const arrange of [() => setCorsRules(rulesFor('http://elsewhere.example')), () => removeCorsRules()]) {
        await arrange();
        reasons.length = 0;
        const getUrl = await presignedUrl('GET', GREETING_KEY);

        const read = await fetchFromPage(page, getUrl, { method: 'GET' });
        expect(read).to.deep.include({ fetched: false, errorName: 'TypeError' });
        const upload = await fetchFromPage(page, await presignedUrl('PUT', 'refused.json'), {
          method: 'PUT',
          headers: { 'Content-Type': 'application/json' },
          body: '{"stored":false}',
        });
        expect(upload).to.deep.include({ fetched: false, errorName: 'TypeError' });

        // The GET was answered but its answer withheld from the page; the PUT's preflight was refused,
        // so the PUT itself was never sent.
        await eventually(() => reasons.length === 2, BROWSER_STEP_TIMEOUT_MS);
        expect(reasons[0]).to.equal('MissingAllowOriginHeader');
        expect(reasons[1]).to.match(/^Preflight/);
        expect(await failure(alice.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'refused.json' })))).to.deep.equal({ name: 'NotFound', status: 404 });
        // The same URL outside a browser still works: the refusal is the browser enforcing the rules.
        const direct = await fetch(getUrl, { signal: AbortSignal.timeout(BROWSER_STEP_TIMEOUT_MS) });
        expect([direct.status, await direct.text()]).to.deep.equal([200, GREETING]);
      }
    } finally {
      await session.detach().catch(() => undefined);
    }
  });

  it('uploads a file chosen in an HTML form straight to the bucket, and sends the browser back to the application', async () => {
    const done = `${webApp!.origin}/uploaded`;
    const policy = Buffer.from(JSON.stringify({
      expiration: new Date(Date.now() + 10 * 60_000).toISOString(),
      conditions: [{ bucket: BUCKET }, ['starts-with', '$key', 'forms/'], { success_action_redirect: done }, ['starts-with', '$Content-Type', 'text/'], ['content-length-range', 1, 1024 * 1024]],
    })).toString('base64');
    const signature = createHmac('sha1', USERS.alice.secretAccessKey).update(policy).digest('base64');
    const hidden = { key: 'forms/${filename}', AWSAccessKeyId: USERS.alice.accessKeyId, policy, signature, success_action_redirect: done, 'Content-Type': 'text/plain' };
    appPages.set('/form', `<!doctype html><html><head><title>upload</title></head><body>
      <form id="upload" action="${h.endpoint}/${BUCKET}" method="post" enctype="multipart/form-data">
        ${Object.entries(hidden).map(([name, value]) => `<input type="hidden" name="${name}" value="${value}">`).join('\n        ')}
        <input type="file" name="file"><button type="submit">Upload</button>
      </form></body></html>`);
    appPages.set('/uploaded', '<!doctype html><html><head><title>uploaded</title></head><body>thanks</body></html>');

    const directory = mkdtempSync(join(tmpdir(), 'leofs-browser-'));
    try {
      const chosen = join(directory, 'notes.txt');
      writeFileSync(chosen, 'written in the browser\n');
      await page.goto(`${webApp!.origin}/form`, { waitUntil: 'load' });
      const input = await page.$('input[type=file]');
      await input!.uploadFile(chosen);
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type=submit]')]);
      const landed = new URL(page.url());
      expect(`${landed.origin}${landed.pathname}`).to.equal(done);
      expect([landed.searchParams.get('bucket'), landed.searchParams.get('key')]).to.deep.equal([BUCKET, 'forms/notes.txt']);
      const stored = await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'forms/notes.txt' }));
      expect((await bodyOf(stored)).toString('utf8')).to.equal('written in the browser\n');
      expect([stored.ContentType, stored.ETag]).to.deep.equal(['text/plain', landed.searchParams.get('etag')]);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
