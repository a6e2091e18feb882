/**
 * The plain REST API over the in-memory gateway: unsigned object requests from trusted networks run the
 * S3 handlers as the configured user, on the same storage and caches as the S3 API; everything else is
 * refused with the S3 error it is, told as JSON.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createGatewayDeps, startGatewayServer, type GatewayServer } from '../../../src/actors/gateway/gateway-server.js';
import { parseRestConfig, type RestConfig } from '../../../src/actors/gateway/rest/rest-config.js';
import { restEntry } from '../../../src/actors/gateway/rest/rest-entry.js';
import { restListenerBehavior } from '../../../src/actors/gateway/rest/rest-listener.js';
import { ClientNetworks } from '../../../src/actors/gateway/client-networks.js';
import { restListenerRef, type RestListenerMessage, type RestListenerStatus } from '../../../src/protocol/cluster/rest-listener.js';
import { systemClock } from '../../../src/runtime/clock.js';
import { isRuntimeFailure } from '../../../src/runtime/failures.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { supervisor, worker } from '../../../src/runtime/supervisor.js';
import { ActorSystem } from '../../../src/runtime/system.js';
import { bodyOf, eventually, type Harness, MiB, pattern, rawRequest, type RawResponse, signedHeaders, startHarness, xmlValue } from '../../support/gateway-harness.js';

const CHUNK_BYTES = 64 * 1024;

function restConfig(raw: unknown): RestConfig {
  const parsed = parseRestConfig(raw);
  if (!parsed.ok || parsed.config === undefined) throw new Error(parsed.ok ? 'off' : parsed.problem);
  return parsed.config;
}

/** A REST listener started without its actor, over the harness's storage, users and cache. */
async function restServer(h: Harness, config: RestConfig): Promise<GatewayServer> {
  const deps = createGatewayDeps({
    config: h.deps.config, storage: h.storage, authView: h.view, bucketAdmin: h.admin, clock: systemClock, log: memoryLogger('error').logger,
    node: 'gateway_test@127.0.0.1', cache: h.deps.cache, diskCache: h.deps.diskCache, requests: h.deps.requests,
  });
  const networks = new ClientNetworks(config.allow);
  return startGatewayServer(deps, { name: 'REST', host: config.host, port: config.port, entry: restEntry(config, networks), admits: (address) => networks.includes(address) });
}

const md5 = (bytes: Buffer | string): string => createHash('md5').update(bytes).digest('hex');

interface JsonError {
  readonly code: string;
  readonly message: string;
  readonly resource?: string;
  readonly requestId: string;
  readonly details?: Readonly<Record<string, string>>;
}

/** The JSON error body of a REST answer, checked to be one, with the request id of its headers. */
function jsonError(answer: RawResponse): JsonError {
  expect(answer.headers['content-type']).to.equal('application/json');
  expect(answer.headers['content-length']).to.equal(String(answer.body.length));
  const parsed = JSON.parse(answer.text) as { error: JsonError };
  expect(Object.keys(parsed)).to.deep.equal(['error']);
  expect(parsed.error.requestId).to.match(/^[0-9A-F]{16}$/);
  if (answer.headers['x-amz-request-id'] !== undefined) expect(parsed.error.requestId).to.equal(answer.headers['x-amz-request-id']);
  return parsed.error;
}

/** What the gateway answers to bytes written on a fresh connection, read until it closes. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const parts: Buffer[] = [];
    socket.on('data', (d: Buffer) => parts.push(d));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(parts).toString('utf8')));
  });
}

describe('actors/gateway REST API', function () {
  this.timeout(30_000);
  let h: Harness;
  let system: ActorSystem;
  let rest: string;
  let logs: Array<Record<string, unknown>>;
  let cacheDir: string;
  const registry = new Registry();

  before(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'rest-cache-'));
    h = await startHarness({
      config: { chunkSizeBytes: CHUNK_BYTES, cacheMaxObjectBytes: 16 * 1024, cacheDiskBytes: 64 * MiB, cacheDiskDir: cacheDir },
      metrics: registry,
    });
    h.admin.addBucket('docs', 'alice');
    h.admin.addBucket('private', 'bob');
    const logger = memoryLogger('info');
    logs = logger.lines;
    system = new ActorSystem({ node: 'gateway_0@127.0.0.1', clock: systemClock, logger: logger.logger });
    const listener = restListenerBehavior({
      config: h.deps.config, storage: h.storage, authView: h.view, bucketAdmin: h.admin, cache: h.deps.cache, diskCache: h.deps.diskCache,
      requests: h.deps.requests, rest: restConfig({ port: 0, user: 'alice' }),
    });
    await system.startRoot(
      'node',
      { strategy: 'one_for_one', maxRestarts: 3, periodMs: 10_000, children: [supervisor('gateway', { strategy: 'one_for_one', maxRestarts: 3, periodMs: 10_000, children: [worker('rest', listener)] })] },
      () => undefined,
    );
    const status = await system.ask<RestListenerMessage, RestListenerStatus>(restListenerRef('gateway_0@127.0.0.1'), (replyTo) => ({ type: 'status', replyTo }), 2_000);
    if (isRuntimeFailure(status)) throw new Error(status.message);
    rest = `http://127.0.0.1:${status.port}`;
  });

  after(async () => {
    await system?.stop();
    await h?.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('warns in the log, when it opens, where it listens, for whom, and as which user', () => {
    const warning = logs.find((line) => line.level === 'warn' && typeof line.msg === 'string' && line.msg.startsWith('unsigned REST API enabled'));
    expect(warning?.msg).to.match(/^unsigned REST API enabled on 127\.0\.0\.1:\d+ for 127\.0\.0\.0\/8, ::1\/128; anyone there acts as alice$/);
  });

  it('PUTs, GETs, HEADs and DELETEs an object byte for byte without signing', async () => {
    const body = pattern(5000, 3);
    const put = await rawRequest(rest, { method: 'PUT', path: '/docs/notes/a%20b.bin', headers: { 'content-type': 'application/x-test' }, body });
    expect(put.status).to.equal(200);
    expect(put.headers.etag).to.equal(`"${md5(body)}"`);

    const got = await rawRequest(rest, { method: 'GET', path: '/docs/notes/a%20b.bin' });
    expect(got.status).to.equal(200);
    expect(got.body.equals(body)).to.equal(true);
    expect(got.headers['content-type']).to.equal('application/x-test');
    expect(got.headers.etag).to.equal(`"${md5(body)}"`);

    const range = await rawRequest(rest, { method: 'GET', path: '/docs/notes/a%20b.bin', headers: { range: 'bytes=10-19' } });
    expect(range.status).to.equal(206);
    expect(range.body.equals(body.subarray(10, 20))).to.equal(true);
    const unchanged = await rawRequest(rest, { method: 'GET', path: '/docs/notes/a%20b.bin', headers: { 'if-none-match': `"${md5(body)}"` } });
    expect(unchanged.status).to.equal(304);

    const head = await rawRequest(rest, { method: 'HEAD', path: '/docs/notes/a%20b.bin' });
    expect(head.status).to.equal(200);
    expect(head.headers['content-length']).to.equal(String(body.length));
    expect(head.body.length).to.equal(0);

    expect((await rawRequest(rest, { method: 'DELETE', path: '/docs/notes/a%20b.bin' })).status).to.equal(204);
    const gone = await rawRequest(rest, { method: 'GET', path: '/docs/notes/a%20b.bin' });
    expect(gone.status).to.equal(404);
    expect(jsonError(gone)).to.include({ code: 'NoSuchKey', message: 'The specified key does not exist.', resource: '/docs/notes/a b.bin' });
    expect(h.storage.record('object', 'docs', 'notes/a b.bin')?.deleted).to.equal(true);
  });

  it('cuts a large body into chunks as the S3 API does, and reads it back whole and by range', async () => {
    const body = pattern(5 * CHUNK_BYTES + 777, 5);
    const put = await rawRequest(rest, { method: 'PUT', path: '/docs/big.bin', body });
    expect(put.status).to.equal(200);
    expect(put.headers.etag).to.equal(`"${md5(body)}"`);
    const meta = h.storage.record('object', 'docs', 'big.bin')!;
    expect(meta.sizeBytes).to.equal(body.length);
    expect(meta.chunks?.chunkSizesBytes).to.deep.equal([...Array(5).fill(CHUNK_BYTES), 777]);
    expect(h.storage.liveKeys('chunk', 'docs')).to.have.length(6);

    const got = await rawRequest(rest, { method: 'GET', path: '/docs/big.bin' });
    expect(got.body.equals(body)).to.equal(true);
    const across = await rawRequest(rest, { method: 'GET', path: '/docs/big.bin', headers: { range: `bytes=${CHUNK_BYTES - 5}-${2 * CHUNK_BYTES + 4}` } });
    expect(across.status).to.equal(206);
    expect(across.body.equals(body.subarray(CHUNK_BYTES - 5, 2 * CHUNK_BYTES + 5))).to.equal(true);
  });

  it('shares objects with the S3 API both ways, as the user it acts as', async () => {
    const overRest = pattern(3000, 7);
    expect((await rawRequest(rest, { method: 'PUT', path: '/docs/shared-1', body: overRest })).status).to.equal(200);
    const s3 = h.client('alice');
    const read = await s3.send(new GetObjectCommand({ Bucket: 'docs', Key: 'shared-1' }));
    expect((await bodyOf(read)).equals(overRest)).to.equal(true);

    const overS3 = pattern(2 * CHUNK_BYTES + 1, 8);
    await s3.send(new PutObjectCommand({ Bucket: 'docs', Key: 'shared-2', Body: overS3 }));
    expect((await rawRequest(rest, { method: 'GET', path: '/docs/shared-2' })).body.equals(overS3)).to.equal(true);
  });

  it('lists a bucket with GET /bucket/, as ListObjects does', async () => {
    expect((await rawRequest(rest, { method: 'PUT', path: '/docs/list/one', body: '1' })).status).to.equal(200);
    const listed = await rawRequest(rest, { method: 'GET', path: '/docs/?prefix=list/' });
    expect(listed.status).to.equal(200);
    expect(listed.text).to.contain('<Key>list/one</Key>');
  });

  it('refuses a bucket its user has no rights to: 403 AccessDenied, whatever a request signs', async () => {
    const denied = await rawRequest(rest, { method: 'PUT', path: '/private/x', body: 'no' });
    expect(denied.status).to.equal(403);
    expect(jsonError(denied)).to.include({ code: 'AccessDenied', resource: '/private/x' });
    const read = await rawRequest(rest, { method: 'GET', path: '/private/x' });
    expect(read.status).to.equal(403);
    expect(jsonError(read).code).to.equal('AccessDenied');
    // A signature is not looked at: bob's own signature does not make the request bob's.
    const asBob = { method: 'GET', path: '/private/x' };
    const signed = await rawRequest(rest, { ...asBob, headers: await signedHeaders(rest, 'bob', asBob) });
    expect(signed.status).to.equal(403);
    expect(h.storage.record('object', 'private', 'x')).to.equal(undefined);
  });

  it('answers 501 NotImplemented for what only the S3 API offers, and 405 for a method no object has', async () => {
    for (const request of [
      { method: 'GET', path: '/' },
      { method: 'PUT', path: '/new-bucket' },
      { method: 'DELETE', path: '/docs' },
      { method: 'GET', path: '/docs/k?acl' },
      { method: 'POST', path: '/docs/k?uploads' },
      { method: 'PUT', path: '/docs/copy', headers: { 'x-amz-copy-source': '/docs/big.bin' } },
    ]) {
      const answer = await rawRequest(rest, request);
      expect(answer.status, `${request.method} ${request.path}`).to.equal(501);
      const error = jsonError(answer);
      expect(error.code).to.equal('NotImplemented');
      expect(error.message).to.match(/The REST API serves only GET, PUT, HEAD and DELETE of \/bucket\/key/);
    }
    expect(h.view.bucket('new-bucket')).to.equal(undefined);
    for (const method of ['POST', 'PATCH']) {
      const answer = await rawRequest(rest, { method, path: '/docs/k' });
      expect(answer.status, method).to.equal(405);
      expect(jsonError(answer)).to.include({ code: 'MethodNotAllowed', resource: '/docs/k' });
    }
  });

  it('answers a client outside its networks 403 before reading a request, so storage never hears of it', async () => {
    const server = await restServer(h, restConfig({ port: 0, allow: ['10.0.0.0/8'], user: 'alice' }));
    try {
      const calls = h.storage.calls.length;
      const refused = await rawRequest(`http://127.0.0.1:${server.port}`, { method: 'PUT', path: '/docs/outsider', body: 'x' });
      expect(refused.status).to.equal(403);
      expect(jsonError(refused)).to.include({ code: 'AccessDenied', message: 'This address may not use the REST API.' });
      expect(h.storage.calls.length).to.equal(calls);
      expect(h.storage.record('object', 'docs', 'outsider')).to.equal(undefined);
    } finally {
      await server.close(1_000);
    }
  });

  it('refuses every request while the user it acts as does not exist', async () => {
    const server = await restServer(h, restConfig({ port: 0, user: 'carol' }));
    try {
      const refused = await rawRequest(`http://127.0.0.1:${server.port}`, { method: 'GET', path: '/docs/big.bin' });
      expect(refused.status).to.equal(403);
      expect(jsonError(refused)).to.include({ code: 'AccessDenied', message: 'The user the REST API acts as does not exist.' });
    } finally {
      await server.close(1_000);
    }
  });

  it('tells errors as JSON with the S3 code and status: 404 for a missing bucket, 400 for a bad request', async () => {
    const noBucket = await rawRequest(rest, { method: 'GET', path: '/nowhere/k' });
    expect(noBucket.status).to.equal(404);
    expect(jsonError(noBucket)).to.include({ code: 'NoSuchBucket', resource: '/nowhere/k' });

    const badDigest = await rawRequest(rest, { method: 'PUT', path: '/docs/digest', headers: { 'content-md5': 'not-base64!' }, body: 'x' });
    expect(badDigest.status).to.equal(400);
    const error = jsonError(badDigest);
    expect(error).to.include({ code: 'InvalidDigest', message: 'The Content-MD5 you specified is not valid.', resource: '/docs/digest' });
    expect(error.details).to.deep.equal({ 'Content-MD5': 'not-base64!' });
    expect(h.storage.record('object', 'docs', 'digest')).to.equal(undefined);

    const badQuery = await rawRequest(rest, { method: 'GET', path: '/docs/k?prefix=%zz' });
    expect(badQuery.status).to.equal(400);
    expect(jsonError(badQuery).code).to.equal('InvalidURI');
  });

  it('answers what is not HTTP at all with a JSON 400 too, before any request is read', async () => {
    const port = Number(new URL(rest).port);
    const answer = await rawExchange(port, 'NOT HTTP\r\n\r\n');
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    expect(head).to.match(/^HTTP\/1\.1 400 /);
    expect(head).to.match(/\r\nContent-Type: application\/json\r\n/);
    expect((JSON.parse(body) as { error: JsonError }).error.code).to.equal('InvalidRequest');
  });

  it('answers a HEAD error with its status and no body, keeps S3 XML for a client that ranks XML first, and says errors vary with Accept', async () => {
    const head = await rawRequest(rest, { method: 'HEAD', path: '/docs/missing' });
    expect(head.status).to.equal(404);
    expect(head.body.length).to.equal(0);

    const xml = await rawRequest(rest, { method: 'GET', path: '/docs/missing', headers: { accept: 'application/xml' } });
    expect(xml.status).to.equal(404);
    expect(xml.headers['content-type']).to.equal('application/xml');
    expect(xmlValue(xml.text, 'Code')).to.equal('NoSuchKey');
    expect(xml.headers['vary']).to.equal('Accept');
    const ranked = await rawRequest(rest, { method: 'GET', path: '/docs/missing', headers: { accept: 'application/xml;q=0.5, application/json' } });
    expect(jsonError(ranked).code).to.equal('NoSuchKey');
    expect(ranked.headers['vary']).to.equal('Accept');
    const anything = await rawRequest(rest, { method: 'GET', path: '/docs/missing', headers: { accept: 'application/xml;q=0.5, */*' } });
    expect(jsonError(anything).code).to.equal('NoSuchKey');
  });

  it('leaves the S3 API\'s errors in S3 XML', async () => {
    const request = { method: 'GET', path: '/docs/missing' };
    const answer = await rawRequest(h.endpoint, { ...request, headers: { ...(await signedHeaders(h.endpoint, 'alice', request)), accept: 'application/json' } });
    expect(answer.status).to.equal(404);
    expect(answer.headers['content-type']).to.equal('application/xml');
    expect(xmlValue(answer.text, 'Code')).to.equal('NoSuchKey');
  });

  it('counts its requests apart from the S3 API\'s in the gateway\'s metrics', async () => {
    const count = async (labels: Record<string, string>): Promise<number> => {
      const metric = await registry.getSingleMetric('leofs_s3_requests_total')!.get();
      return metric.values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
    };
    const before = { rest: await count({ api: 'REST', operation: 'GetObject', status: '200' }), s3: await count({ api: 'S3', operation: 'GetObject', status: '200' }) };
    const missing = await count({ api: 'REST', operation: 'GetObject', status: '404' });
    expect((await rawRequest(rest, { method: 'PUT', path: '/docs/counted', body: 'c' })).status).to.equal(200);
    for (let i = 0; i < 3; i++) expect((await rawRequest(rest, { method: 'GET', path: '/docs/counted' })).status).to.equal(200);
    expect((await rawRequest(rest, { method: 'GET', path: '/docs/uncounted' })).status).to.equal(404);
    await bodyOf(await h.client('alice').send(new GetObjectCommand({ Bucket: 'docs', Key: 'counted' })));
    // A response is counted when its connection reports it closed.
    await eventually(async () => (await count({ api: 'S3', operation: 'GetObject', status: '200' })) === before.s3 + 1);
    expect(await count({ api: 'REST', operation: 'GetObject', status: '200' })).to.equal(before.rest + 3);
    expect(await count({ api: 'REST', operation: 'GetObject', status: '404' })).to.equal(missing + 1);
    const latency = await registry.getSingleMetric('leofs_s3_request_duration_seconds')!.get();
    const restGets = latency.values.find((v) => (v as { metricName?: string }).metricName === 'leofs_s3_request_duration_seconds_count' && v.labels.api === 'REST' && v.labels.operation === 'GetObject');
    expect(restGets?.value).to.be.at.least(4);
  });

  it('reads large objects through the disk tier as S3 GETs do: the second GET is served from it', async () => {
    const body = pattern(3 * MiB + 5, 11);
    expect((await rawRequest(rest, { method: 'PUT', path: '/docs/tiered.bin', body })).status).to.equal(200);
    const disk = h.deps.diskCache;
    const chunkReads = (): number => h.storage.calls.filter((c) => c.op === 'get' && c.kind === 'chunk').length;
    const { hits, entries } = disk.stats;
    expect((await rawRequest(rest, { method: 'GET', path: '/docs/tiered.bin' })).body.equals(body)).to.equal(true);
    // The copy the first GET leaves is completed in the background.
    await eventually(() => disk.stats.entries === entries + 1);
    const warm = chunkReads();
    expect((await rawRequest(rest, { method: 'GET', path: '/docs/tiered.bin' })).body.equals(body)).to.equal(true);
    const range = await rawRequest(rest, { method: 'GET', path: '/docs/tiered.bin', headers: { range: 'bytes=1048570-2097160' } });
    expect(range.status).to.equal(206);
    expect(range.body.equals(body.subarray(1048570, 2097161))).to.equal(true);
    expect(disk.stats.hits).to.equal(hits + 2);
    expect(chunkReads()).to.equal(warm);
    const metric = await registry.getSingleMetric('leofs_gateway_cache_hits_total')!.get();
    expect(metric.values.find((v) => v.labels.tier === 'disk')?.value).to.equal(disk.stats.hits);
  });
});
