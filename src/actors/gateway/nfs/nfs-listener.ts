/**
 * The gateway's NFS listener as a supervised actor, beside the S3 one: its init opens the NFS port, its
 * terminate closes it and stores what open files hold. Calls never pass through its mailbox.
 */
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Behavior } from '../../../runtime/actor.js';
import { assertNever } from '../../../core/assert-never.js';
import type { NfsListenerMessage } from '../../../protocol/cluster/nfs-listener.js';
import { NFS3_WRITEVERFSIZE } from '../../../protocol/nfs/nfs3-types.js';
import type { StateTable } from '../../../store/node-state.js';
import { listenerGatewayDeps, type HttpListenerDeps } from '../http-listener.js';
import { DirectoryCookies } from './directory-cookies.js';
import { ExportAccess } from './exports.js';
import { FileHandles, type HandleRecord } from './file-handles.js';
import type { NfsConfig } from './nfs-config.js';
import type { NfsDeps } from './nfs-scope.js';
import { startNfsServer, type NfsServer } from './nfs-server.js';
import type { GatewayDeps } from '../request-context.js';
import { OpenFiles } from './open-files.js';
import { logAtAnyLevel } from '../../../runtime/logger.js';

/** Pairs of long keys' handles kept, and how long one unused is kept (file-handles.ts). */
const MAX_LONG_KEY_HANDLES = 200_000;
const LONG_KEY_HANDLE_MAX_AGE_MS = 90 * 24 * 60 * 60 * 1000;
/** Cookies of directory entries remembered (directory-listing.ts). */
const MAX_REMEMBERED_COOKIES = 200_000;

export interface NfsListenerDeps extends HttpListenerDeps {
  readonly nfs: NfsConfig;
  /** hash → key of handles too long to hold their key (file-handles.ts). */
  readonly handleTable: StateTable<HandleRecord>;
  /** Where files too large for memory are buffered while written. */
  readonly spillDir: string;
}

interface ListenerState {
  readonly server: NfsServer;
  readonly deps: NfsDeps;
}

/** Closes what one incarnation opened: its server (when it got that far), its hashing threads and chunk buffers. */
async function closeIncarnation(server: NfsServer | undefined, gateway: GatewayDeps): Promise<void> {
  await server?.close();
  await gateway.digests.close();
  gateway.chunkBuffers.close();
  gateway.pieceBuffers.close();
}

export function nfsListenerBehavior(deps: NfsListenerDeps): Behavior<ListenerState, NfsListenerMessage> {
  // A crashed incarnation is not terminated: the next one closes what it left open.
  let open: { server: NfsServer | undefined; gateway: GatewayDeps } | undefined;
  return {
    accepts: ['status'],
    async init(ctx) {
      if (open !== undefined) {
        await closeIncarnation(open.server, open.gateway);
        open = undefined;
      }
      const gateway = listenerGatewayDeps(deps, ctx);
      open = { server: undefined, gateway };
      const openFiles = new OpenFiles({
        memoryBytes: deps.nfs.writeMemoryBytes,
        fileMemoryBytes: deps.nfs.fileMemoryBytes,
        maxSpillBytes: deps.nfs.maxSpillBytes,
        maxFileBytes: deps.nfs.maxFileBytes,
        maxOpenFiles: deps.nfs.maxOpenFiles,
        idleFlushMs: deps.nfs.writeIdleFlushMs,
        spillDir: join(deps.spillDir, ctx.system.node.replace(/[^A-Za-z0-9_.-]/g, '_')),
        clock: ctx.clock,
        log: ctx.log,
      });
      await openFiles.clearSpills();
      const nfsDeps: NfsDeps = {
        gateway,
        config: deps.nfs,
        handles: new FileHandles(deps.authView, deps.handleTable, { clock: ctx.clock, maxEntries: MAX_LONG_KEY_HANDLES, maxAgeMs: LONG_KEY_HANDLE_MAX_AGE_MS }),
        exports: new ExportAccess(deps.nfs, deps.authView),
        openFiles,
        cookies: new DirectoryCookies(MAX_REMEMBERED_COOKIES),
        writeVerifier: randomBytes(NFS3_WRITEVERFSIZE),
      };
      const server = await startNfsServer(nfsDeps);
      open.server = server;
      if (deps.nfs.exports.length === 0) ctx.log.warn('NFS is on but nothing is exported (gateway.nfs.exports, --nfs-export)');
      logAtAnyLevel(ctx.log, 'NFS listening', { nfsHost: server.host, nfsPort: server.port, exports: deps.nfs.exports.map((entry) => entry.bucket) });
      return { server, deps: nfsDeps };
    },
    receive(state, message, ctx) {
      switch (message.type) {
        case 'status':
          ctx.system.reply(message.replyTo, { ok: true, host: state.server.host, port: state.server.port, openFiles: state.deps.openFiles.count });
          return state;
        default:
          return assertNever(message.type);
      }
    },
    async terminate(state, ctx) {
      await closeIncarnation(state.server, state.deps.gateway);
      open = undefined;
      ctx.log.info('NFS closed');
    },
  };
}
