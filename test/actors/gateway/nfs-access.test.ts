/**
 * NFS exports over the in-memory gateway: which client addresses and users get in, and what the others
 * are answered (MNT3ERR_ACCES, NFS3ERR_ACCES, NFS3ERR_ROFS), never a crash.
 */
import { CreateBucketCommand, HeadObjectCommand, PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bucketTagOf, encodeHandle } from '../../../src/actors/gateway/nfs/file-handles.js';
import type { NfsServer } from '../../../src/actors/gateway/nfs/nfs-server.js';
import { startHarness, type Harness } from '../../support/gateway-harness.js';
import { NfsTestClient } from '../../support/nfs-client.js';
import { startTestNfsServer } from '../../support/nfs-server.js';

describe('NFS exports on the gateway', function () {
  this.timeout(30_000);
  let harness: Harness;
  let server: NfsServer;
  let client: NfsTestClient;
  let spill: string;

  before(async () => {
    harness = await startHarness();
    await harness.client('alice').send(new CreateBucketCommand({ Bucket: 'photos' }));
    await harness.client('alice').send(new CreateBucketCommand({ Bucket: 'archive' }));
    await harness.client('alice').send(new CreateBucketCommand({ Bucket: 'secret' }));
    await harness.client('bob').send(new CreateBucketCommand({ Bucket: 'music' }));
    await new Promise((resolve) => setImmediate(resolve));
    spill = mkdtempSync(join(tmpdir(), 'leofs-nfs-access-'));
    const settings = {
      exports: [
        { bucket: 'photos', clients: ['127.0.0.0/8'], user: 'alice' },
        { bucket: 'archive', clients: ['127.0.0.1'], user: 'alice', readOnly: true },
        { bucket: 'secret', clients: ['10.0.0.0/8'], user: 'alice' },
        { bucket: '*', clients: ['127.0.0.1'], user: 'alice' },
      ],
    };
    server = await startTestNfsServer({ gateway: harness.deps, view: harness.view, settings, spillDir: spill, idleFlushMs: 1000 });
    client = await NfsTestClient.open(server.port);
  });

  after(async () => {
    client?.close();
    await server?.close();
    await harness?.close();
    if (spill) rmSync(spill, { recursive: true, force: true });
  });

  it('mounts an exported bucket for an allowed address and lets its user write', async () => {
    const mounted = await client.mount('/photos');
    expect(mounted.status).to.equal(0);
    expect((await client.mkdir(mounted.handle!, 'albums')).status).to.equal('NFS3_OK');
  });

  it('refuses a client address the export does not list: MNT3ERR_ACCES', async () => {
    expect((await client.mount('/secret')).status).to.equal(13);
  });

  it("refuses a bucket the mapped user may not use, at mount and on every call", async () => {
    expect((await client.mount('/music')).status).to.equal(13);
    const music = harness.view.bucket('music')!;
    expect(await client.getattr(encodeHandle(bucketTagOf(music), '').handle)).to.equal('NFS3ERR_ACCES');
  });

  it('answers writes to a read-only export with NFS3ERR_ROFS', async () => {
    const mounted = await client.mount('/archive');
    expect(mounted.status).to.equal(0);
    expect((await client.mkdir(mounted.handle!, 'nope')).status).to.equal('NFS3ERR_ROFS');
    expect(await client.getattr(mounted.handle!)).to.equal('NFS3_OK');
  });

  it("answers ACCESS with the rights the export's user has, not with what the export alone allows", async () => {
    const all = 0x3f;
    const readBits = 0x01 | 0x02 | 0x20;
    const bob = harness.client('bob');
    await bob.send(new CreateBucketCommand({ Bucket: 'lent' }));
    await bob.send(new PutObjectCommand({ Bucket: 'lent', Key: 'doc.txt', Body: 'doc' }));
    const readOnly = { Effect: 'Allow', Principal: { AWS: 'alice' }, Action: ['s3:ListBucket', 's3:GetObject'], Resource: ['arn:aws:s3:::lent', 'arn:aws:s3:::lent/*'] };
    await bob.send(new PutBucketPolicyCommand({ Bucket: 'lent', Policy: JSON.stringify({ Version: '2012-10-17', Statement: [readOnly] }) }));
    const alice = harness.client('alice');
    await alice.send(new PutObjectCommand({ Bucket: 'photos', Key: 'kept.jpg', Body: 'jpg' }));
    const keep = { Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::photos/kept.jpg' };
    await alice.send(new PutBucketPolicyCommand({ Bucket: 'photos', Policy: JSON.stringify({ Version: '2012-10-17', Statement: [keep] }) }));
    await new Promise((resolve) => setImmediate(resolve));

    const lent = (await client.mount('/lent')).handle!;
    expect(await client.access(lent, all)).to.deep.equal({ status: 'NFS3_OK', access: readBits });
    const doc = (await client.lookup(lent, 'doc.txt')).handle!;
    expect(await client.access(doc, all)).to.deep.equal({ status: 'NFS3_OK', access: readBits });
    expect(await client.access(doc, 0x04)).to.deep.equal({ status: 'NFS3_OK', access: 0 });

    const photos = (await client.mount('/photos')).handle!;
    expect(await client.access(photos, all)).to.deep.equal({ status: 'NFS3_OK', access: all });
    const kept = (await client.lookup(photos, 'kept.jpg')).handle!;
    expect(await client.access(kept, all)).to.deep.equal({ status: 'NFS3_OK', access: all & ~0x10 });

    const archive = (await client.mount('/archive')).handle!;
    expect(await client.access(archive, all)).to.deep.equal({ status: 'NFS3_OK', access: readBits });
  });

  it('grants DELETE on a directory where a policy lets the user remove only some names in it, as REMOVE of such a name succeeds', async () => {
    const bob = harness.client('bob');
    await bob.send(new CreateBucketCommand({ Bucket: 'dropbox' }));
    await bob.send(new PutObjectCommand({ Bucket: 'dropbox', Key: 'uploads/alice-1', Body: 'x' }));
    const perUser = [
      { Effect: 'Allow', Principal: { AWS: 'alice' }, Action: ['s3:ListBucket'], Resource: ['arn:aws:s3:::dropbox'] },
      { Effect: 'Allow', Principal: { AWS: 'alice' }, Action: ['s3:GetObject', 's3:PutObject'], Resource: ['arn:aws:s3:::dropbox/*'] },
      { Effect: 'Allow', Principal: { AWS: 'alice' }, Action: ['s3:DeleteObject'], Resource: ['arn:aws:s3:::dropbox/uploads/alice-*'] },
    ];
    await bob.send(new PutBucketPolicyCommand({ Bucket: 'dropbox', Policy: JSON.stringify({ Version: '2012-10-17', Statement: perUser }) }));
    await new Promise((resolve) => setImmediate(resolve));
    const root = (await client.mount('/dropbox')).handle!;
    const uploads = (await client.lookup(root, 'uploads')).handle!;
    const asked = 0x04 | 0x08 | 0x10;
    const granted = (await client.access(uploads, asked)).access;
    // The server lets alice remove uploads/alice-1 ...
    expect(await client.remove(uploads, 'alice-1')).to.equal('NFS3_OK');
    // ... so ACCESS should not tell her client that she may not delete entries of uploads/.
    expect(granted).to.equal(asked);
  });

  it("lists in MOUNT's EXPORT only the buckets this client may mount", async () => {
    const listed = await client.exports();
    expect(listed).to.include.members(['/photos', '/archive']);
    // `secret` is exported to other addresses only, `music` is bob's and alice may not list it.
    expect(listed).to.not.include.members(['/secret']);
    expect(listed).to.not.include('/music');
    for (const path of listed) expect((await client.mount(path)).status, path).to.equal(0);
  });

  it('answers a bucket that does not exist with MNT3ERR_NOENT', async () => {
    expect((await client.mount('/nothing-here')).status).to.equal(2);
  });

  it("refuses a directory RENAME when the user may not read, delete or write any one key below it, and moves none", async () => {
    const alice = harness.client('alice');
    await alice.send(new CreateBucketCommand({ Bucket: 'guarded' }));
    for (const key of ['dir/a.txt', 'dir/keep.txt', 'src/b.txt', 'src/c.txt']) await alice.send(new PutObjectCommand({ Bucket: 'guarded', Key: key, Body: key }));
    const statement = (action: string, key: string) => ({ Effect: 'Deny', Principal: '*', Action: action, Resource: `arn:aws:s3:::guarded/${key}` });
    const policy = { Version: '2012-10-17', Statement: [statement('s3:DeleteObject', 'dir/keep.txt'), statement('s3:PutObject', 'locked/c.txt')] };
    await alice.send(new PutBucketPolicyCommand({ Bucket: 'guarded', Policy: JSON.stringify(policy) }));
    await new Promise((resolve) => setImmediate(resolve));
    const root = (await client.mount('/guarded')).handle!;
    expect(await client.rename(root, 'dir', root, 'moved')).to.equal('NFS3ERR_ACCES');
    expect(await client.rename(root, 'src', root, 'locked')).to.equal('NFS3ERR_ACCES');
    const exists = (key: string) => alice.send(new HeadObjectCommand({ Bucket: 'guarded', Key: key })).then(() => true, () => false);
    for (const key of ['dir/a.txt', 'dir/keep.txt', 'src/b.txt', 'src/c.txt']) expect(await exists(key), key).to.equal(true);
    for (const key of ['moved/a.txt', 'moved/keep.txt', 'locked/b.txt', 'locked/c.txt']) expect(await exists(key), key).to.equal(false);
  });
});
