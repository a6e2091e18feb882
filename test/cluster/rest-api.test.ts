/**
 * The plain REST API of a real cluster (`leofs dev --rest-port`, one process per node): unsigned
 * requests over plain HTTP write and read objects of several MiB that the S3 API, signed by a real
 * client, reads back byte for byte, and the other way round; errors come as JSON, the gateway's metrics
 * tell REST requests from S3 ones, and a large object's second REST GET is served by the disk tier.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/eventually.js';
import { stopChild } from '../support/node-process.js';
import { Scrape } from '../support/scrape.js';
import { DROP_IDLE_CONNECTIONS_EARLY } from '../support/sdk-connections.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const MiB = 1024 * 1024;

/** Bytes that differ at every offset from those of another seed. */
function pattern(sizeBytes: number, seed: number): Buffer {
  const bytes = Buffer.alloc(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) bytes[i] = (i * 7 + seed * 13 + (i >> 10)) & 0xff;
  return bytes;
}

const md5 = (bytes: Uint8Array): string => createHash('md5').update(bytes).digest('hex');

describe('REST API of a real cluster', function () {
  this.timeout(90_000);

  let root: string;
  let dev: ChildProcess;
  let out = '';
  let rest: string;
  let s3: S3Client;
  let gatewayMetrics: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'leofs-rest-'));
    const gatewayConfig = join(root, 'gateway.json');
    writeFileSync(gatewayConfig, JSON.stringify({ gateway: { cacheDiskBytes: 64 * MiB } }));
    dev = spawn(process.execPath, [
      CLI, 'dev', '--data', join(root, 'data'), '--manager-port', '0', '--http-port', '0', '--rest-port', '0', '--storage-nodes', '1',
      '--gateway-config', gatewayConfig,
    ], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    dev.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    dev.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await eventually(() => {
      if (dev.exitCode !== null) throw new Error(`leofs dev exited:\n${out}`);
      return /secret access key\s+\S+/.test(out) && /REST\s+http:/.test(out);
    }, 60_000, `leofs dev up:\n${out}`);
    rest = /REST\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
    const endpoint = /S3\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
    gatewayMetrics = /metrics\s+gateway_0@\S+\s+(http:\S+)/.exec(out)![1]!;
    s3 = new S3Client({
      region: 'us-east-1', endpoint, forcePathStyle: true, maxAttempts: 1, requestHandler: DROP_IDLE_CONNECTIONS_EARLY,
      credentials: { accessKeyId: /access key id\s+(\S+)/.exec(out)![1]!, secretAccessKey: /secret access key\s+(\S+)/.exec(out)![1]! },
    });
    // Buckets are made over S3: the REST API serves objects only. Its user is the admin, who owns this one.
    await s3.send(new CreateBucketCommand({ Bucket: 'plain' }));
  });

  after(async () => {
    s3?.destroy();
    await stopChild(dev);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('PUTs, GETs (whole and by range), HEADs, lists and DELETEs over plain HTTP, sharing every byte with the S3 API', async () => {
    const overRest = pattern(6 * MiB + 123, 1);
    const put = await fetch(`${rest}/plain/dir/rest.bin`, { method: 'PUT', body: overRest, headers: { 'content-type': 'application/x-rest' } });
    expect(put.status).to.equal(200);
    expect(put.headers.get('etag')).to.equal(`"${md5(overRest)}"`);

    const got = await fetch(`${rest}/plain/dir/rest.bin`);
    expect(got.status).to.equal(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(overRest)).to.equal(true);
    const range = await fetch(`${rest}/plain/dir/rest.bin`, { headers: { range: `bytes=${5 * MiB - 3}-${5 * MiB + 9}` } });
    expect(range.status).to.equal(206);
    expect(range.headers.get('content-range')).to.equal(`bytes ${5 * MiB - 3}-${5 * MiB + 9}/${overRest.length}`);
    expect(Buffer.from(await range.arrayBuffer()).equals(overRest.subarray(5 * MiB - 3, 5 * MiB + 10))).to.equal(true);
    const head = await fetch(`${rest}/plain/dir/rest.bin`, { method: 'HEAD' });
    expect(head.status).to.equal(200);
    expect(head.headers.get('content-length')).to.equal(String(overRest.length));
    expect(head.headers.get('content-type')).to.equal('application/x-rest');

    const viaS3 = await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'dir/rest.bin' }));
    expect(Buffer.from(await viaS3.Body!.transformToByteArray()).equals(overRest)).to.equal(true);

    const overS3 = pattern(3 * MiB + 7, 2);
    await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'dir/s3.bin', Body: overS3 }));
    const back = await fetch(`${rest}/plain/dir/s3.bin`);
    expect(back.status).to.equal(200);
    expect(Buffer.from(await back.arrayBuffer()).equals(overS3)).to.equal(true);

    const listed = await fetch(`${rest}/plain/?prefix=dir/`);
    expect(listed.status).to.equal(200);
    const keys = [...(await listed.text()).matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
    expect(keys).to.deep.equal(['dir/rest.bin', 'dir/s3.bin']);

    expect((await fetch(`${rest}/plain/dir/rest.bin`, { method: 'DELETE' })).status).to.equal(204);
    const gone = await fetch(`${rest}/plain/dir/rest.bin`);
    expect(gone.status).to.equal(404);
    expect(gone.headers.get('content-type')).to.equal('application/json');
    const error = (await gone.json()) as { error: { code: string; resource: string; requestId: string } };
    expect(error.error).to.include({ code: 'NoSuchKey', resource: '/plain/dir/rest.bin', requestId: gone.headers.get('x-amz-request-id') });
    const s3Gone = await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'dir/rest.bin' })).then(() => undefined, (e: { name?: string }) => e.name);
    expect(s3Gone).to.equal('NoSuchKey');
  });

  it('serves a large object\'s second REST GET from the disk tier, and counts REST requests apart from S3 ones', async () => {
    const body = pattern(6 * MiB, 3);
    expect((await fetch(`${rest}/plain/tiered.bin`, { method: 'PUT', body })).status).to.equal(200);
    const before = await Scrape.of(gatewayMetrics);
    const diskHits = (scrape: Scrape): number => scrape.value('leofs_gateway_cache_hits_total', { tier: 'disk' }) ?? 0;
    expect(Buffer.from(await (await fetch(`${rest}/plain/tiered.bin`)).arrayBuffer()).equals(body)).to.equal(true);
    // The first GET's copy is completed in the background: the tier counts it once it is there.
    // Copies of earlier tests' objects may be there already: this one's adds an entry.
    const diskEntries = (scrape: Scrape): number => scrape.value('leofs_gateway_cache_entries', { tier: 'disk' }) ?? 0;
    await eventually(async () => diskEntries(await Scrape.of(gatewayMetrics)) >= diskEntries(before) + 1, 10_000, 'a disk copy');
    expect(Buffer.from(await (await fetch(`${rest}/plain/tiered.bin`)).arrayBuffer()).equals(body)).to.equal(true);

    await eventually(async () => {
      const scrape = await Scrape.of(gatewayMetrics);
      return scrape.total('leofs_s3_requests_total', { api: 'REST', operation: 'GetObject', status: '200' }) >= 2 + before.total('leofs_s3_requests_total', { api: 'REST', operation: 'GetObject', status: '200' });
    }, 10_000, 'REST GETs counted');
    const after = await Scrape.of(gatewayMetrics);
    expect(diskHits(after)).to.equal(diskHits(before) + 1);
    expect(after.value('leofs_s3_requests_total', { api: 'REST', operation: 'PutObject', status: '200' })).to.be.at.least(1);
    expect(after.value('leofs_s3_requests_total', { api: 'S3', operation: 'CreateBucket', status: '200' })).to.equal(1);
    const s3Gets = (scrape: Scrape): number => scrape.total('leofs_s3_requests_total', { api: 'S3', operation: 'GetObject' });
    expect(s3Gets(after)).to.equal(s3Gets(before));
    expect(after.value('leofs_s3_requests_total', { api: 'REST', operation: 'CreateBucket' })).to.equal(undefined);
  });
});
