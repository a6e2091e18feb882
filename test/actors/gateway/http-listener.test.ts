import { expect } from 'chai';
import { connect } from 'node:net';
import { AuthView } from '../../../src/actors/common/auth-view.js';
import { DEFAULT_GATEWAY_CONFIG } from '../../../src/actors/gateway/gateway-config.js';
import { httpListenerBehavior } from '../../../src/actors/gateway/http-listener.js';
import { httpListenerRef, type HttpListenerMessage, type HttpListenerStatus } from '../../../src/protocol/cluster/http-listener.js';
import { ObjectCache } from '../../../src/actors/gateway/object-cache.js';
import { AUTH_SNAPSHOT_VERSION } from '../../../src/core/auth-snapshot.js';
import { systemClock } from '../../../src/runtime/clock.js';
import { isRuntimeFailure } from '../../../src/runtime/failures.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { supervisor, worker } from '../../../src/runtime/supervisor.js';
import { ActorSystem } from '../../../src/runtime/system.js';
import { FakeBucketAdmin, rawRequest, signedHeaders, USERS } from '../../support/gateway-harness.js';
import { MemoryStorage } from '../../support/memory-storage.js';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('actors/gateway http listener', function () {
  this.timeout(30_000);

  it('serves S3 under supervision, answers status, and closes gracefully on stop', async () => {
    const system = new ActorSystem({ node: 'gateway_0@127.0.0.1', clock: systemClock, logger: memoryLogger('error').logger });
    const view = new AuthView();
    view.install({ version: AUTH_SNAPSHOT_VERSION, origin: 'test', revision: 1, users: [USERS.alice], buckets: [], endpoints: [] });
    const admin = new FakeBucketAdmin(view);
    admin.addBucket('supervised', 'alice');
    const storage = new MemoryStorage();
    const cache = new ObjectCache(1024 * 1024, 64 * 1024);
    await system.startRoot(
      'node',
      {
        strategy: 'one_for_one',
        maxRestarts: 3,
        periodMs: 10_000,
        children: [supervisor('gateway', { strategy: 'one_for_one', maxRestarts: 3, periodMs: 10_000, children: [worker('http', httpListenerBehavior({ config: { ...DEFAULT_GATEWAY_CONFIG, httpPort: 0, storageTimeoutMs: 2_000 }, storage, authView: view, bucketAdmin: admin, cache }))] })],
      },
      () => undefined,
    );
    const ref = httpListenerRef('gateway_0@127.0.0.1');
    const status = await system.ask<HttpListenerMessage, HttpListenerStatus>(ref, (replyTo) => ({ type: 'status', replyTo }), 2_000);
    if (isRuntimeFailure(status)) throw new Error(status.message);
    expect(status.port).to.be.above(0);
    const endpoint = `http://127.0.0.1:${status.port}`;

    const put = { method: 'PUT', path: '/supervised/k', body: 'under supervision' };
    expect((await rawRequest(endpoint, { ...put, headers: await signedHeaders(endpoint, 'alice', put) })).status).to.equal(200);
    const get = { method: 'GET', path: '/supervised/k' };
    expect((await rawRequest(endpoint, { ...get, headers: await signedHeaders(endpoint, 'alice', get) })).text).to.equal('under supervision');
    expect(cache.stats.entries).to.equal(1);
    await system.ask<HttpListenerMessage, { ok: true }>(ref, (replyTo) => ({ type: 'purge_cache', replyTo }), 2_000);
    expect(cache.stats.entries).to.equal(0);

    // A request in progress when the gateway stops is finished before the port closes.
    storage.inject((call) => call.op === 'get', 'hang');
    const slow = signedHeaders(endpoint, 'alice', get).then((headers) => rawRequest(endpoint, { ...get, headers }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await system.stop();
    expect((await slow).status).to.equal(503);
    expect(await portOpen(status.port)).to.equal(false);
  });
});
