import {
  CreateBucketCommand, DeleteBucketCommand, GetBucketAclCommand, GetBucketLocationCommand, GetBucketVersioningCommand, GetObjectAclCommand,
  GetObjectCommand, HeadBucketCommand, ListBucketsCommand, ListObjectsV2Command, PutBucketAclCommand, PutObjectAclCommand, PutObjectCommand, S3Client,
  CopyObjectCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import {
  bodyOf, eventually, failure, type Harness, presignedPath, rawRequest, signedRequest, startHarness, xmlValue,
} from '../../support/gateway-harness.js';


describe('actors/gateway buckets and access', function () {
  this.timeout(60_000);
  let h: Harness;
  let alice: S3Client;
  let bob: S3Client;

  beforeEach(async () => {
    h = await startHarness();
    alice = h.client('alice');
    bob = h.client('bob');
  });

  afterEach(async () => {
    await h.close();
  });

  it('creates a bucket through the manager and can use it at once', async () => {
    const created = await alice.send(new CreateBucketCommand({ Bucket: 'fresh' }));
    expect(created.Location).to.equal('/fresh');
    await alice.send(new PutObjectCommand({ Bucket: 'fresh', Key: 'k', Body: 'v' }));
    expect(h.view.bucket('fresh')?.owner).to.equal('alice');
    expect(await failure(bob.send(new CreateBucketCommand({ Bucket: 'fresh' })))).to.deep.equal({ name: 'BucketAlreadyExists', status: 409 });
  });

  it('answers a second creation of an own bucket in us-east-1 with 200, keeping its objects and resetting its ACL', async () => {
    await alice.send(new CreateBucketCommand({ Bucket: 'again', ACL: 'public-read' }));
    await alice.send(new PutObjectCommand({ Bucket: 'again', Key: 'kept', Body: 'v' }));
    const again = await alice.send(new CreateBucketCommand({ Bucket: 'again' }));
    expect(again.$metadata.httpStatusCode).to.equal(200);
    expect(h.view.bucket('again')?.acl).to.equal('private');
    const listed = await alice.send(new ListObjectsV2Command({ Bucket: 'again' }));
    expect(listed.Contents?.map((o) => o.Key)).to.deep.equal(['kept']);
    expect(await failure(bob.send(new CreateBucketCommand({ Bucket: 'again' })))).to.deep.equal({ name: 'BucketAlreadyExists', status: 409 });
  });

  it('answers a second creation of an own bucket elsewhere than us-east-1 with BucketAlreadyOwnedByYou', async () => {
    const other = await startHarness({ config: { region: 'eu-west-1' } });
    try {
      const client = other.client('alice', { region: 'eu-west-1' });
      await client.send(new CreateBucketCommand({ Bucket: 'mine', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
      expect(await failure(client.send(new CreateBucketCommand({ Bucket: 'mine', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }))))
        .to.deep.equal({ name: 'BucketAlreadyOwnedByYou', status: 409 });
    } finally {
      await other.close();
    }
  });

  it('keeps the location constraint and reports it', async () => {
    await alice.send(new CreateBucketCommand({ Bucket: 'in-europe', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    expect((await alice.send(new GetBucketLocationCommand({ Bucket: 'in-europe' }))).LocationConstraint).to.equal('eu-west-1');
    // Requests on the bucket are signed for its region, as S3 wants them.
    const head = await h.client('alice', { region: 'eu-west-1' }).send(new HeadBucketCommand({ Bucket: 'in-europe' }));
    expect(head.BucketRegion).to.equal('eu-west-1');
    await alice.send(new CreateBucketCommand({ Bucket: 'default-place' }));
    expect((await alice.send(new GetBucketLocationCommand({ Bucket: 'default-place' }))).LocationConstraint ?? '').to.equal('');
  });

  it('holds SigV4 signatures to the region of the bucket, or of the gateway, as S3 does', async () => {
    const message = (text: string): string | undefined => xmlValue(text, 'Message')?.replaceAll('&apos;', "'");
    h.admin.addBucket('at-home', 'alice');
    const listAtHome = { method: 'GET', path: '/at-home?list-type=2' };
    const wrong = await signedRequest(h.endpoint, 'alice', listAtHome, { region: 'eu-central-1' });
    expect(wrong.status, wrong.text).to.equal(400);
    expect(xmlValue(wrong.text, 'Code')).to.equal('AuthorizationHeaderMalformed');
    expect(message(wrong.text)).to.equal("The authorization header is malformed; the region 'eu-central-1' is wrong; expecting 'us-east-1'");
    expect(xmlValue(wrong.text, 'Region')).to.equal('us-east-1');
    expect((await signedRequest(h.endpoint, 'alice', listAtHome)).status).to.equal(200);
    const presigned = await rawRequest(h.endpoint, { method: 'GET', path: await presignedPath(h.endpoint, 'alice', listAtHome, { region: 'eu-central-1' }) });
    expect(presigned.status, presigned.text).to.equal(400);
    expect(xmlValue(presigned.text, 'Code')).to.equal('AuthorizationQueryParametersError');
    expect(message(presigned.text)).to.equal("Error parsing the X-Amz-Credential parameter; the region 'eu-central-1' is wrong; expecting 'us-east-1'");
    expect(xmlValue(presigned.text, 'Region')).to.equal('us-east-1');
    expect((await signedRequest(h.endpoint, 'alice', { method: 'GET', path: '/' }, { region: 'eu-central-1' })).status).to.equal(400);
    expect((await signedRequest(h.endpoint, 'alice', { method: 'HEAD', path: '/no-such-bucket' }, { region: 'eu-central-1' })).status).to.equal(404);

    // A bucket created in another region is used with that region; the gateway's region only learns where it is.
    const europe = h.client('alice', { region: 'eu-west-1' });
    await europe.send(new CreateBucketCommand({ Bucket: 'abroad', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    await europe.send(new PutObjectCommand({ Bucket: 'abroad', Key: 'k', Body: 'v' }));
    expect((await bodyOf(await europe.send(new GetObjectCommand({ Bucket: 'abroad', Key: 'k' })))).toString()).to.equal('v');
    const homeSigned = await signedRequest(h.endpoint, 'alice', { method: 'GET', path: '/abroad/k' });
    expect(homeSigned.status).to.equal(400);
    expect(xmlValue(homeSigned.text, 'Region')).to.equal('eu-west-1');
    expect((await alice.send(new GetBucketLocationCommand({ Bucket: 'abroad' }))).LocationConstraint).to.equal('eu-west-1');
    expect((await signedRequest(h.endpoint, 'alice', { method: 'GET', path: '/abroad?location' }, { region: 'eu-central-1' })).status).to.equal(400);

    // CreateBucket: the gateway's region, or the one the bucket is created in.
    const createIn = (location: string | undefined): { method: string; path: string; body: string } => ({
      method: 'PUT',
      path: '/elsewhere',
      body: location === undefined ? '' : `<CreateBucketConfiguration><LocationConstraint>${location}</LocationConstraint></CreateBucketConfiguration>`,
    });
    const unplaced = await signedRequest(h.endpoint, 'alice', createIn(undefined), { region: 'eu-central-1' });
    expect(unplaced.status, unplaced.text).to.equal(400);
    expect(xmlValue(unplaced.text, 'Code')).to.equal('AuthorizationHeaderMalformed');
    expect(xmlValue(unplaced.text, 'Region')).to.equal('us-east-1');
    expect((await signedRequest(h.endpoint, 'alice', createIn('eu-west-1'), { region: 'eu-central-1' })).status).to.equal(400);
    expect(h.view.bucket('elsewhere')).to.equal(undefined);
    expect((await signedRequest(h.endpoint, 'alice', createIn('eu-central-1'), { region: 'eu-central-1' })).status).to.equal(200);

    // The gateway's region is its configuration's.
    const other = await startHarness({ config: { region: 'ap-south-1' } });
    try {
      other.admin.addBucket('there', 'alice');
      const refused = await signedRequest(other.endpoint, 'alice', { method: 'GET', path: '/there?list-type=2' });
      expect(message(refused.text)).to.equal("The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'ap-south-1'");
      expect((await signedRequest(other.endpoint, 'alice', { method: 'GET', path: '/there?list-type=2' }, { region: 'ap-south-1' })).status).to.equal(200);
    } finally {
      await other.close();
    }
  });

  it('lists the buckets of the requester only', async () => {
    h.admin.addBucket('alice-1', 'alice');
    h.admin.addBucket('alice-2', 'alice');
    h.admin.addBucket('bob-1', 'bob');
    const listed = await alice.send(new ListBucketsCommand({}));
    expect(listed.Buckets?.map((b) => b.Name)).to.deep.equal(['alice-1', 'alice-2']);
    expect(listed.Owner?.ID).to.equal('alice');
    const paged = await alice.send(new ListBucketsCommand({ MaxBuckets: 1 }));
    expect(paged.Buckets?.map((b) => b.Name)).to.deep.equal(['alice-1']);
    const next = await alice.send(new ListBucketsCommand({ MaxBuckets: 1, ContinuationToken: paged.ContinuationToken }));
    expect(next.Buckets?.map((b) => b.Name)).to.deep.equal(['alice-2']);
    expect(await failure(h.client('alice', { credentials: { accessKeyId: 'NOSUCHKEY0000000', secretAccessKey: 'whatever-secret' } }).send(new ListBucketsCommand({}))))
      .to.deep.equal({ name: 'InvalidAccessKeyId', status: 403 });
    const anonymous = await rawRequest(h.endpoint, { method: 'GET', path: '/' });
    expect(anonymous.status).to.equal(403);
  });

  it('deletes only buckets without objects, and with them their uploads in progress, as S3 does', async () => {
    h.admin.addBucket('full', 'alice');
    await alice.send(new PutObjectCommand({ Bucket: 'full', Key: 'deep/inside', Body: 'x' }));
    expect(await failure(alice.send(new DeleteBucketCommand({ Bucket: 'full' })))).to.deep.equal({ name: 'BucketNotEmpty', status: 409 });
    expect(await failure(bob.send(new DeleteBucketCommand({ Bucket: 'full' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    h.admin.addBucket('pending', 'alice');
    await alice.send(new CreateMultipartUploadCommand({ Bucket: 'pending', Key: 'big' }));
    const deleted = await alice.send(new DeleteBucketCommand({ Bucket: 'pending' }));
    expect(deleted.$metadata.httpStatusCode).to.equal(204);
    expect(h.view.bucket('pending')).to.equal(undefined);
    expect(await failure(alice.send(new HeadBucketCommand({ Bucket: 'pending' })))).to.deep.include({ status: 404 });
    // The name's next bucket starts without the upload.
    h.admin.addBucket('pending', 'alice');
    expect((await alice.send(new ListMultipartUploadsCommand({ Bucket: 'pending' }))).Uploads ?? []).to.deep.equal([]);
  });

  it('serves a bucket created before incarnations existed from where its keys were stored', async () => {
    h.admin.addBucket('legacy', 'alice', 'private', { legacy: true });
    const body = Buffer.from('stored by the previous release');
    await h.storage.put('object', { bucket: 'legacy', key: 'old.txt', sizeBytes: body.length, etag: createHash('md5').update(body).digest('hex'), contentType: 'text/plain', userMeta: {} }, body);
    expect((await (await alice.send(new GetObjectCommand({ Bucket: 'legacy', Key: 'old.txt' }))).Body!.transformToString())).to.equal(body.toString());
    expect((await alice.send(new ListObjectsV2Command({ Bucket: 'legacy' }))).Contents?.map((c) => c.Key)).to.deep.equal(['old.txt']);
    await alice.send(new PutObjectCommand({ Bucket: 'legacy', Key: 'new.txt', Body: 'written after the upgrade' }));
    expect(h.storage.record('object', 'legacy', 'new.txt')?.bucket, 'new keys join the old ones').to.equal('legacy');
  });

  it('starts a bucket created again under a deleted name empty, and never shows the old one', async () => {
    await alice.send(new CreateBucketCommand({ Bucket: 'reborn' }));
    await alice.send(new PutObjectCommand({ Bucket: 'reborn', Key: 'private.txt', Body: 'alice only' }));
    const upload = await alice.send(new CreateMultipartUploadCommand({ Bucket: 'reborn', Key: 'pending' }));
    // The manager deletes with content when an administrator asks; the fake ends the incarnation alike.
    h.admin.forget('reborn');
    await eventually(() => h.view.bucket('reborn') === undefined);
    await bob.send(new CreateBucketCommand({ Bucket: 'reborn' }));
    expect(await failure(bob.send(new GetObjectCommand({ Bucket: 'reborn', Key: 'private.txt' })))).to.deep.include({ name: 'NoSuchKey', status: 404 });
    expect((await bob.send(new ListObjectsV2Command({ Bucket: 'reborn' }))).KeyCount).to.equal(0);
    expect((await bob.send(new ListMultipartUploadsCommand({ Bucket: 'reborn' }))).Uploads ?? []).to.deep.equal([]);
    expect(await failure(bob.send(new UploadPartCommand({ Bucket: 'reborn', Key: 'pending', UploadId: upload.UploadId, PartNumber: 1, Body: 'x' })))).to.deep.include({ name: 'NoSuchUpload', status: 404 });
    expect(await failure(bob.send(new CopyObjectCommand({ Bucket: 'reborn', Key: 'copy', CopySource: 'reborn/private.txt' })))).to.deep.include({ name: 'NoSuchKey', status: 404 });
    const deleted = await bob.send(new DeleteBucketCommand({ Bucket: 'reborn' }));
    expect(deleted.$metadata.httpStatusCode, 'the new incarnation is empty').to.equal(204);
  });

  it('answers versioning, bucket ACLs and object ACLs', async () => {
    h.admin.addBucket('acl', 'alice');
    const versioning = await alice.send(new GetBucketVersioningCommand({ Bucket: 'acl' }));
    expect(versioning.Status).to.equal(undefined);
    let acl = await alice.send(new GetBucketAclCommand({ Bucket: 'acl' }));
    expect(acl.Grants?.map((g) => g.Permission)).to.deep.equal(['FULL_CONTROL']);
    await alice.send(new PutBucketAclCommand({ Bucket: 'acl', ACL: 'public-read' }));
    expect(h.view.bucket('acl')?.acl).to.equal('public-read');
    acl = await alice.send(new GetBucketAclCommand({ Bucket: 'acl' }));
    expect(acl.Grants?.map((g) => [g.Grantee?.URI ?? g.Grantee?.ID, g.Permission])).to.deep.equal([
      ['http://acs.amazonaws.com/groups/global/AllUsers', 'READ'],
      ['alice', 'FULL_CONTROL'],
    ]);
    await alice.send(new PutBucketAclCommand({
      Bucket: 'acl',
      AccessControlPolicy: {
        Owner: { ID: 'alice' },
        Grants: [
          { Grantee: { Type: 'CanonicalUser', ID: 'alice' }, Permission: 'FULL_CONTROL' },
          { Grantee: { Type: 'Group', URI: 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers' }, Permission: 'READ' },
        ],
      },
    }));
    acl = await alice.send(new GetBucketAclCommand({ Bucket: 'acl' }));
    expect(acl.Grants?.map((g) => [g.Grantee?.URI ?? g.Grantee?.ID, g.Permission])).to.deep.equal([
      ['alice', 'FULL_CONTROL'],
      ['http://acs.amazonaws.com/groups/global/AuthenticatedUsers', 'READ'],
    ]);
    expect(await failure(bob.send(new GetBucketAclCommand({ Bucket: 'acl' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    await alice.send(new PutBucketAclCommand({ Bucket: 'acl', GrantReadACP: 'id="bob"', GrantFullControl: 'id="alice"' }));
    expect((await bob.send(new GetBucketAclCommand({ Bucket: 'acl' }))).Grants?.map((g) => [g.Grantee?.ID, g.Permission])).to.deep.equal([['bob', 'READ_ACP'], ['alice', 'FULL_CONTROL']]);
    expect(await failure(alice.send(new PutBucketAclCommand({ Bucket: 'acl', GrantRead: 'id="nobody-here"' })))).to.deep.equal({ name: 'InvalidArgument', status: 400 });
    expect(await failure(alice.send(new PutBucketAclCommand({ Bucket: 'acl', GrantRead: 'emailAddress="bob@example.com"' })))).to.deep.equal({ name: 'UnresolvableGrantByEmailAddress', status: 400 });
    await alice.send(new PutObjectCommand({ Bucket: 'acl', Key: 'o', Body: 'x' }));
    const objectAcl = await alice.send(new GetObjectAclCommand({ Bucket: 'acl', Key: 'o' }));
    expect(objectAcl.Owner?.ID).to.equal('alice');
    expect(objectAcl.Grants?.map((g) => [g.Grantee?.ID, g.Permission])).to.deep.equal([['alice', 'FULL_CONTROL']]);
  });

  it('lets another user in only as far as the bucket\'s and the object\'s ACLs allow', async () => {
    h.admin.addBucket('private', 'alice', 'private');
    h.admin.addBucket('readable', 'alice', 'authenticated-read');
    await alice.send(new PutObjectCommand({ Bucket: 'private', Key: 'k', Body: 'secret' }));
    await alice.send(new PutObjectCommand({ Bucket: 'readable', Key: 'k', Body: 'shared', ACL: 'authenticated-read' }));
    expect(await failure(bob.send(new GetObjectCommand({ Bucket: 'private', Key: 'k' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    expect(await failure(bob.send(new PutObjectCommand({ Bucket: 'private', Key: 'k', Body: 'x' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    expect(await failure(bob.send(new ListObjectsV2Command({ Bucket: 'private' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    const shared = await bob.send(new GetObjectCommand({ Bucket: 'readable', Key: 'k' }));
    expect(await shared.Body?.transformToString()).to.equal('shared');
    expect(await failure(bob.send(new PutObjectCommand({ Bucket: 'readable', Key: 'k', Body: 'x' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    // The admin may do everything.
    const admin = h.client('admin');
    expect(await (await admin.send(new GetObjectCommand({ Bucket: 'private', Key: 'k' }))).Body?.transformToString()).to.equal('secret');
    await admin.send(new PutBucketAclCommand({ Bucket: 'private', ACL: 'public-read' }));
    expect(h.view.bucket('private')?.acl).to.equal('public-read');
  });

  it('lets anonymous requests list public-read buckets, read public-read objects and write public-read-write buckets', async () => {
    h.admin.addBucket('public', 'alice', 'public-read');
    h.admin.addBucket('open', 'alice', 'public-read-write');
    h.admin.addBucket('closed', 'alice', 'private');
    await alice.send(new PutObjectCommand({ Bucket: 'public', Key: 'page.html', Body: '<p>hi</p>', ContentType: 'text/html', ACL: 'public-read' }));
    await alice.send(new PutObjectCommand({ Bucket: 'public', Key: 'draft.html', Body: '<p>not yet</p>' }));
    expect((await rawRequest(h.endpoint, { method: 'GET', path: '/public/draft.html' })).status).to.equal(403);
    const get = await rawRequest(h.endpoint, { method: 'GET', path: '/public/page.html' });
    expect(get.status).to.equal(200);
    expect(get.text).to.equal('<p>hi</p>');
    expect((await rawRequest(h.endpoint, { method: 'HEAD', path: '/public/page.html' })).status).to.equal(200);
    const list = await rawRequest(h.endpoint, { method: 'GET', path: '/public?list-type=2' });
    expect(list.text).to.include('<Key>page.html</Key>');
    expect((await rawRequest(h.endpoint, { method: 'PUT', path: '/public/new', body: 'x' })).status).to.equal(403);
    expect((await rawRequest(h.endpoint, { method: 'DELETE', path: '/public/page.html' })).status).to.equal(403);
    expect((await rawRequest(h.endpoint, { method: 'PUT', path: '/open/new', body: 'anonymous', headers: { 'x-amz-acl': 'public-read' } })).status).to.equal(200);
    expect((await rawRequest(h.endpoint, { method: 'GET', path: '/open/new' })).text).to.equal('anonymous');
    const denied = await rawRequest(h.endpoint, { method: 'GET', path: '/closed?list-type=2' });
    expect(denied.status).to.equal(403);
    expect(xmlValue(denied.text, 'Code')).to.equal('AccessDenied');
    expect((await rawRequest(h.endpoint, { method: 'GET', path: '/public?acl' })).status).to.equal(403);
    expect((await rawRequest(h.endpoint, { method: 'GET', path: '/missing-bucket/k' })).status).to.equal(404);
  });

  it('shows users by their display names where S3 names owners and grantees', async () => {
    h.view.install({ ...h.view.current!, revision: h.view.current!.revision + 100, users: h.view.current!.users.map((u) => (u.userId === 'alice' ? { ...u, displayName: 'Alice A.' } : u)) });
    h.admin.addBucket('named', 'alice');
    await alice.send(new PutObjectCommand({ Bucket: 'named', Key: 'k', Body: 'v', GrantRead: 'id="bob"' }));
    const acl = await alice.send(new GetObjectAclCommand({ Bucket: 'named', Key: 'k' }));
    expect([acl.Owner?.ID, acl.Owner?.DisplayName, acl.Grants?.[0]?.Grantee?.DisplayName]).to.deep.equal(['alice', 'Alice A.', 'bob']);
    expect((await alice.send(new ListBucketsCommand({}))).Owner?.DisplayName).to.equal('Alice A.');
  });

  it('keeps an ACL per object version, which grants others what the bucket does not', async () => {
    h.admin.addBucket('objacl', 'alice');
    await alice.send(new PutObjectCommand({ Bucket: 'objacl', Key: 'k', Body: 'v' }));
    expect(await failure(bob.send(new GetObjectCommand({ Bucket: 'objacl', Key: 'k' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    await alice.send(new PutObjectAclCommand({ Bucket: 'objacl', Key: 'k', GrantRead: 'id="bob"' }));
    expect(await (await bob.send(new GetObjectCommand({ Bucket: 'objacl', Key: 'k' }))).Body?.transformToString()).to.equal('v');
    expect(await failure(bob.send(new GetObjectAclCommand({ Bucket: 'objacl', Key: 'k' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    expect(await failure(bob.send(new PutObjectAclCommand({ Bucket: 'objacl', Key: 'k', ACL: 'private' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    await alice.send(new PutObjectAclCommand({ Bucket: 'objacl', Key: 'k', ACL: 'public-read' }));
    expect((await rawRequest(h.endpoint, { method: 'GET', path: '/objacl/k' })).text).to.equal('v');
    // A key that is not there looks, to whom may not list the bucket, like one that may not be read.
    expect((await rawRequest(h.endpoint, { method: 'GET', path: '/objacl/absent' })).status).to.equal(403);
    expect(await failure(alice.send(new PutObjectAclCommand({ Bucket: 'objacl', Key: 'absent', ACL: 'private' })))).to.deep.equal({ name: 'NoSuchKey', status: 404 });
    const policy = await alice.send(new GetObjectAclCommand({ Bucket: 'objacl', Key: 'k' }));
    expect(policy.Grants?.map((g) => [g.Grantee?.URI ?? g.Grantee?.ID, g.Permission])).to.deep.equal([['http://acs.amazonaws.com/groups/global/AllUsers', 'READ'], ['alice', 'FULL_CONTROL']]);
    await alice.send(new PutObjectAclCommand({ Bucket: 'objacl', Key: 'k', AccessControlPolicy: { Owner: policy.Owner, Grants: [policy.Grants![1]!] } }));
    expect((await rawRequest(h.endpoint, { method: 'GET', path: '/objacl/k' })).status).to.equal(403);
    expect(await failure(alice.send(new PutObjectAclCommand({ Bucket: 'objacl', Key: 'k', AccessControlPolicy: { Owner: { ID: 'bob' }, Grants: [] } })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    expect(await failure(alice.send(new PutObjectCommand({ Bucket: 'objacl', Key: 'both', Body: 'x', ACL: 'private', GrantRead: 'id="bob"' })))).to.deep.equal({ name: 'InvalidRequest', status: 400 });
  });

  it('answers CORS preflights without credentials: 400 without an Origin, 403 when the bucket has no CORS rules', async () => {
    h.admin.addBucket('pre', 'alice');
    const noOrigin = await rawRequest(h.endpoint, { method: 'OPTIONS', path: '/pre/k?X-Amz-Signature=ignored' });
    expect(noOrigin.status).to.equal(400);
    expect(xmlValue(noOrigin.text, 'Code')).to.equal('BadRequest');
    expect(xmlValue(noOrigin.text, 'Message')).to.equal('Insufficient information. Origin request header needed.');
    const badMethod = await rawRequest(h.endpoint, { method: 'OPTIONS', path: '/pre', headers: { origin: 'https://a.example', 'access-control-request-method': 'PATCH' } });
    expect(badMethod.status).to.equal(400);
    const refused = await rawRequest(h.endpoint, { method: 'OPTIONS', path: '/pre/k', headers: { origin: 'https://a.example', 'access-control-request-method': 'GET' } });
    expect(refused.status).to.equal(403);
    expect(xmlValue(refused.text, 'Code')).to.equal('AccessForbidden');
    expect(xmlValue(refused.text, 'ResourceType')).to.equal('BUCKET');
    const missing = await rawRequest(h.endpoint, { method: 'OPTIONS', path: '/nobucket', headers: { origin: 'https://a.example', 'access-control-request-method': 'GET' } });
    expect(missing.status).to.equal(404);
  });

  it('answers 503 when the manager cannot be reached for a bucket change, saying so', async () => {
    h.admin.addBucket('standing', 'alice');
    h.admin.unavailable = true;
    expect(await failure(alice.send(new CreateBucketCommand({ Bucket: 'later' })))).to.deep.equal({ name: 'ServiceUnavailable', status: 503 });
    for (const request of [
      { method: 'PUT', path: '/later' },
      { method: 'DELETE', path: '/standing' },
      { method: 'PUT', path: '/standing?acl', headers: { 'x-amz-acl': 'public-read' } },
    ]) {
      const answer = await signedRequest(h.endpoint, 'alice', request);
      expect(answer.status, request.path).to.equal(503);
      expect(xmlValue(answer.text, 'Code')).to.equal('ServiceUnavailable');
      const message = xmlValue(answer.text, 'Message') ?? '';
      expect(message).to.match(/manager/).and.to.match(/try again later/i);
      expect(message).to.not.match(/request rate/i);
    }
  });

  it('addresses buckets virtual-host style under the configured endpoints and localhost', async () => {
    await h.close();
    h = await startHarness({ endpoints: ['s3.example.test'] });
    h.admin.addBucket('vhost', 'alice', 'public-read');
    await h.client('alice').send(new PutObjectCommand({ Bucket: 'vhost', Key: 'a/b.txt', Body: 'virtual', ACL: 'public-read' }));
    for (const host of ['vhost.s3.example.test', `vhost.localhost:${h.server.port}`]) {
      const response = await rawRequest(h.endpoint, { method: 'GET', path: '/a/b.txt', headers: { host } });
      expect(response.text, host).to.equal('virtual');
    }
    const signed = await signedRequest(h.endpoint, 'alice', { method: 'GET', path: '/a/b.txt', headers: { host: 'vhost.s3.example.test' } });
    expect(signed.status).to.equal(200);
  });
});
