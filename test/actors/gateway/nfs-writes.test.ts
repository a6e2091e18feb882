/**
 * Objects written over NFS on the in-memory gateway are written as S3 PutObject writes them: the
 * bucket's default encryption and retention apply, and a file rewritten by an append, a rename or a
 * SETATTR keeps what S3 CopyObject keeps of it (encryption, content type, tags) and never names the
 * chunks of a version an S3 write retired meanwhile.
 */
import {
  CreateBucketCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutBucketEncryptionCommand, PutObjectCommand,
  PutObjectLockConfigurationCommand,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NfsServer } from '../../../src/actors/gateway/nfs/nfs-server.js';
import type { MasterKeys } from '../../../src/core/object-encryption.js';
import type { StorageApi } from '../../../src/protocol/cluster/storage-api.js';
import { bodyOf, startHarness, type Harness } from '../../support/gateway-harness.js';
import { NfsTestClient } from '../../support/nfs-client.js';
import { startTestNfsServer } from '../../support/nfs-server.js';

const MASTER_KEYS: MasterKeys = { current: 'k1', keys: new Map([['k1', Buffer.alloc(32, 1)]]) };

describe('NFS writes on the gateway', function () {
  this.timeout(60_000);
  let harness: Harness;
  let server: NfsServer;
  let client: NfsTestClient;
  let spill: string;
  /** Runs once before the next record write of this key reaches the storage. */
  const beforeRecordWrite = new Map<string, () => Promise<void>>();

  before(async () => {
    harness = await startHarness({ masterKeys: MASTER_KEYS, config: { chunkSizeBytes: 64 * 1024 } });
    const alice = harness.client('alice');
    await alice.send(new CreateBucketCommand({ Bucket: 'vault', ObjectLockEnabledForBucket: true }));
    await alice.send(new CreateBucketCommand({ Bucket: 'plain' }));
    await new Promise((resolve) => setImmediate(resolve));
    await alice.send(new PutBucketEncryptionCommand({ Bucket: 'vault', ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } }));
    await alice.send(new PutObjectLockConfigurationCommand({
      Bucket: 'vault', ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } },
    }));
    await new Promise((resolve) => setImmediate(resolve));
    spill = mkdtempSync(join(tmpdir(), 'leofs-nfs-writes-'));
    const inner = harness.deps.storage;
    const storage = new Proxy(inner, {
      get: (target, name, receiver) => {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        if (name !== 'put') return value.bind(target);
        return async (...args: Parameters<StorageApi['put']>) => {
          const hook = beforeRecordWrite.get(args[1].key);
          beforeRecordWrite.delete(args[1].key);
          if (hook !== undefined) await hook();
          return target.put(...args);
        };
      },
    });
    server = await startTestNfsServer({ gateway: { ...harness.deps, storage }, view: harness.view, settings: { exports: [{ bucket: '*', clients: ['127.0.0.1'], user: 'alice' }] }, spillDir: spill });
    client = await NfsTestClient.open(server.port);
  });

  after(async () => {
    client?.close();
    await server?.close();
    await harness?.close();
    if (spill) rmSync(spill, { recursive: true, force: true });
  });

  it("stores a file with its bucket's default encryption and default retention", async () => {
    const root = (await client.mount('/vault')).handle!;
    const file = (await client.create(root, 'a.txt')).handle!;
    expect(await client.write(file, 0n, Buffer.from('hello'))).to.equal('NFS3_OK');
    const head = await harness.client('alice').send(new HeadObjectCommand({ Bucket: 'vault', Key: 'a.txt' }));
    expect(head.ServerSideEncryption).to.equal('AES256');
    expect(head.ObjectLockMode).to.equal('GOVERNANCE');
    expect(head.ContentLength).to.equal(5);
  });

  it('keeps an SSE-S3 object encrypted, with its content type and tags, when a rename or an append rewrites it', async () => {
    const alice = harness.client('alice');
    const body = Buffer.alloc(150 * 1024, 'x');
    await alice.send(new PutObjectCommand({ Bucket: 'plain', Key: 'doc.txt', Body: body, ServerSideEncryption: 'AES256', ContentType: 'text/plain', Tagging: 'k=v' }));
    const root = (await client.mount('/plain')).handle!;
    expect(await client.rename(root, 'doc.txt', root, 'moved.txt')).to.equal('NFS3_OK');
    const check = async (size: number) => {
      const head = await alice.send(new HeadObjectCommand({ Bucket: 'plain', Key: 'moved.txt' }));
      expect(head.ServerSideEncryption).to.equal('AES256');
      expect(head.ContentType).to.equal('text/plain');
      expect(head.ContentLength).to.equal(size);
      expect((await alice.send(new GetObjectTaggingCommand({ Bucket: 'plain', Key: 'moved.txt' }))).TagSet).to.deep.equal([{ Key: 'k', Value: 'v' }]);
    };
    await check(body.length);
    const file = (await client.lookup(root, 'moved.txt')).handle!;
    expect(await client.write(file, BigInt(body.length), Buffer.from('!'))).to.equal('NFS3_OK');
    await check(body.length + 1);
    const got = await alice.send(new GetObjectCommand({ Bucket: 'plain', Key: 'moved.txt' }));
    expect(Buffer.compare(await bodyOf(got), Buffer.concat([body, Buffer.from('!')]))).to.equal(0);
  });

  it('answers COMMIT of a directory with NFS3ERR_ISDIR, and of a file with its write verifier', async () => {
    const root = (await client.mount('/plain')).handle!;
    const dir = (await client.mkdir(root, 'committed-dir')).handle!;
    expect(await client.committed(dir)).to.deep.equal({ status: 'NFS3ERR_ISDIR', verifier: undefined });
    expect(await client.committed(root)).to.deep.equal({ status: 'NFS3ERR_ISDIR', verifier: undefined });
    const file = (await client.create(root, 'committed.txt')).handle!;
    expect((await client.written(file, 0n, Buffer.from('data'), 'UNSTABLE')).verifier).to.deep.equal(Buffer.alloc(8, 1));
    expect(await client.committed(file)).to.deep.equal({ status: 'NFS3_OK', verifier: Buffer.alloc(8, 1) });
  });

  it('answers NFS3ERR_EXIST to a GUARDED CREATE or a MKDIR whose name another writer takes between its check and its write', async () => {
    const alice = harness.client('alice');
    const root = (await client.mount('/plain')).handle!;
    beforeRecordWrite.set('taken.txt', async () => {
      await alice.send(new PutObjectCommand({ Bucket: 'plain', Key: 'taken.txt', Body: 'first' }));
    });
    expect((await client.create(root, 'taken.txt', 'GUARDED')).status).to.equal('NFS3ERR_EXIST');
    expect(await bodyOf(await alice.send(new GetObjectCommand({ Bucket: 'plain', Key: 'taken.txt' }))).then(String)).to.equal('first');
    beforeRecordWrite.set('taken-dir/', async () => {
      await alice.send(new PutObjectCommand({ Bucket: 'plain', Key: 'taken-dir/', Body: '' }));
    });
    expect((await client.mkdir(root, 'taken-dir')).status).to.equal('NFS3ERR_EXIST');
    // Without a race, both go through.
    expect((await client.create(root, 'fresh.txt', 'GUARDED')).status).to.equal('NFS3_OK');
    expect((await client.mkdir(root, 'fresh-dir')).status).to.equal('NFS3_OK');
  });

  it('answers NFS3ERR_JUKEBOX to a SETATTR that an S3 overwrite overtakes, and leaves the overwrite readable', async () => {
    const alice = harness.client('alice');
    await alice.send(new PutObjectCommand({ Bucket: 'plain', Key: 'chunked.bin', Body: Buffer.alloc(200 * 1024, 1) }));
    const root = (await client.mount('/plain')).handle!;
    const file = (await client.lookup(root, 'chunked.bin')).handle!;
    const replacement = Buffer.alloc(130 * 1024, 2);
    beforeRecordWrite.set('chunked.bin', async () => {
      await alice.send(new PutObjectCommand({ Bucket: 'plain', Key: 'chunked.bin', Body: replacement }));
    });
    expect(await client.chmod(file, 0o600)).to.equal('NFS3ERR_JUKEBOX');
    const got = await alice.send(new GetObjectCommand({ Bucket: 'plain', Key: 'chunked.bin' }));
    expect(Buffer.compare(await bodyOf(got), replacement)).to.equal(0);
    expect(await client.chmod(file, 0o600)).to.equal('NFS3_OK');
    const again = await alice.send(new GetObjectCommand({ Bucket: 'plain', Key: 'chunked.bin' }));
    expect(again.Metadata?.mode).to.equal(String(0o100600));
    expect(Buffer.compare(await bodyOf(again), replacement)).to.equal(0);
  });
});
