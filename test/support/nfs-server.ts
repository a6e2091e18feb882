/** An NFS server over a gateway harness's dependencies, as the actor tests start it. */
import { DirectoryCookies } from '../../src/actors/gateway/nfs/directory-cookies.js';
import { ExportAccess } from '../../src/actors/gateway/nfs/exports.js';
import { parseNfsConfig } from '../../src/actors/gateway/nfs/nfs-config.js';
import { startNfsServer, type NfsServer } from '../../src/actors/gateway/nfs/nfs-server.js';
import { OpenFiles } from '../../src/actors/gateway/nfs/open-files.js';
import type { GatewayDeps } from '../../src/actors/gateway/request-context.js';
import type { AuthView } from '../../src/actors/common/auth-view.js';
import { systemClock } from '../../src/runtime/clock.js';
import { memoryLogger } from '../../src/runtime/logger.js';
import { memoryHandles } from './nfs-handles.js';

export interface TestNfsServerOptions {
  readonly gateway: GatewayDeps;
  readonly view: AuthView;
  /** The `nfs` config section, `enabled` and `port` filled in. */
  readonly settings: Record<string, unknown>;
  /** Where open files spill. */
  readonly spillDir: string;
  /** How long an idle open file waits before it is stored; 60 s by default. */
  readonly idleFlushMs?: number;
  /** A restarted server gets another. */
  readonly writeVerifier?: Buffer;
}

export async function startTestNfsServer(options: TestNfsServerOptions): Promise<NfsServer> {
  const parsed = parseNfsConfig({ enabled: true, port: 0, ...options.settings });
  if (!parsed.ok) throw new Error(parsed.problem);
  return startNfsServer({
    gateway: options.gateway,
    config: parsed.config,
    handles: memoryHandles(options.view),
    exports: new ExportAccess(parsed.config, options.view),
    openFiles: new OpenFiles({
      memoryBytes: 1 << 20, fileMemoryBytes: 1 << 16, maxSpillBytes: 1 << 30, maxFileBytes: 1 << 30, maxOpenFiles: 4, idleFlushMs: options.idleFlushMs ?? 60_000,
      spillDir: options.spillDir, clock: systemClock, log: memoryLogger().logger,
    }),
    cookies: new DirectoryCookies(1000),
    writeVerifier: options.writeVerifier ?? Buffer.alloc(8, 1),
  });
}
