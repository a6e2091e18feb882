/**
 * Everyday S3 clients, unchanged, against `leofs dev` (all roles as real processes on loopback):
 * @aws-sdk/client-s3 with its defaults (virtual-host addressing, default checksums in aws-chunked
 * trailers) and with forcePathStyle, and the Debian packages awscli, s3cmd and rclone. Every object is
 * compared byte for byte. The command-line clients are installed by .ci/run; where one is missing the
 * test says so and is skipped.
 */
import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { freePort } from '../../scripts/bench-support/processes.js';
import { stopChild } from '../support/node-process.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const MiB = 1024 * 1024;

function md5(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}


/** Every file under `dir` with its MD5, by relative path. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string): void => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(dir, path)] = md5(readFileSync(path));
    }
  };
  walk(dir);
  return out;
}

function installed(binary: string): boolean {
  return existsSync(binary);
}

describe('everyday S3 clients against leofs dev', function () {
  this.timeout(300_000);

  let root: string;
  let dev: ChildProcess;
  let endpoint: string;
  let accessKeyId: string;
  let secretAccessKey: string;
  let sourceTree: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'leofs-clients-'));
    // A cookie kept from an earlier start may begin with '-' (older ones were base64url); it must
    // still reach every child as one value.
    mkdirSync(join(root, 'dev'));
    writeFileSync(join(root, 'dev', 'cookie'), '-17qCxcNSQ-kept-cookie\n', { mode: 0o600 });
    const httpPort = await freePort();
    dev = spawn(process.execPath, [CLI, 'dev', '--data', join(root, 'dev'), '--manager-port', '0', '--http-port', String(httpPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    dev.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    dev.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const deadline = Date.now() + 60_000;
    while (!/secret access key\s+\S+/.test(out)) {
      if (Date.now() > deadline || dev.exitCode !== null) throw new Error(`leofs dev did not come up:\n${out}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    endpoint = /S3\s+(http:\/\/\S+)/.exec(out)![1]!;
    accessKeyId = /access key id\s+(\S+)/.exec(out)![1]!;
    secretAccessKey = /secret access key\s+(\S+)/.exec(out)![1]!;
    expect(endpoint).to.equal(`http://127.0.0.1:${httpPort}`);

    sourceTree = join(root, 'tree');
    mkdirSync(join(sourceTree, 'docs', 'deeper'), { recursive: true });
    writeFileSync(join(sourceTree, 'big.bin'), randomBytes(40 * MiB));
    writeFileSync(join(sourceTree, 'empty.txt'), '');
    writeFileSync(join(sourceTree, 'docs', 'readme.txt'), 'hello, object store\n');
    writeFileSync(join(sourceTree, 'docs', 'deeper', 'data.bin'), randomBytes(300_000));
    writeFileSync(join(sourceTree, 'docs', 'name with spaces & symbols.txt'), randomBytes(1234));
  });

  after(async () => {
    await stopChild(dev);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  function sdk(options: { forcePathStyle: boolean }): S3Client {
    // The SDK's default addressing puts the bucket in the host name (bucket.localhost); resolve
    // those names to loopback as DNS would for a real endpoint.
    const lookup = (_host: string, opts: unknown, callback: (error: Error | null, address: string | Array<{ address: string; family: number }>, family?: number) => void): void => {
      if ((opts as { all?: boolean }).all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
      else callback(null, '127.0.0.1', 4);
    };
    return new S3Client({
      region: 'us-east-1',
      endpoint: options.forcePathStyle ? endpoint : endpoint.replace('127.0.0.1', 'localhost'),
      forcePathStyle: options.forcePathStyle,
      credentials: { accessKeyId, secretAccessKey },
      requestHandler: { httpAgent: new Agent({ keepAlive: true, lookup: lookup as never }) },
    });
  }

  for (const forcePathStyle of [false, true]) {
    it(`@aws-sdk/client-s3 with ${forcePathStyle ? 'forcePathStyle' : 'its defaults (virtual-host style, default checksums)'}`, async () => {
      const client = sdk({ forcePathStyle });
      const bucket = forcePathStyle ? 'sdk-path-style' : 'sdk-defaults';
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
        const bodies: Record<string, Buffer> = { 'small.txt': Buffer.from('small body'), 'dir/medium.bin': randomBytes(700_000), 'dir/large.bin': randomBytes(12 * MiB + 17) };
        for (const [key, body] of Object.entries(bodies)) {
          const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: { origin: 'sdk' } }));
          expect(put.ETag).to.equal(`"${md5(body)}"`);
        }
        for (const [key, body] of Object.entries(bodies)) {
          const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          const bytes = Buffer.from(await got.Body!.transformToByteArray());
          expect(md5(bytes), key).to.equal(md5(body));
          expect(got.Metadata).to.deep.equal({ origin: 'sdk' });
        }
        const range = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'dir/large.bin', Range: `bytes=${5 * MiB - 10}-${5 * MiB + 9}` }));
        expect(Buffer.from(await range.Body!.transformToByteArray()).equals(bodies['dir/large.bin']!.subarray(5 * MiB - 10, 5 * MiB + 10))).to.equal(true);

        const parts = [randomBytes(5 * MiB), randomBytes(6 * MiB + 3), randomBytes(1234)];
        const upload = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'multi.bin' }));
        const etags: string[] = [];
        for (const [index, part] of parts.entries()) {
          const uploaded = await client.send(new UploadPartCommand({ Bucket: bucket, Key: 'multi.bin', UploadId: upload.UploadId!, PartNumber: index + 1, Body: part }));
          etags.push(uploaded.ETag!);
        }
        await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'multi.bin', UploadId: upload.UploadId!, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));
        const whole = Buffer.concat(parts);
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'multi.bin' }));
        expect(head.ContentLength).to.equal(whole.length);
        expect(head.ETag).to.match(/-3"$/);
        const multi = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'multi.bin' }));
        expect(md5(Buffer.from(await multi.Body!.transformToByteArray()))).to.equal(md5(whole));

        await client.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy.bin', CopySource: `${bucket}/dir/medium.bin` }));
        const copied = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'copy.bin' }));
        expect(md5(Buffer.from(await copied.Body!.transformToByteArray()))).to.equal(md5(bodies['dir/medium.bin']!));

        const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'dir/' }));
        expect(listed.Contents?.map((entry) => entry.Key)).to.deep.equal(['dir/large.bin', 'dir/medium.bin']);
        for (const key of [...Object.keys(bodies), 'multi.bin', 'copy.bin']) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
        expect((await client.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount).to.equal(0);
      } finally {
        client.destroy();
      }
    });
  }

  it('awscli: cp, and sync of a tree with a 40 MiB file (multipart) both ways', async function () {
    if (!installed('/usr/bin/aws')) this.skip();
    const env = { ...process.env, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: join(root, 'aws-config'), AWS_SHARED_CREDENTIALS_FILE: join(root, 'aws-credentials'), AWS_EC2_METADATA_DISABLED: 'true' };
    const aws = (...args: string[]) => run('/usr/bin/aws', ['--endpoint-url', endpoint, ...args], { env, maxBuffer: 16 * MiB });
    const quietly = ['--only-show-errors'];
    await aws('s3', 'mb', 's3://awscli');
    await aws('s3', 'cp', ...quietly, join(sourceTree, 'docs', 'readme.txt'), 's3://awscli/single/readme.txt');
    await aws('s3', 'sync', ...quietly, sourceTree, 's3://awscli/tree');
    const listing = (await aws('s3', 'ls', '--recursive', 's3://awscli/tree/')).stdout;
    expect(listing).to.include('tree/big.bin').and.to.include('tree/docs/deeper/data.bin');
    const back = join(root, 'aws-back');
    await aws('s3', 'sync', ...quietly, 's3://awscli/tree', back);
    expect(tree(back)).to.deep.equal(tree(sourceTree));
    const single = join(root, 'aws-single.txt');
    await aws('s3', 'cp', ...quietly, 's3://awscli/single/readme.txt', single);
    expect(readFileSync(single, 'utf8')).to.equal('hello, object store\n');
    // A second sync finds nothing to do: sizes and times agree.
    expect((await aws('s3', 'sync', sourceTree, 's3://awscli/tree', '--dryrun')).stdout.trim()).to.equal('');
    await aws('s3', 'rm', ...quietly, '--recursive', 's3://awscli/');
    expect((await aws('s3', 'ls', '--recursive', 's3://awscli/')).stdout.trim()).to.equal('');
  });

  it('s3cmd: put, get, ls and del', async function () {
    if (!installed('/usr/bin/s3cmd')) this.skip();
    const config = join(root, 's3cfg');
    const host = endpoint.replace('http://', '');
    writeFileSync(config, `[default]\naccess_key = ${accessKeyId}\nsecret_key = ${secretAccessKey}\nhost_base = ${host}\nhost_bucket = ${host}\nuse_https = False\n`);
    const s3cmd = (...args: string[]) => run('/usr/bin/s3cmd', ['-c', config, '--no-progress', ...args], { maxBuffer: 16 * MiB });
    await s3cmd('mb', 's3://s3cmd');
    await s3cmd('put', join(sourceTree, 'big.bin'), 's3://s3cmd/big.bin');
    await s3cmd('put', join(sourceTree, 'docs', 'deeper', 'data.bin'), 's3://s3cmd/docs/data.bin');
    const listing = (await s3cmd('ls', '-r', 's3://s3cmd')).stdout;
    expect(listing).to.include('s3://s3cmd/big.bin').and.to.include('s3://s3cmd/docs/data.bin');
    const back = join(root, 's3cmd-big.bin');
    await s3cmd('get', '--force', 's3://s3cmd/big.bin', back);
    expect(md5(readFileSync(back))).to.equal(md5(readFileSync(join(sourceTree, 'big.bin'))));
    await s3cmd('del', 's3://s3cmd/big.bin');
    expect((await s3cmd('ls', '-r', 's3://s3cmd')).stdout).to.not.include('big.bin');
  });

  /** rclone with a config for the dev cluster, without a forced CA bundle (it then refuses plain-HTTP endpoints). */
  function rcloneClient(): (...args: string[]) => Promise<{ stdout: string; stderr: string }> {
    const config = join(root, 'rclone.conf');
    writeFileSync(config, `[leofs]\ntype = s3\nprovider = Other\naccess_key_id = ${accessKeyId}\nsecret_access_key = ${secretAccessKey}\nendpoint = ${endpoint}\n`);
    const { AWS_CA_BUNDLE: _bundle, ...env } = process.env;
    return (...args: string[]) => run('/usr/bin/rclone', ['--config', config, '-q', ...args], { env, maxBuffer: 16 * MiB });
  }

  it('rclone: copy and check both ways', async function () {
    if (!installed('/usr/bin/rclone')) this.skip();
    const rclone = rcloneClient();
    await rclone('mkdir', 'leofs:rclone');
    await rclone('copy', sourceTree, 'leofs:rclone/tree');
    await rclone('check', sourceTree, 'leofs:rclone/tree');
    const back = join(root, 'rclone-back');
    await rclone('copy', 'leofs:rclone/tree', back);
    await rclone('check', 'leofs:rclone/tree', back);
    expect(tree(back)).to.deep.equal(tree(sourceTree));
  });

  it('rclone: lists the old versions of a versioned bucket and reads a file as it was at a time', async function () {
    if (!installed('/usr/bin/rclone')) this.skip();
    const rclone = rcloneClient();
    await rclone('mkdir', 'leofs:history');
    const client = sdk({ forcePathStyle: true });
    try {
      await client.send(new PutBucketVersioningCommand({ Bucket: 'history', VersioningConfiguration: { Status: 'Enabled' } }));
    } finally {
      client.destroy();
    }
    const local = join(root, 'notes.txt');
    writeFileSync(local, 'first draft\n');
    await rclone('copyto', local, 'leofs:history/notes.txt');
    // Version times are in seconds in rclone's listing: keep the versions apart.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const between = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    writeFileSync(local, 'second, longer draft\n');
    await rclone('copyto', local, 'leofs:history/notes.txt');
    const versions = (await rclone('lsf', '--s3-versions', 'leofs:history')).stdout.trim().split('\n').sort();
    expect(versions).to.have.length(2);
    expect(versions).to.include('notes.txt');
    expect(versions.find((name) => name !== 'notes.txt')).to.match(/^notes-v\d{4}-\d{2}-\d{2}-\d{6}-\d{3}\.txt$/);
    expect((await rclone('cat', 'leofs:history/notes.txt')).stdout).to.equal('second, longer draft\n');
    expect((await rclone('cat', '--s3-version-at', between, 'leofs:history/notes.txt')).stdout).to.equal('first draft\n');
    // Deleted, it is hidden by a delete marker: gone from the listing, still there as it was.
    await rclone('deletefile', 'leofs:history/notes.txt');
    expect((await rclone('lsf', 'leofs:history')).stdout.trim()).to.equal('');
    expect((await rclone('cat', '--s3-version-at', between, 'leofs:history/notes.txt')).stdout).to.equal('first draft\n');
  });

});
