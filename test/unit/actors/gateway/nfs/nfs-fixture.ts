/**
 * The NFS handlers' collaborators in memory, for unit tests: the gateway's request pipeline over the
 * in-memory storage, an AuthView holding one bucket of alice's, one export of it to 127.0.0.1 and a
 * manual clock; no server, no sockets. `scope` opens the bucket as a call from that address would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthView } from '../../../../../src/actors/common/auth-view.js';
import { createGatewayDeps } from '../../../../../src/actors/gateway/gateway-server.js';
import { DEFAULT_GATEWAY_CONFIG } from '../../../../../src/actors/gateway/gateway-config.js';
import { DirectoryCookies } from '../../../../../src/actors/gateway/nfs/directory-cookies.js';
import { ExportAccess } from '../../../../../src/actors/gateway/nfs/exports.js';
import { bucketTagOf } from '../../../../../src/actors/gateway/nfs/file-handles.js';
import { parseNfsConfig } from '../../../../../src/actors/gateway/nfs/nfs-config.js';
import { scopeOf, type Access, type NfsDeps, type Scope } from '../../../../../src/actors/gateway/nfs/nfs-scope.js';
import { OpenFiles } from '../../../../../src/actors/gateway/nfs/open-files.js';
import { AUTH_SNAPSHOT_VERSION, type BucketRecord } from '../../../../../src/core/auth-snapshot.js';
import { ManualClock } from '../../../../../src/runtime/clock.js';
import { memoryLogger } from '../../../../../src/runtime/logger.js';
import { FakeBucketAdmin, USERS } from '../../../../support/gateway-harness.js';
import { MemoryStorage } from '../../../../support/memory-storage.js';
import { memoryHandles } from '../../../../support/nfs-handles.js';

export const BUCKET = 'files';

export interface NfsFixture {
  readonly storage: MemoryStorage;
  readonly clock: ManualClock;
  readonly deps: NfsDeps;
  readonly bucket: BucketRecord;
  readonly bucketTag: string;
  /** A scope of the bucket allowing `access`, as a call from 127.0.0.1 gets. */
  scope(access?: Access): Scope;
  /** Writes `key` with `body` as an S3 PUT would have (no chunks). */
  put(key: string, body?: string): Promise<void>;
  /** The live keys of the bucket, sorted. */
  keys(): string[];
  /** The stored body of a small object, as text; undefined when there is none. */
  body(key: string): Promise<string | undefined>;
  close(): Promise<void>;
}

export function nfsFixture(options: { readonly idleFlushMs?: number; readonly maxCookies?: number; readonly readOnly?: boolean } = {}): NfsFixture {
  const storage = new MemoryStorage();
  const clock = new ManualClock();
  const bucket: BucketRecord = { name: BUCKET, incarnation: 'f11e5f11e5f1', owner: 'alice', acl: 'private', createdAtMs: 1 } as BucketRecord;
  const view = new AuthView();
  view.install({ version: AUTH_SNAPSHOT_VERSION, origin: 'test', revision: 1, users: Object.values(USERS), buckets: [bucket], endpoints: [] });
  const log = memoryLogger().logger;
  const gateway = createGatewayDeps({
    config: { ...DEFAULT_GATEWAY_CONFIG, digestThreads: 0, cacheBytes: 0 },
    storage, authView: view, bucketAdmin: new FakeBucketAdmin(view, storage), clock, log, node: 'gateway_test@127.0.0.1',
  });
  const parsed = parseNfsConfig({ enabled: true, port: 0, exports: [{ bucket: BUCKET, clients: ['127.0.0.1'], user: 'alice', readOnly: options.readOnly ?? false }] });
  if (!parsed.ok) throw new Error(parsed.problem);
  const spill = mkdtempSync(join(tmpdir(), 'leofs-nfs-unit-'));
  const deps: NfsDeps = {
    gateway,
    config: parsed.config,
    handles: memoryHandles(view),
    exports: new ExportAccess(parsed.config, view),
    openFiles: new OpenFiles({
      memoryBytes: 1 << 20, fileMemoryBytes: 1 << 16, maxSpillBytes: 1 << 24, maxFileBytes: 1 << 24, maxOpenFiles: 4,
      idleFlushMs: options.idleFlushMs ?? 60_000, spillDir: spill, clock, log,
    }),
    cookies: new DirectoryCookies(options.maxCookies ?? 10_000),
    writeVerifier: Buffer.alloc(8, 7),
  };
  const caller = { deps, address: '127.0.0.1', ids: { uid: 1000, gid: 1000 }, log };
  return {
    storage,
    clock,
    deps,
    bucket,
    bucketTag: bucketTagOf(bucket),
    scope: (access = 'list') => scopeOf(caller, bucket, access),
    async put(key, body = '') {
      const bytes = Buffer.from(body);
      const result = await scopeOf(caller, bucket, 'list').gateway.storage.put('object', {
        bucket: BUCKET, key, sizeBytes: bytes.length, etag: 'e'.repeat(32), contentType: 'text/plain', userMeta: {}, writeId: key,
      } as never, bytes);
      if (!result.ok) throw new Error(`put ${key}: ${result.code}`);
    },
    keys: () => storage.liveKeys('object', BUCKET).sort(),
    async body(key) {
      const got = await scopeOf(caller, bucket, 'list').gateway.storage.get('object', BUCKET, key, { withBody: true });
      return got.ok && !got.meta.deleteMarker ? Buffer.from(got.body ?? new Uint8Array(0)).toString() : undefined;
    },
    async close() {
      await deps.openFiles.closeAll();
      await gateway.digests.close();
      gateway.chunkBuffers.close();
      rmSync(spill, { recursive: true, force: true });
    },
  };
}
