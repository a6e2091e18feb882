import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminRef, ringKeeperRef, ROOT_NAME } from '../../../src/protocol/cluster/paths.js';
import { RingView } from '../../../src/actors/common/ring-view.js';
import type { AdminMessage } from '../../../src/protocol/cluster/admin.js';
import type { AdminCommand, AdminReply, AdminResult } from '../../../src/protocol/cluster/admin.js';
import { managerTree } from '../../../src/actors/manager/manager-tree.js';
import type { JoinReply, RingKeeperMessage } from '../../../src/protocol/cluster/ring-keeper.js';
import { nodeTree } from '../../../src/actors/node-tree.js';
import { isRuntimeFailure } from '../../../src/runtime/failures.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../../../src/runtime/node.js';
import { NodeState } from '../../../src/store/node-state.js';
import { managerReady } from '../../support/manager-ready.js';
import { eventually } from '../../support/eventually.js';
import { isSessionRevocation, REVOCATION_CLOCK_MARGIN_MS, revocationKey } from '../../../src/core/console-sessions.js';
import { CONSOLE_REVOCATIONS_TABLE } from '../../../src/protocol/cluster/console-sessions.js';
import { SecretBox } from '../../../src/store/secret-box.js';

const MANAGER = 'manager_0@127.0.0.1';
const TRAFFIC_SAMPLE_INTERVAL_MS = 100;

describe('manager admin commands', () => {
  let dir: string;
  let node: ClusterNode;
  let nodeState: NodeState;
  let sampled = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-admin-'));
    node = await startClusterNode({ node: MANAGER, cookie: 'admin-test-cookie', logger: memoryLogger('error').logger });
    nodeState = NodeState.open(dir, node.logger);
    await node.system.startRoot(
      ROOT_NAME,
      nodeTree(node, {
        role: 'manager',
        roleTree: managerTree(node, { nodeState, secrets: SecretBox.fromCookie('admin-test-cookie'), dataDir: dir, trafficSampleIntervalMs: TRAFFIC_SAMPLE_INTERVAL_MS }),
        startedAtMs: Date.now(),
        nodeState,
        ringView: new RingView(),
        // The manager stands in for a gateway: 10 requests of 20 ms, 1000 bytes in and out, each time it is sampled.
        traffic: () => {
          sampled += 10;
          return Promise.resolve({ requests: sampled, receivedBytes: sampled * 100, sentBytes: sampled * 100, latency: { buckets: [[0.01, 0], [0.05, sampled]], sumSeconds: sampled * 0.02, count: sampled } });
        },
      }),
      () => {},
    );
    await managerReady(node.system, MANAGER);
  });

  after(async () => {
    await node.stop();
    await nodeState.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Any answer of the admin actor; runtime failures never reach the tests as answers (none is expected). */
  async function admin(command: unknown): Promise<AdminReply> {
    const reply = await node.system.ask<AdminMessage, AdminReply>(adminRef(MANAGER), (replyTo) => ({ type: 'admin', command: command as AdminCommand, replyTo }), 10_000);
    if (isRuntimeFailure(reply) && reply.code === 'Timeout') throw new Error(`the admin actor did not answer: ${reply.message}`);
    return reply as AdminReply;
  }

  async function ok<K extends AdminResult['kind']>(command: AdminCommand, kind: K): Promise<Extract<AdminResult, { kind: K }>> {
    const reply = await admin(command);
    if (!reply.ok) throw new Error(`${command.command} refused: ${reply.code} ${reply.message}`);
    expect(reply.result.kind).to.equal(kind);
    return reply.result as Extract<AdminResult, { kind: K }>;
  }

  it('refuses malformed commands at the edge', async () => {
    expect(await admin({ command: 'format_disk' })).to.include({ ok: false, code: 'BadCommand' });
    expect(await admin({ command: 'start', n: '3', w: 2, r: 1, d: 2 })).to.include({ ok: false, code: 'BadCommand' });
    expect(await admin({ command: 'update_acl', bucket: 'b', accessKeyId: 'K', acl: 'everyone' })).to.include({ ok: false, code: 'BadCommand' });
  });

  it('reports a cluster that is not started, and refuses whereis until it is', async () => {
    const status = await ok({ command: 'status' }, 'cluster_status');
    expect(status.settings).to.equal(null);
    expect(status.members.map((m) => m.node)).to.deep.equal([MANAGER]);
    expect(await admin({ command: 'whereis', bucket: 'b', key: 'k' }), 'no such bucket').to.include({ ok: false, code: 'NoSuchBucket' });
    expect((await ok({ command: 'dump_ring' }, 'ring')).doc).to.equal(null);
    expect(await admin({ command: 'start', n: 1, w: 1, r: 1, d: 1, rackAware: false })).to.include({ ok: false, code: 'NotEnoughNodes' });
  });

  it('manages users and buckets by access key, as leofs-adm does', async () => {
    const alice = (await ok({ command: 'create_user', userId: 'alice' }, 'user')).user;
    const bob = (await ok({ command: 'create_user', userId: 'bob', accessKeyId: 'BOBKEY0001', secretAccessKey: 'bob-secret-123', role: 'admin' }, 'user')).user;
    expect(bob).to.include({ accessKeyId: 'BOBKEY0001', secretAccessKey: 'bob-secret-123', role: 'admin' });
    const users = (await ok({ command: 'get_users' }, 'users')).users;
    expect(users.map((u) => u.userId)).to.deep.equal(['admin', 'alice', 'bob']);
    expect(JSON.stringify(users)).to.not.include('bob-secret-123');

    const bucket = (await ok({ command: 'add_bucket', bucket: 'photos', accessKeyId: alice.accessKeyId }, 'bucket')).bucket;
    expect(bucket).to.include({ name: 'photos', owner: 'alice', acl: 'private' });
    expect(await admin({ command: 'add_bucket', bucket: 'photos', accessKeyId: 'BOBKEY0001' })).to.include({ ok: false, code: 'BucketAlreadyExists' });
    expect(await admin({ command: 'add_bucket', bucket: 'x1', accessKeyId: 'NOSUCHKEY' })).to.include({ ok: false, code: 'NoSuchUser' });
    expect((await ok({ command: 'get_bucket', accessKeyId: alice.accessKeyId }, 'buckets')).buckets.map((b) => b.name)).to.deep.equal(['photos']);
    expect(await admin({ command: 'update_acl', bucket: 'photos', accessKeyId: 'BOBKEY0001', acl: 'public-read' })).to.include({ ok: false, code: 'AccessDenied' });
    expect((await ok({ command: 'update_acl', bucket: 'photos', accessKeyId: alice.accessKeyId, acl: 'public-read' }, 'bucket')).bucket.acl).to.equal('public-read');
    expect((await ok({ command: 'chown_bucket', bucket: 'photos', accessKeyId: 'BOBKEY0001' }, 'bucket')).bucket.owner).to.equal('bob');
    expect(await admin({ command: 'delete_bucket', bucket: 'photos', accessKeyId: alice.accessKeyId })).to.include({ ok: false, code: 'AccessDenied' });
    await ok({ command: 'delete_bucket', bucket: 'photos', accessKeyId: 'BOBKEY0001' }, 'done');
    expect((await ok({ command: 'get_buckets' }, 'buckets')).buckets).to.deep.equal([]);
    await ok({ command: 'update_user_role', userId: 'alice', role: 'admin' }, 'done');
    await ok({ command: 'delete_user', userId: 'bob' }, 'done');
    expect(await admin({ command: 'delete_user', userId: 'bob' })).to.include({ ok: false, code: 'NoSuchUser' });
  });

  it("checks a user's secret with one refusal for a wrong secret and an unknown key", async () => {
    await ok({ command: 'create_user', userId: 'carol', accessKeyId: 'CAROLKEY0001', secretAccessKey: 'carol-secret-123' }, 'user');
    const checked = await ok({ command: 'check_credentials', accessKeyId: 'CAROLKEY0001', secretAccessKey: 'carol-secret-123' }, 'credentials');
    expect(checked.user).to.deep.include({ userId: 'carol', role: 'normal' });
    expect(JSON.stringify(checked)).to.not.include('carol-secret-123');
    const wrong = await admin({ command: 'check_credentials', accessKeyId: 'CAROLKEY0001', secretAccessKey: 'carol-secret-124' });
    const unknown = await admin({ command: 'check_credentials', accessKeyId: 'NOSUCHKEY0001', secretAccessKey: 'carol-secret-123' });
    expect(wrong).to.include({ ok: false, code: 'InvalidCredentials' });
    expect(unknown).to.deep.equal(wrong);
    expect(await admin({ command: 'check_credentials', accessKeyId: 'CAROLKEY0001' })).to.include({ ok: false, code: 'BadCommand' });
    await ok({ command: 'delete_user', userId: 'carol' }, 'done');
  });

  it('rotates access keys: a second key works beside the first until one is deleted, two at most, never none', async () => {
    const dave = (await ok({ command: 'create_user', userId: 'dave' }, 'user')).user;
    const added = await ok({ command: 'add_access_key', userId: 'dave' }, 'access_key');
    expect(added.userId).to.equal('dave');
    expect(added.key.accessKeyId).to.match(/^[A-Z0-9]{20}$/).and.not.equal(dave.accessKeyId);
    expect(added.key.secretAccessKey).to.have.length(40);
    expect(await admin({ command: 'add_access_key', userId: 'dave' })).to.include({ ok: false, code: 'TooManyAccessKeys' });
    const listed = await ok({ command: 'get_access_keys', userId: 'dave' }, 'access_keys');
    expect(listed.keys.map((key) => key.accessKeyId)).to.deep.equal([dave.accessKeyId, added.key.accessKeyId]);
    expect(JSON.stringify(listed)).to.not.include(added.key.secretAccessKey).and.not.include(dave.secretAccessKey);
    await ok({ command: 'check_credentials', accessKeyId: added.key.accessKeyId, secretAccessKey: added.key.secretAccessKey }, 'credentials');
    await ok({ command: 'check_credentials', accessKeyId: dave.accessKeyId, secretAccessKey: dave.secretAccessKey }, 'credentials');
    expect(await admin({ command: 'check_credentials', accessKeyId: added.key.accessKeyId, secretAccessKey: dave.secretAccessKey }), "one key's secret does not open the other").to.include({ ok: false, code: 'InvalidCredentials' });
    expect((await ok({ command: 'add_bucket', bucket: 'dave-new-key', accessKeyId: added.key.accessKeyId }, 'bucket')).bucket.owner).to.equal('dave');
    expect(await admin({ command: 'create_user', userId: 'eve', accessKeyId: added.key.accessKeyId, secretAccessKey: 'eve-secret-1234' })).to.include({ ok: false, code: 'AccessKeyInUse' });

    await ok({ command: 'delete_access_key', userId: 'dave', accessKeyId: dave.accessKeyId }, 'done');
    expect(await admin({ command: 'check_credentials', accessKeyId: dave.accessKeyId, secretAccessKey: dave.secretAccessKey })).to.include({ ok: false, code: 'InvalidCredentials' });
    expect((await ok({ command: 'get_users' }, 'users')).users.find((user) => user.userId === 'dave')?.accessKeyId, 'the new key is the user\'s now').to.equal(added.key.accessKeyId);
    expect(await admin({ command: 'delete_access_key', userId: 'dave', accessKeyId: dave.accessKeyId })).to.include({ ok: false, code: 'NoSuchAccessKey' });
    expect(await admin({ command: 'delete_access_key', userId: 'dave', accessKeyId: added.key.accessKeyId })).to.include({ ok: false, code: 'LastAccessKey' });
    expect(await admin({ command: 'get_access_keys', userId: 'nobody' })).to.include({ ok: false, code: 'NoSuchUser' });
    expect(await admin({ command: 'delete_access_key', userId: 'dave' })).to.include({ ok: false, code: 'BadCommand' });
    await ok({ command: 'delete_bucket', bucket: 'dave-new-key', accessKeyId: added.key.accessKeyId }, 'done');
    await ok({ command: 'delete_user', userId: 'dave' }, 'done');
  });

  it("lists a node's actors with their mailboxes and crashes, as the shell does, and names a node that does not answer", async () => {
    const listed = await ok({ command: 'actors', node: MANAGER }, 'actors');
    expect(listed.node).to.equal(MANAGER);
    const adminActor = listed.actors.find((actor) => actor.path.endsWith('/manager/admin'));
    expect(adminActor, 'the admin actor itself').to.include({ status: 'running', crashes: 0 });
    expect(adminActor!.mailbox).to.be.a('number');
    expect(listed.actors.length).to.be.greaterThan(5);
    expect(await admin({ command: 'actors', node: 'storage_9@127.0.0.1' })).to.include({ ok: false, code: 'NodeUnavailable' });
    expect(await admin({ command: 'actors' })).to.include({ ok: false, code: 'BadCommand' });
  });

  it("shows a node's requests over the last hour as the manager sampled them, and refuses a node that is not a member", async () => {
    // The first samples may still be on their way: no node yet, then one point, then two.
    await eventually(async () => ((await ok({ command: 'metrics_history', node: MANAGER }, 'metrics_history')).nodes[0]?.points.length ?? 0) >= 2, 10_000, 'two points sampled');
    const history = await ok({ command: 'metrics_history', node: MANAGER }, 'metrics_history');
    expect(history).to.include({ intervalMs: TRAFFIC_SAMPLE_INTERVAL_MS, windowMs: 3_600_000 });
    expect(history.nodes.map(({ node, role }) => ({ node, role }))).to.deep.equal([{ node: MANAGER, role: 'manager' }]);
    for (const point of history.nodes[0]!.points) {
      expect(point.requestsPerSecond, 'ten requests a sample').to.be.greaterThan(0);
      expect(point.sentBytesPerSecond).to.be.closeTo(point.requestsPerSecond * 100, 1e-6);
      expect(point.meanMs).to.be.closeTo(20, 1e-6);
      expect(point.p50Ms).to.be.within(10, 50);
    }
    expect((await ok({ command: 'metrics_history' }, 'metrics_history')).nodes.map((entry) => entry.node)).to.deep.equal([MANAGER]);
    expect(await admin({ command: 'metrics_history', node: 'ghost@127.0.0.1' })).to.include({ ok: false, code: 'UnknownNode' });
    expect(await admin({ command: 'metrics_history', node: 42 })).to.include({ ok: false, code: 'BadCommand' });
  });

  it("ends console sessions on every manager through the replicated state: a logout's, and a deleted user's or access key's", async () => {
    const revocations = nodeState.table(CONSOLE_REVOCATIONS_TABLE, isSessionRevocation);
    const logout = { kind: 'session' as const, subject: 'session-id-1', beforeMs: 2_000, untilMs: 2_000 };
    await ok({ command: 'revoke_console_sessions', revocation: logout }, 'done');
    expect(revocations.get(revocationKey('session', 'session-id-1'))).to.deep.equal(logout);
    expect(await admin({ command: 'revoke_console_sessions', revocation: { kind: 'everyone', subject: 'x', beforeMs: 1, untilMs: 1 } })).to.include({ ok: false, code: 'BadCommand' });
    const frank = (await ok({ command: 'create_user', userId: 'frank' }, 'user')).user;
    const second = (await ok({ command: 'add_access_key', userId: 'frank' }, 'access_key')).key;
    await ok({ command: 'delete_access_key', userId: 'frank', accessKeyId: second.accessKeyId }, 'done');
    expect(revocations.get(revocationKey('access_key', second.accessKeyId))?.beforeMs, "the leader's now and the clock margin").to.be.closeTo(Date.now() + REVOCATION_CLOCK_MARGIN_MS, 10_000);
    await ok({ command: 'update_user_role', userId: 'frank', role: 'admin' }, 'done');
    expect(revocations.get(revocationKey('user', 'frank')), 'made an administrator: nothing to end').to.equal(undefined);
    await ok({ command: 'update_user_role', userId: 'frank', role: 'normal' }, 'done');
    expect(revocations.get(revocationKey('user', 'frank')), 'no longer an administrator').to.include({ kind: 'user', subject: 'frank' });
    await ok({ command: 'delete_user', userId: 'frank' }, 'done');
    expect(revocations.get(revocationKey('user', 'frank'))).to.include({ kind: 'user', subject: 'frank' });
    expect(revocations.get(revocationKey('access_key', frank.accessKeyId)), 'the user is named, not each key').to.equal(undefined);
  });

  it('writes the revocation before the change it goes with, so a change that fails leaves the sessions ended and a retry writes it again', async () => {
    const revocations = nodeState.table(CONSOLE_REVOCATIONS_TABLE, isSessionRevocation);
    expect(await admin({ command: 'delete_user', userId: 'ghost' })).to.include({ ok: false, code: 'NoSuchUser' });
    expect(revocations.get(revocationKey('user', 'ghost')), 'written before the deletion was refused').to.include({ kind: 'user', subject: 'ghost' });
    expect(await admin({ command: 'delete_access_key', userId: 'ghost', accessKeyId: 'GHOSTKEY' })).to.include({ ok: false });
    expect(revocations.get(revocationKey('access_key', 'GHOSTKEY'))).to.include({ kind: 'access_key', subject: 'GHOSTKEY' });
    expect(await admin({ command: 'update_user_role', userId: 'ghost2', role: 'normal' })).to.include({ ok: false, code: 'NoSuchUser' });
    expect(revocations.get(revocationKey('user', 'ghost2'))).to.include({ kind: 'user', subject: 'ghost2' });
  });

  it('manages endpoints', async () => {
    expect((await ok({ command: 'add_endpoint', host: 'S3.Example.com' }, 'endpoints')).endpoints.map((e) => e.host)).to.deep.equal(['s3.example.com']);
    expect(await admin({ command: 'add_endpoint', host: 'not a host' })).to.include({ ok: false, code: 'InvalidArgument' });
    expect(await admin({ command: 'delete_endpoint', host: 'other.example.com' })).to.include({ ok: false, code: 'NoSuchEndpoint' });
    expect((await ok({ command: 'delete_endpoint', host: 's3.example.com' }, 'endpoints')).endpoints).to.deep.equal([]);
  });

  it("shows one node's details and changes its log level", async () => {
    const details = await ok({ command: 'status', node: MANAGER }, 'node_status');
    expect(details).to.include({ node: MANAGER, role: 'manager', state: 'running' });
    await ok({ command: 'update_log_level', node: MANAGER, level: 'warn' }, 'done');
    expect(node.logger.level).to.equal('warn');
    node.logger.setLevel('error');
    expect(await admin({ command: 'update_log_level', node: MANAGER, level: 'loud' })).to.include({ ok: false, code: 'BadLevel' });
    const unknown = await admin({ command: 'status', node: 'ghost@127.0.0.1' });
    expect(unknown).to.include({ ok: false, code: 'NodeUnavailable' });
    expect(!unknown.ok && unknown.message).to.include('ghost@127.0.0.1');
  });

  it('starts the cluster and locates a key on its replicas, naming replicas that do not answer', async () => {
    for (const name of ['storage_0@127.0.0.1', 'storage_1@127.0.0.1', 'storage_2@127.0.0.1']) {
      const joined = await node.system.ask<RingKeeperMessage, JoinReply>(ringKeeperRef(MANAGER), (replyTo) => ({ type: 'join', node: name, role: 'storage', address: '127.0.0.1:1', replyTo }), 5_000);
      expect(joined).to.include({ ok: true });
    }
    const adminKey = (await ok({ command: 'get_users' }, 'users')).users.find((user) => user.userId === 'admin')!.accessKeyId;
    await ok({ command: 'add_bucket', bucket: 'maps', accessKeyId: adminKey }, 'bucket');
    expect(await admin({ command: 'whereis', bucket: 'maps', key: 'cat.jpg' })).to.include({ ok: false, code: 'NotStarted' });
    expect(await admin({ command: 'start', n: 2, w: 3, r: 1, d: 1, rackAware: false })).to.include({ ok: false, code: 'BadQuorum' });
    const started = await ok({ command: 'start', n: 2, w: 2, r: 1, d: 1, rackAware: false }, 'started');
    expect(started.members).to.have.length(3);
    const where = await ok({ command: 'whereis', bucket: 'maps', key: 'cat.jpg' }, 'whereis');
    expect(where.position).to.match(/^[0-9a-f]{32}$/);
    expect(where.replicas).to.have.length(2);
    for (const replica of where.replicas) {
      expect(replica.ring).to.equal('current');
      expect(replica.answer.ok, 'these storage nodes do not exist').to.equal(false);
    }
    const ring = await ok({ command: 'dump_ring' }, 'ring');
    expect(ring.checksum).to.equal(started.checksum);
    expect(ring.doc?.settings).to.deep.equal({ n: 2, w: 2, r: 1, d: 1, rackAware: false });
  });
});
