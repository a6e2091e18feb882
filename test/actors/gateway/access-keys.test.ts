/**
 * Access key rotation as an S3 client sees it: the manager's auth actor adds and deletes a user's keys
 * and pushes the change to a gateway's auth cache, whose S3 server (real HTTP, in-memory storage)
 * takes a request signed with the new key at once and refuses one signed with a deleted key with
 * 403 InvalidAccessKeyId.
 */
import { ListBucketsCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthView } from '../../../src/actors/common/auth-view.js';
import { DEFAULT_GATEWAY_CONFIG } from '../../../src/actors/gateway/gateway-config.js';
import { createGatewayDeps, startGatewayServer, type GatewayServer } from '../../../src/actors/gateway/gateway-server.js';
import { gatewayTree } from '../../../src/actors/gateway/gateway-tree.js';
import { authBehavior } from '../../../src/actors/manager/auth.js';
import { authTables } from '../../../src/actors/manager/manager-tree.js';
import type { AddAccessKeyReply, AuthMessage, CreateBucketReply, CreateUserReply, DeleteAccessKeyReply } from '../../../src/protocol/cluster/auth.js';
import { authRef, ROOT_NAME } from '../../../src/protocol/cluster/paths.js';
import { systemClock } from '../../../src/runtime/clock.js';
import { isRuntimeFailure } from '../../../src/runtime/failures.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { supervisor, worker } from '../../../src/runtime/supervisor.js';
import { ActorSystem } from '../../../src/runtime/system.js';
import { NodeState } from '../../../src/store/node-state.js';
import { SecretBox } from '../../../src/store/secret-box.js';
import { eventually } from '../../support/eventually.js';
import { FakeBucketAdmin } from '../../support/gateway-harness.js';
import { MemoryStorage } from '../../support/memory-storage.js';
import { DROP_IDLE_CONNECTIONS_EARLY } from '../../support/sdk-connections.js';

const NODE = 'manager_0@127.0.0.1';
const SECRETS = SecretBox.fromCookie('access-keys-test-cookie');

describe('gateway: access keys rotated on the manager', () => {
  let dir: string;
  let nodeState: NodeState;
  let system: ActorSystem;
  let server: GatewayServer;
  let endpoint: string;
  const view = new AuthView();
  const clients: S3Client[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-access-keys-'));
    nodeState = NodeState.open(dir, memoryLogger('error').logger);
    system = new ActorSystem({ node: NODE, clock: systemClock, logger: memoryLogger('error').logger });
    await system.startRoot(
      ROOT_NAME,
      {
        strategy: 'one_for_one',
        maxRestarts: 3,
        periodMs: 10_000,
        children: [
          supervisor('gateway', gatewayTree({ nodeState, secrets: SECRETS, authView: view })),
          supervisor('manager', {
            strategy: 'one_for_one',
            maxRestarts: 3,
            periodMs: 10_000,
            children: [worker('auth', authBehavior({ tables: authTables(nodeState, SECRETS), gatewayNodes: async () => [NODE], keepAdminKeys: () => 'nowhere' }))],
          }),
        ],
      },
      () => {},
    );
    const deps = createGatewayDeps({
      config: { ...DEFAULT_GATEWAY_CONFIG, httpPort: 0 },
      storage: new MemoryStorage(),
      authView: view,
      // Buckets are made on the manager's auth actor here; S3 bucket creation is not what is tested.
      bucketAdmin: new FakeBucketAdmin(view),
      clock: systemClock,
      log: memoryLogger('error').logger,
      node: 'gateway_test@127.0.0.1',
    });
    server = await startGatewayServer(deps);
    endpoint = `http://127.0.0.1:${server.port}`;
  });

  after(async () => {
    for (const client of clients) client.destroy();
    await server?.close(2_000);
    await system?.stop();
    await nodeState?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function ask<R>(build: (replyTo: never) => AuthMessage): Promise<R> {
    const reply = await system.ask<AuthMessage, R>(authRef(NODE), build as never, 5_000);
    if (isRuntimeFailure(reply)) throw new Error(`ask failed: ${reply.code} ${reply.message}`);
    return reply as R;
  }

  function client(accessKeyId: string, secretAccessKey: string): S3Client {
    const made = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, maxAttempts: 1, requestHandler: DROP_IDLE_CONNECTIONS_EARLY, credentials: { accessKeyId, secretAccessKey } });
    clients.push(made);
    return made;
  }

  async function refusal(pending: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
    try {
      await pending;
    } catch (error) {
      if (error instanceof S3ServiceException) return { name: error.name, status: error.$metadata.httpStatusCode };
      throw error;
    }
    throw new Error('the request was taken');
  }

  it('takes requests signed with a new key at once, and refuses a deleted key with 403 InvalidAccessKeyId', async () => {
    const created = await ask<CreateUserReply>((replyTo) => ({ type: 'create_user', userId: 'frank', replyTo }));
    if (!created.ok) throw new Error(`create_user refused: ${created.code}`);
    const old = created.user;
    expect(await ask<CreateBucketReply>((replyTo) => ({ type: 'create_bucket', name: 'franks-bucket', owner: 'frank', replyTo }))).to.include({ ok: true });
    await eventually(() => view.secretOf(old.accessKeyId) !== undefined && view.bucket('franks-bucket') !== undefined, 5_000, 'the user and its bucket reach the gateway');
    const oldClient = client(old.accessKeyId, old.secretAccessKey);
    expect((await oldClient.send(new ListBucketsCommand({}))).Buckets?.map((bucket) => bucket.Name)).to.deep.equal(['franks-bucket']);

    const added = await ask<AddAccessKeyReply>((replyTo) => ({ type: 'add_access_key', userId: 'frank', replyTo }));
    if (!added.ok) throw new Error(`add_access_key refused: ${added.code}`);
    await eventually(() => view.secretOf(added.key.accessKeyId) !== undefined, 5_000, 'the new key reaches the gateway');
    const newClient = client(added.key.accessKeyId, added.key.secretAccessKey);
    const listed = await newClient.send(new ListBucketsCommand({}));
    expect(listed.Buckets?.map((bucket) => bucket.Name), 'the same user, by its new key').to.deep.equal(['franks-bucket']);
    expect((await oldClient.send(new ListBucketsCommand({}))).Buckets, 'the old key keeps working until deleted').to.have.length(1);
    expect(await refusal(client(added.key.accessKeyId, old.secretAccessKey).send(new ListBucketsCommand({}))), "the old key's secret with the new key id").to.deep.equal({ name: 'SignatureDoesNotMatch', status: 403 });

    const deleted = await ask<DeleteAccessKeyReply>((replyTo) => ({ type: 'delete_access_key', userId: 'frank', accessKeyId: old.accessKeyId, replyTo }));
    expect(deleted).to.deep.equal({ ok: true });
    await eventually(() => view.secretOf(old.accessKeyId) === undefined, 5_000, 'the deletion reaches the gateway');
    expect(await refusal(oldClient.send(new ListBucketsCommand({})))).to.deep.equal({ name: 'InvalidAccessKeyId', status: 403 });
    expect((await newClient.send(new ListBucketsCommand({}))).Buckets?.map((bucket) => bucket.Name)).to.deep.equal(['franks-bucket']);
  });
});
