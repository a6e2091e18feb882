import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUTH_CACHE_TABLE, authCacheBehavior } from '../../../src/actors/common/auth-cache.js';
import { AuthView } from '../../../src/actors/common/auth-view.js';
import { authRef, ROOT_NAME } from '../../../src/protocol/cluster/paths.js';
import { gatewayTree, upgradeGatewayState } from '../../../src/actors/gateway/gateway-tree.js';
import { authBehavior, randomAccessKey } from '../../../src/actors/manager/auth.js';
import type { AddAccessKeyReply, AuthMessage } from '../../../src/protocol/cluster/auth.js';
import { authTables, upgradeManagerState } from '../../../src/actors/manager/manager-tree.js';
import { AUTH_SNAPSHOT_VERSION, isAuthSnapshot, type AuthSnapshot, type BucketRecord, type UserRecord, type UserView } from '../../../src/core/auth-snapshot.js';
import { namespaceOf } from '../../../src/core/bucket-namespace.js';
import { systemClock } from '../../../src/runtime/clock.js';
import { isRuntimeFailure } from '../../../src/runtime/failures.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { supervisor, worker } from '../../../src/runtime/supervisor.js';
import { ActorSystem } from '../../../src/runtime/system.js';
import { ADMIN_CREDENTIALS_FILE, writeAdminCredentials, type AdminCredentials } from '../../../src/store/admin-credentials.js';
import { NodeState, type StateTable } from '../../../src/store/node-state.js';
import { sealedSnapshotCodec } from '../../../src/store/sealed-auth-records.js';
import { SecretBox } from '../../../src/store/secret-box.js';
import { eventually } from '../../support/eventually.js';

const NODE = 'manager_0@127.0.0.1';
const SECRETS = SecretBox.fromCookie('auth-test-cookie');

/** The auth actor and, on the same node, a gateway's auth cache that it pushes its snapshot to. */
class Harness {
  readonly authView = new AuthView();
  readonly lines: Array<Record<string, unknown>>;
  /** What the auth actor handed over for the operator, in order. */
  readonly keptAdminKeys: AdminCredentials[] = [];
  readonly system: ActorSystem;

  private constructor(readonly nodeState: NodeState, pushTo: readonly string[]) {
    const { logger, lines } = memoryLogger('info');
    this.lines = lines;
    this.system = new ActorSystem({ node: NODE, clock: systemClock, logger });
    this.pushTo = pushTo;
  }

  private readonly pushTo: readonly string[];

  static async start(dir: string, options: { nodeState?: NodeState; pushTo?: readonly string[]; secrets?: SecretBox } = {}): Promise<Harness> {
    const secrets = options.secrets ?? SECRETS;
    const harness = new Harness(options.nodeState ?? NodeState.open(dir, memoryLogger('error').logger), options.pushTo ?? [NODE]);
    const { nodeState } = harness;
    await harness.system.startRoot(
      ROOT_NAME,
      {
        strategy: 'one_for_one',
        maxRestarts: 3,
        periodMs: 10_000,
        children: [
          supervisor('gateway', gatewayTree({ nodeState, secrets, authView: harness.authView })),
          supervisor('manager', {
            strategy: 'one_for_one',
            maxRestarts: 3,
            periodMs: 10_000,
            children: [
              worker(
                'auth',
                authBehavior({
                  tables: authTables(nodeState, secrets),
                  gatewayNodes: async () => harness.pushTo,
                  keepAdminKeys: (keys) => {
                    harness.keptAdminKeys.push(keys);
                    return writeAdminCredentials(dir, keys);
                  },
                }),
              ),
            ],
          }),
        ],
      },
      () => {},
    );
    return harness;
  }

  async ask<R>(build: (replyTo: never) => AuthMessage): Promise<R> {
    const reply = await this.system.ask<AuthMessage, R>(authRef(NODE), build as never, 5_000);
    if (isRuntimeFailure(reply)) throw new Error(`ask failed: ${reply.code} ${reply.message}`);
    return reply as R;
  }

  async users(): Promise<readonly UserView[]> {
    return (await this.ask<{ ok: true; users: readonly UserView[] }>((replyTo) => ({ type: 'get_users', replyTo }))).users;
  }

  createUser(userId: string, keys: { accessKeyId?: string; secretAccessKey?: string; displayName?: string } = {}): Promise<{ ok: true; user: UserRecord } | { ok: false; code: string }> {
    return this.ask((replyTo) => ({ type: 'create_user', userId, ...keys, replyTo }));
  }

  createBucket(name: string, owner: string, acl?: string): Promise<{ ok: boolean; code?: string }> {
    return this.ask((replyTo) => ({ type: 'create_bucket', name, owner, ...(acl ? { acl: acl as never } : {}), replyTo }));
  }

  async stop(closeState = true): Promise<void> {
    await this.system.stop();
    if (closeState) await this.nodeState.close();
  }
}

describe('manager auth: users, keys, buckets, endpoints', () => {
  let dir: string;
  let harness: Harness | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-auth-'));
  });

  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the admin user on the first start only, keeps its keys once in a private file and never logs the secret', async () => {
    harness = await Harness.start(dir);
    expect(harness.keptAdminKeys).to.have.length(1);
    const kept = harness.keptAdminKeys[0]!;
    expect(kept.accessKeyId).to.match(/^[A-Z0-9]{20}$/);
    expect(kept.secretAccessKey).to.be.a('string').with.length(40);
    const file = join(dir, ADMIN_CREDENTIALS_FILE);
    expect(JSON.parse(readFileSync(file, 'utf8'))).to.deep.equal({ userId: 'admin', accessKeyId: kept.accessKeyId, secretAccessKey: kept.secretAccessKey });
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).to.equal(0o600);
    const created = harness.lines.filter((line) => line.msg === 'admin user created');
    expect(created).to.have.length(1);
    expect(created[0]).to.include({ userId: 'admin', accessKeyId: kept.accessKeyId, credentialsFile: file });
    expect(JSON.stringify(harness.lines), 'no log line holds the secret').to.not.include(kept.secretAccessKey);
    const users = await harness.users();
    expect(users).to.have.length(1);
    expect(users[0]).to.include({ userId: 'admin', role: 'admin', accessKeyId: kept.accessKeyId });
    expect(users[0]).to.not.have.property('secretAccessKey');
    const nodeState = harness.nodeState;
    await harness.stop(false);

    harness = await Harness.start(dir, { nodeState });
    expect(harness.keptAdminKeys).to.have.length(0);
    expect(harness.lines.filter((line) => line.msg === 'admin user created')).to.have.length(0);
    expect((await harness.users()).map((user) => user.accessKeyId)).to.deep.equal([kept.accessKeyId]);
    await harness.stop();

    harness = await Harness.start(dir);
    expect(harness.keptAdminKeys, 'not after reopening the state either').to.have.length(0);
    expect(await harness.users()).to.have.length(1);
    expect(JSON.parse(readFileSync(file, 'utf8')).secretAccessKey, 'the file is left as it was').to.equal(kept.secretAccessKey);
  });

  it('generates AWS-shaped keys, imports given ones, and refuses duplicates', async () => {
    harness = await Harness.start(dir);
    const created = await harness.createUser('alice');
    if (!created.ok) throw new Error(created.code);
    expect(created.user.accessKeyId).to.match(/^[A-Z0-9]{20}$/);
    expect(created.user.secretAccessKey).to.match(/^[A-Za-z0-9+/]{40}$/);
    expect(created.user.role).to.equal('normal');
    expect(await harness.createUser('bob', { accessKeyId: 'BOBKEY0001', secretAccessKey: 'bob-secret-123' })).to.deep.include({ ok: true });
    expect(await harness.createUser('alice')).to.include({ ok: false, code: 'UserAlreadyExists' });
    expect(await harness.createUser('carol', { accessKeyId: 'BOBKEY0001', secretAccessKey: 'other-secret' })).to.include({ ok: false, code: 'AccessKeyInUse' });
    expect(await harness.createUser('dave', { accessKeyId: 'ONLYKEY123' })).to.include({ ok: false, code: 'InvalidArgument' });
    expect(await harness.createUser('bad/name')).to.include({ ok: false, code: 'InvalidArgument' });
    expect(await harness.createUser('erin', { displayName: '' })).to.include({ ok: false, code: 'InvalidArgument' });
    const named = await harness.createUser('frank', { displayName: 'Frank F.' });
    expect(named.ok && named.user.displayName).to.equal('Frank F.');
    expect((await harness.users()).map((user) => user.userId)).to.deep.equal(['admin', 'alice', 'bob', 'frank']);
  });

  it('draws access keys uniformly from letters and digits', () => {
    let counter = 0;
    const key = randomAccessKey((size) => Uint8Array.from({ length: size }, () => counter++ % 256));
    expect(key).to.match(/^[A-Z0-9]{20}$/);
    const biased = randomAccessKey((size) => new Uint8Array(size).fill(255).map((byte, i) => (i === 0 ? 0 : byte)));
    expect(biased, 'bytes past the last whole alphabet are drawn again').to.equal('A'.repeat(20));
  });

  it('applies the bucket rules: owners, duplicates, names, ACLs', async () => {
    harness = await Harness.start(dir);
    await harness.createUser('alice');
    await harness.createUser('bob');
    expect(await harness.createBucket('photos', 'alice')).to.include({ ok: true });
    expect(await harness.createBucket('photos', 'alice')).to.include({ ok: false, code: 'BucketAlreadyOwnedByYou' });
    expect(await harness.createBucket('photos', 'bob')).to.include({ ok: false, code: 'BucketAlreadyExists' });
    expect(await harness.createBucket('Bad_Name', 'alice')).to.include({ ok: false, code: 'InvalidBucketName' });
    expect(await harness.createBucket('nobodys', 'nobody')).to.include({ ok: false, code: 'NoSuchUser' });
    expect(await harness.createBucket('weird-acl', 'alice', 'everyone')).to.include({ ok: false, code: 'InvalidArgument' });
    expect(await harness.createBucket('public', 'bob', 'public-read')).to.include({ ok: true });

    const bucket = await harness.ask<{ ok: true; bucket: { acl: string; owner: string; incarnation?: string } }>((replyTo) => ({ type: 'get_bucket', name: 'photos', replyTo }));
    expect(bucket.bucket).to.include({ acl: 'private', owner: 'alice' });
    expect(bucket.bucket.incarnation, 'every new bucket has an incarnation').to.match(/^[0-9a-f]{16}$/);
    const mine = await harness.ask<{ ok: true; buckets: Array<{ name: string }> }>((replyTo) => ({ type: 'list_buckets', owner: 'bob', replyTo }));
    expect(mine.buckets.map((b) => b.name)).to.deep.equal(['public']);

    expect(await harness.ask((replyTo) => ({ type: 'update_acl', name: 'photos', requester: 'bob', acl: 'public-read', replyTo }))).to.include({ ok: false, code: 'AccessDenied' });
    expect(await harness.ask((replyTo) => ({ type: 'update_acl', name: 'photos', requester: 'alice', acl: 'public-read', replyTo }))).to.include({ ok: true });
    expect(await harness.ask((replyTo) => ({ type: 'delete_user', userId: 'alice', replyTo }))).to.include({ ok: false, code: 'UserOwnsBuckets' });
    expect(await harness.ask((replyTo) => ({ type: 'remove_bucket', name: 'photos', namespace: 'photos', replyTo })), 'not this incarnation').to.deep.equal({ ok: true, removed: false });
    const namespace = namespaceOf(bucket.bucket as BucketRecord);
    expect(await harness.ask((replyTo) => ({ type: 'remove_bucket', name: 'photos', namespace, replyTo }))).to.deep.equal({ ok: true, removed: true });
    expect(await harness.ask((replyTo) => ({ type: 'get_bucket', name: 'photos', replyTo }))).to.include({ ok: false, code: 'NoSuchBucket' });
    expect(await harness.ask((replyTo) => ({ type: 'delete_user', userId: 'alice', replyTo }))).to.include({ ok: true });
    expect(await harness.ask((replyTo) => ({ type: 'delete_user', userId: 'admin', replyTo }))).to.include({ ok: false, code: 'LastAdmin' });
    expect(await harness.ask((replyTo) => ({ type: 'update_user_role', userId: 'admin', role: 'normal', replyTo }))).to.include({ ok: false, code: 'LastAdmin' });
  });

  it('changes a bucket\'s versioning, object lock, lifecycle and tags for its owner only, and keeps them', async () => {
    harness = await Harness.start(dir);
    await harness.createUser('alice');
    await harness.createUser('bob');
    await harness.createBucket('plain', 'alice');
    expect(await harness.ask((replyTo) => ({ type: 'create_bucket', name: 'vault', owner: 'alice', objectLock: true, replyTo }))).to.include({ ok: true });
    const get = async (name: string) => (await harness!.ask<{ ok: true; bucket: BucketRecord }>((replyTo) => ({ type: 'get_bucket', name, replyTo }))).bucket;
    expect(await get('vault')).to.deep.include({ versioning: 'Enabled', objectLock: {} });
    const ask = (message: Record<string, unknown>) => harness!.ask((replyTo) => ({ ...message, replyTo }) as never);

    expect(await ask({ type: 'update_versioning', name: 'vault', requester: 'alice', status: 'Suspended' })).to.include({ ok: false, code: 'InvalidBucketState' });
    expect(await ask({ type: 'update_versioning', name: 'plain', requester: 'bob', status: 'Enabled' })).to.include({ ok: false, code: 'AccessDenied' });
    expect(await ask({ type: 'update_versioning', name: 'plain', requester: 'alice', status: 'Sometimes' })).to.include({ ok: false, code: 'InvalidArgument' });
    const lock = { defaultRetention: { mode: 'GOVERNANCE', days: 1 } };
    expect(await ask({ type: 'update_object_lock', name: 'plain', requester: 'alice', config: lock })).to.include({ ok: false, code: 'InvalidBucketState' });
    expect(await ask({ type: 'update_versioning', name: 'plain', requester: 'alice', status: 'Enabled' })).to.include({ ok: true });
    expect(await ask({ type: 'update_object_lock', name: 'plain', requester: 'alice', config: { defaultRetention: { mode: 'GOVERNANCE', days: 0 } } })).to.include({ ok: false, code: 'InvalidArgument' });
    expect(await ask({ type: 'update_object_lock', name: 'plain', requester: 'alice', config: lock })).to.include({ ok: true });
    const lifecycle = { rules: [{ id: 'r', enabled: true, filter: { prefix: 'tmp/' }, filterForm: 'filter', expiration: { days: 3 } }] };
    expect(await ask({ type: 'update_lifecycle', name: 'plain', requester: 'alice', config: { rules: [] } })).to.include({ ok: false, code: 'InvalidArgument' });
    expect(await ask({ type: 'update_lifecycle', name: 'plain', requester: 'alice', config: lifecycle })).to.include({ ok: true });
    expect(await ask({ type: 'update_bucket_tags', name: 'plain', requester: 'alice', tags: { 'aws:x': '1' } })).to.include({ ok: false, code: 'InvalidArgument' });
    expect(await ask({ type: 'update_bucket_tags', name: 'plain', requester: 'alice', tags: { team: 'a' } })).to.include({ ok: true });

    await harness.stop();
    harness = await Harness.start(dir);
    expect(await get('plain')).to.deep.include({ versioning: 'Enabled', objectLock: lock, lifecycle, tags: { team: 'a' } });
    expect(await ask({ type: 'update_lifecycle', name: 'plain', requester: 'alice', config: null })).to.include({ ok: true });
    expect(await ask({ type: 'update_bucket_tags', name: 'plain', requester: 'alice', tags: {} })).to.include({ ok: true });
    const cleared = await get('plain');
    expect([cleared.lifecycle, cleared.tags]).to.deep.equal([undefined, undefined]);
  });

  it('keeps users, buckets and endpoints across a reopening of the state', async () => {
    harness = await Harness.start(dir);
    await harness.createUser('alice', { accessKeyId: 'ALICEKEY01', secretAccessKey: 'alice-secret-1' });
    await harness.createBucket('logs', 'alice', 'authenticated-read');
    await harness.ask((replyTo) => ({ type: 'add_endpoint', host: 'S3.Example.COM', replyTo }));
    await harness.stop();

    harness = await Harness.start(dir);
    expect((await harness.users()).map((user) => `${user.userId}:${user.role}`)).to.deep.equal(['admin:admin', 'alice:normal']);
    const bucket = await harness.ask<{ ok: true; bucket: { owner: string; acl: string } }>((replyTo) => ({ type: 'get_bucket', name: 'logs', replyTo }));
    expect(bucket.bucket).to.include({ owner: 'alice', acl: 'authenticated-read' });
    const endpoints = await harness.ask<{ ok: true; endpoints: Array<{ host: string }> }>((replyTo) => ({ type: 'get_endpoints', replyTo }));
    expect(endpoints.endpoints.map((e) => e.host)).to.deep.equal(['s3.example.com']);
  });

  it('pushes the whole snapshot to running gateways on every change, and the gateway keeps it durable', async () => {
    harness = await Harness.start(dir);
    const h = harness;
    await eventually(() => h.authView.current !== undefined, 2_000, 'first snapshot');
    const first = h.authView.current!.revision;
    const created = await h.createUser('alice');
    if (!created.ok) throw new Error(created.code);
    await eventually(() => h.authView.userByAccessKey(created.user.accessKeyId) !== undefined, 2_000, 'user pushed');
    expect(h.authView.userByAccessKey(created.user.accessKeyId)?.secretAccessKey, 'gateways need the secret').to.equal(created.user.secretAccessKey);
    await h.createBucket('pics', 'alice', 'public-read');
    await eventually(() => h.authView.bucket('pics')?.acl === 'public-read', 2_000, 'bucket pushed');
    await h.ask((replyTo) => ({ type: 'add_endpoint', host: 's3.local', replyTo }));
    await eventually(() => h.authView.endpoints().includes('s3.local'), 2_000, 'endpoint pushed');
    expect(h.authView.current!.revision).to.be.greaterThan(first + 2);
    expect(h.authView.bucketsOf('alice').map((b) => b.name)).to.deep.equal(['pics']);

    // A gateway restarted without a manager: its cache alone, from its own state.
    const view = new AuthView();
    const gatewayOnly = new ActorSystem({ node: 'gateway_0@127.0.0.1', clock: systemClock, logger: memoryLogger('error').logger });
    await gatewayOnly.startRoot(ROOT_NAME, { strategy: 'one_for_one', maxRestarts: 1, periodMs: 1000, children: [worker('auth', authCacheBehavior({ view, table: h.nodeState.table(AUTH_CACHE_TABLE, isAuthSnapshot, sealedSnapshotCodec(SECRETS)) }))] }, () => {});
    try {
      expect(view.bucket('pics')?.owner).to.equal('alice');
      expect(view.userByAccessKey(created.user.accessKeyId)?.userId).to.equal('alice');
    } finally {
      await gatewayOnly.stop();
    }
  });

  it('sends the snapshot to a gateway that joins, and a cache never goes back to an older revision', async () => {
    harness = await Harness.start(dir, { pushTo: [] });
    const h = harness;
    await h.createUser('alice');
    expect(h.authView.current, 'no running gateway to push to').to.equal(undefined);
    h.system.dispatch(authRef(NODE), { type: 'gateway_joined', node: NODE });
    await eventually(() => h.authView.user('alice') !== undefined, 2_000, 'snapshot on join');
    const held = h.authView.current!;
    h.system.dispatch({ node: NODE, path: '/node/gateway/auth' }, { type: 'auth_snapshot', snapshot: { ...held, revision: held.revision - 1, users: [] } });
    h.system.dispatch({ node: NODE, path: '/node/gateway/auth' }, { type: 'auth_snapshot', snapshot: { ...held, revision: held.revision + 1, users: 'garbage' } as never });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.authView.current).to.equal(held);
  });
});

describe('manager auth: secrets at rest', () => {
  const ALICE: UserRecord = { userId: 'alice', accessKeyId: 'ALICEKEY01', secretAccessKey: 'alice-secret-at-rest-1', role: 'normal', createdAtMs: 1 };
  let dir: string;
  let harness: Harness | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-auth-rest-'));
  });

  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** The bytes of every file of the state environment, where the users table and the gateway's copy live. */
  function stateBytes(): Buffer {
    return Buffer.concat(readdirSync(join(dir, 'state')).map((name) => readFileSync(join(dir, 'state', name))));
  }

  /** Users, their meta record and a gateway snapshot as a release that kept secrets in plain text wrote them. */
  async function writePlainState(): Promise<void> {
    const nodeState = NodeState.open(dir, memoryLogger('error').logger);
    const admin: UserRecord = { userId: 'admin', accessKeyId: 'ADMINKEY0001', secretAccessKey: 'admin-secret-at-rest-1', role: 'admin', createdAtMs: 1 };
    const raw = <T>(name: string): StateTable<T> => nodeState.table(name, (value): value is T => true);
    await raw<UserRecord>('users').put('admin', admin);
    await raw<UserRecord>('users').put('alice', ALICE);
    await raw('auth_meta').put('meta', { origin: 'earlier', revision: 3, adminCreatedAtMs: 1 });
    await raw<AuthSnapshot>(AUTH_CACHE_TABLE).put('snapshot', { version: AUTH_SNAPSHOT_VERSION, origin: 'earlier', revision: 3, users: [admin, ALICE], buckets: [], endpoints: [] });
    await nodeState.close();
  }

  it("keeps no user's secret in plain text in the manager's users or the gateway's copy", async () => {
    harness = await Harness.start(dir);
    const h = harness;
    const admin = h.keptAdminKeys[0]!;
    expect(await h.createUser(ALICE.userId, { accessKeyId: ALICE.accessKeyId, secretAccessKey: ALICE.secretAccessKey })).to.include({ ok: true });
    const second = await h.ask<AddAccessKeyReply>((replyTo) => ({ type: 'add_access_key', userId: ALICE.userId, replyTo }));
    if (!second.ok) throw new Error(`add_access_key refused: ${second.code}`);
    await eventually(() => h.authView.secretOf(second.key.accessKeyId) === second.key.secretAccessKey, 2_000, 'user pushed to the gateway');
    expect(h.authView.userByAccessKey(second.key.accessKeyId)?.userId).to.equal(ALICE.userId);
    expect(h.authView.secretOf(ALICE.accessKeyId), 'the first key still works').to.equal(ALICE.secretAccessKey);
    await harness.stop();
    harness = undefined;
    const bytes = stateBytes();
    expect(bytes.includes(Buffer.from('ALICEKEY01')), 'the search finds what is stored').to.equal(true);
    expect(bytes.includes(Buffer.from(second.key.accessKeyId)), 'the search finds the second key').to.equal(true);
    expect(bytes.includes(Buffer.from(ALICE.secretAccessKey)), "alice's secret").to.equal(false);
    expect(bytes.includes(Buffer.from(second.key.secretAccessKey)), "alice's second secret").to.equal(false);
    expect(bytes.includes(Buffer.from(admin.secretAccessKey)), "the admin's secret").to.equal(false);

    harness = await Harness.start(dir);
    const again = harness;
    await eventually(() => again.authView.userByAccessKey(ALICE.accessKeyId)?.secretAccessKey === ALICE.secretAccessKey, 2_000, 'secret read back');
    expect(again.authView.secretOf(second.key.accessKeyId), 'second secret read back').to.equal(second.key.secretAccessKey);
  });

  it('loads users and a gateway copy stored in plain text by an earlier release, and seals them at start', async () => {
    await writePlainState();
    expect(stateBytes().includes(Buffer.from(ALICE.secretAccessKey)), 'written in plain text').to.equal(true);

    // Read as they are, before any upgrade.
    harness = await Harness.start(dir);
    expect(harness.authView.userByAccessKey(ALICE.accessKeyId)?.secretAccessKey, 'the gateway copy').to.equal(ALICE.secretAccessKey);
    expect((await harness.users()).map((user) => user.userId)).to.deep.equal(['admin', 'alice']);
    expect(harness.keptAdminKeys, 'no new admin').to.have.length(0);
    await harness.stop();
    harness = undefined;

    const nodeState = NodeState.open(dir, memoryLogger('error').logger);
    expect(await upgradeManagerState(nodeState, SECRETS)).to.deep.equal({ rewritten: 2, unreadable: [] });
    await upgradeGatewayState(nodeState, SECRETS, memoryLogger('error').logger);
    expect(await upgradeManagerState(nodeState, SECRETS), 'once is enough').to.deep.equal({ rewritten: 0, unreadable: [] });
    expect(stateBytes().includes(Buffer.from(ALICE.secretAccessKey)), 'sealed, and no old copy left').to.equal(false);

    const view = new AuthView();
    const gatewayOnly = new ActorSystem({ node: 'gateway_0@127.0.0.1', clock: systemClock, logger: memoryLogger('error').logger });
    await gatewayOnly.startRoot(ROOT_NAME, gatewayTree({ nodeState, secrets: SECRETS, authView: view }), () => {});
    try {
      expect(view.userByAccessKey(ALICE.accessKeyId)?.secretAccessKey, "the gateway's sealed copy").to.equal(ALICE.secretAccessKey);
    } finally {
      await gatewayOnly.stop();
    }
    harness = await Harness.start(dir, { nodeState, pushTo: [] });
    const h = harness;
    h.system.dispatch(authRef(NODE), { type: 'gateway_joined', node: NODE });
    await eventually(() => h.authView.userByAccessKey(ALICE.accessKeyId)?.secretAccessKey === ALICE.secretAccessKey, 2_000, "the manager's sealed users");
  });

  it('names the users whose secrets do not open with another cookie, and drops a gateway copy that does not', async () => {
    harness = await Harness.start(dir);
    await harness.createUser(ALICE.userId, { accessKeyId: ALICE.accessKeyId, secretAccessKey: ALICE.secretAccessKey });
    const h = harness;
    await eventually(() => h.authView.userByAccessKey(ALICE.accessKeyId) !== undefined, 2_000, 'user pushed');
    await harness.stop();
    harness = undefined;

    const other = SecretBox.fromCookie('another-cluster-cookie');
    const logs = memoryLogger('info');
    const nodeState = NodeState.open(dir, logs.logger);
    try {
      expect(await upgradeManagerState(nodeState, other)).to.deep.equal({ rewritten: 0, unreadable: ['admin', 'alice'] });
      await upgradeGatewayState(nodeState, other, logs.logger);
      expect(logs.lines.filter((line) => line.level === 'warn').map((line) => line.msg)).to.deep.equal([
        'the cached users and buckets cannot be decrypted with this cluster cookie; dropped them until the manager sends them again',
      ]);
      expect(nodeState.table(AUTH_CACHE_TABLE, isAuthSnapshot, sealedSnapshotCodec(other)).entries()).to.deep.equal([]);
      expect(await upgradeManagerState(nodeState, SECRETS), 'the right cookie still opens them').to.deep.equal({ rewritten: 0, unreadable: [] });
    } finally {
      await nodeState.close();
    }
  });
});
