/**
 * What one NFS client can make the gateway hold: calls answered at once per connection (however many
 * arrive in one packet), replies a client does not read, connections from addresses no export lists,
 * connections per address, and idle connections.
 */
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bucketTagOf, encodeHandle } from '../../../src/actors/gateway/nfs/file-handles.js';
import type { NfsServer } from '../../../src/actors/gateway/nfs/nfs-server.js';
import type { StorageApi } from '../../../src/protocol/cluster/storage-api.js';
import { ManualClock, type Clock } from '../../../src/runtime/clock.js';
import { startHarness, type Harness } from '../../support/gateway-harness.js';
import { NfsTestClient } from '../../support/nfs-client.js';
import { startTestNfsServer } from '../../support/nfs-server.js';

/** Storage whose object reads wait until let go, counting how many wait at once. */
class GatedStorage {
  waiting = 0;
  mostWaiting = 0;
  started = 0;
  gated = true;
  private release: Array<() => void> = [];

  constructor(private readonly inner: StorageApi) {}

  wrap(): StorageApi {
    return new Proxy(this.inner, {
      get: (target, name, receiver) => {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (name !== 'get' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: unknown[]) => {
          this.started++;
          if (this.gated) {
            this.waiting++;
            this.mostWaiting = Math.max(this.mostWaiting, this.waiting);
            await new Promise<void>((resolve) => this.release.push(resolve));
            this.waiting--;
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }

  open(): void {
    this.gated = false;
    for (const resolve of this.release.splice(0)) resolve();
  }
}

async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

describe('NFS connections on the gateway', function () {
  this.timeout(60_000);
  let harness: Harness;
  let spill: string;
  const servers: NfsServer[] = [];
  const clients: NfsTestClient[] = [];

  before(async () => {
    harness = await startHarness();
    await harness.client('alice').send(new CreateBucketCommand({ Bucket: 'photos' }));
    await harness.client('alice').send(new PutObjectCommand({ Bucket: 'photos', Key: 'big.bin', Body: Buffer.alloc(1024 * 1024, 7) }));
    await new Promise((resolve) => setImmediate(resolve));
    spill = mkdtempSync(join(tmpdir(), 'leofs-nfs-connections-'));
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    for (const server of servers.splice(0)) await server.close();
  });

  after(async () => {
    await harness?.close();
    if (spill) rmSync(spill, { recursive: true, force: true });
  });

  async function serve(settings: Record<string, unknown>, options: { storage?: StorageApi; clock?: Clock } = {}): Promise<NfsServer> {
    const server = await startTestNfsServer({
      gateway: { ...harness.deps, ...(options.storage ? { storage: options.storage } : {}), ...(options.clock ? { clock: options.clock } : {}) },
      view: harness.view,
      settings: { exports: [{ bucket: 'photos', clients: ['127.0.0.0/8'], user: 'alice' }], ...settings },
      spillDir: spill,
      idleFlushMs: 1000,
    });
    servers.push(server);
    return server;
  }

  async function connect(server: NfsServer): Promise<NfsTestClient> {
    const client = await NfsTestClient.open(server.port);
    clients.push(client);
    return client;
  }

  const handleOf = (key: string): Buffer => encodeHandle(bucketTagOf(harness.view.bucket('photos')!), key).handle;

  it('answers at most maxCallsPerConnection calls of a connection at once, even when all arrive in one packet', async () => {
    const gate = new GatedStorage(harness.deps.storage);
    const server = await serve({ maxCallsPerConnection: 3 }, { storage: gate.wrap() });
    const client = await connect(server);
    const answers = client.together(() => Array.from({ length: 20 }, () => client.getattr(handleOf('big.bin'))));
    await until(() => gate.waiting > 0, 'a call to reach the storage');
    await turns(20);
    expect(gate.mostWaiting).to.equal(3);
    gate.open();
    expect(await Promise.all(answers)).to.deep.equal(Array(20).fill('NFS3_OK'));
  });

  it('stops reading a client that does not read its replies, and answers everything once it does', async () => {
    const gate = new GatedStorage(harness.deps.storage);
    gate.gated = false;
    const server = await serve({ maxCallsPerConnection: 2 }, { storage: gate.wrap() });
    const client = await connect(server);
    client.pauseReading();
    const answers = client.together(() => Array.from({ length: 64 }, () => client.read(handleOf('big.bin'), 0n, 1024 * 1024)));
    // 64 MiB of replies: the socket buffers take a few, then the server must stop taking calls.
    await until(() => gate.started > 0, 'the first READ');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(gate.started).to.be.below(40);
    client.resumeReading();
    expect(await Promise.all(answers)).to.deep.equal(Array(64).fill('NFS3_OK'));
  });

  it('closes at once a connection from an address no export lists', async () => {
    const server = await serve({ exports: [{ bucket: 'photos', clients: ['10.0.0.0/8'], user: 'alice' }] });
    const client = await connect(server);
    await client.closed();
  });

  it('refuses connections of one address beyond maxConnectionsPerAddress, and takes new ones as they close', async () => {
    const server = await serve({ maxConnectionsPerAddress: 2 });
    const first = await connect(server);
    const second = await connect(server);
    await first.null();
    await second.null();
    const third = await connect(server);
    await third.closed();
    first.close();
    let fourth: NfsTestClient | undefined;
    // The server learns of the close a moment after this side does.
    for (let attempt = 0; attempt < 50 && fourth === undefined; attempt++) {
      const candidate = await connect(server);
      try {
        await candidate.null();
        fourth = candidate;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    expect(fourth).to.not.equal(undefined);
  });

  it('closes a connection idle for idleConnectionMs, but not one whose call is being answered', async () => {
    const clock = new ManualClock();
    const gate = new GatedStorage(harness.deps.storage);
    const server = await serve({ idleConnectionMs: 60_000 }, { storage: gate.wrap(), clock });
    const idle = await connect(server);
    const busy = await connect(server);
    await idle.null();
    const answer = busy.getattr(handleOf('big.bin'));
    await until(() => gate.waiting === 1, 'the call to reach the storage');
    clock.advance(30_000);
    clock.advance(31_000);
    await idle.closed();
    gate.open();
    expect(await answer).to.equal('NFS3_OK');
    await busy.null();
  });
});
