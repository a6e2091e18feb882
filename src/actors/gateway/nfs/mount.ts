/**
 * The MOUNT program: `/bucket` (or a directory in it, `/bucket/a/b`) becomes the root handle a client
 * then uses with NFS. A bucket not exported to the client's address, or whose mapped user may not list
 * it, is MNT3ERR_ACCES; one that does not exist, MNT3ERR_NOENT. EXPORT lists only what MNT would
 * let the caller mount, so that a client's list shows neither other users' buckets nor other exports'.
 */
import type { Mount3Call, Mount3Result, MntResult } from '../../../protocol/nfs/mount3.js';
import { AUTH_FLAVOR } from '../../../protocol/nfs/rpc.js';
import { parseHandle } from './file-handles.js';
import { NfsError } from './nfs-errors.js';
import { scopeOf, type NfsCaller } from './nfs-scope.js';
import { findDirectory } from './nodes.js';

/**
 * Who mounted what, as DUMP reports it (NFS v3 needs no mount state), and the long-key pairs of the
 * roots mounted, which the handle table keeps (file-handles.ts).
 */
export class MountTable {
  private readonly mounts = new Map<string, { readonly hostname: string; readonly directory: string; readonly keyHash: string | undefined }>();

  add(hostname: string, directory: string, keyHash?: string): void {
    if (this.mounts.size >= 10_000) this.mounts.delete(this.mounts.keys().next().value as string);
    this.mounts.set(`${hostname}\0${directory}`, { hostname, directory, keyHash });
  }

  /** Whether a mounted root's handle names its key by `keyHash`. */
  holds(keyHash: string): boolean {
    for (const mount of this.mounts.values()) if (mount.keyHash === keyHash) return true;
    return false;
  }

  remove(hostname: string, directory: string | undefined): void {
    for (const [id, mount] of this.mounts) if (mount.hostname === hostname && (directory === undefined || mount.directory === directory)) this.mounts.delete(id);
  }

  list(): Array<{ readonly hostname: string; readonly directory: string }> {
    return [...this.mounts.values()].map(({ hostname, directory }) => ({ hostname, directory }));
  }
}

export async function mountCall(caller: NfsCaller, mounts: MountTable, call: Mount3Call): Promise<Mount3Result> {
  switch (call.proc) {
    case 'NULL':
      return { proc: 'NULL' };
    case 'MNT': {
      const result = await mount(caller, call.dirpath);
      if (result.status === 'MNT3_OK') {
        const parsed = parseHandle(result.fhandle);
        mounts.add(caller.address, call.dirpath, parsed.ok && parsed.hashed ? parsed.keyHash : undefined);
      }
      caller.log.info('NFS mount', { client: caller.address, path: call.dirpath, status: result.status });
      return { proc: 'MNT', result };
    }
    case 'DUMP':
      return { proc: 'DUMP', mounts: mounts.list() };
    case 'UMNT':
      mounts.remove(caller.address, call.dirpath);
      return { proc: 'UMNT' };
    case 'UMNTALL':
      mounts.remove(caller.address, undefined);
      return { proc: 'UMNTALL' };
    case 'EXPORT':
      return { proc: 'EXPORT', exports: mountableBuckets(caller).map((name) => ({ directory: `/${name}`, groups: [] })) };
  }
}

/** The buckets exported to the caller's address that its export's user may list: those MNT would let it mount. */
function mountableBuckets(caller: NfsCaller): string[] {
  return caller.deps.exports.exportedTo(caller.address).filter((name) => {
    const bucket = caller.deps.gateway.authView.bucket(name);
    if (bucket === undefined) return false;
    try {
      scopeOf(caller, bucket, 'list');
      return true;
    } catch (error) {
      if (error instanceof NfsError) return false;
      throw error;
    }
  });
}

async function mount(caller: NfsCaller, dirpath: string): Promise<MntResult> {
  const parts = dirpath.split('/').filter((part) => part !== '');
  if (!dirpath.startsWith('/') || parts.length === 0 || parts.some((part) => part === '.' || part === '..')) return { status: 'MNT3ERR_INVAL' };
  const bucket = caller.deps.gateway.authView.bucket(parts[0]!);
  if (bucket === undefined) return { status: 'MNT3ERR_NOENT' };
  const dirKey = parts.slice(1).map((part) => `${part}/`).join('');
  try {
    const scope = scopeOf(caller, bucket, 'list');
    if ((await findDirectory(scope, dirKey)) === undefined) return { status: 'MNT3ERR_NOENT' };
    const fhandle = await caller.deps.handles.handleFor(scope.bucketTag, dirKey);
    return { status: 'MNT3_OK', fhandle, authFlavors: [AUTH_FLAVOR.AUTH_SYS, AUTH_FLAVOR.AUTH_NONE] };
  } catch (error) {
    if (error instanceof NfsError && (error.status === 'NFS3ERR_ACCES' || error.status === 'NFS3ERR_ROFS')) return { status: 'MNT3ERR_ACCES' };
    if (error instanceof NfsError && error.status === 'NFS3ERR_STALE') return { status: 'MNT3ERR_NOENT' };
    caller.log.warn('an NFS mount failed', { path: dirpath, error });
    return { status: 'MNT3ERR_SERVERFAULT' };
  }
}
