/**
 * What one NFS call works with: the gateway's collaborators, the caller (address and AUTH_SYS ids), and
 * once its handle is resolved, the bucket, the export that lets the caller in and the storage scoped to
 * that bucket's incarnation, exactly as an S3 request's (bucket-scoped-storage.ts).
 */
import type { BucketRecord, UserRecord } from '../../../core/auth-snapshot.js';
import type { S3Action } from '../../../core/s3-actions.js';
import type { Logger } from '../../../runtime/logger.js';
import { BucketScopedStorage } from '../bucket-scoped-storage.js';
import type { BodyMemoryAccount } from '../body-memory.js';
import type { GatewayDeps } from '../request-context.js';
import type { DirectoryCookies } from './directory-cookies.js';
import type { ExportAccess } from './exports.js';
import { bucketTagOf, type FileHandles } from './file-handles.js';
import type { NfsConfig, NfsExport } from './nfs-config.js';
import { NfsError } from './nfs-errors.js';
import type { OpenFiles } from './open-files.js';

export interface NfsDeps {
  /** Unscoped: each call scopes storage to its bucket. */
  readonly gateway: GatewayDeps;
  readonly config: NfsConfig;
  readonly handles: FileHandles;
  readonly exports: ExportAccess;
  readonly openFiles: OpenFiles;
  readonly cookies: DirectoryCookies;
  /** writeverf3: new at every start, so clients resend UNSTABLE writes a restart may have lost. */
  readonly writeVerifier: Buffer;
}

export interface NfsCaller {
  readonly deps: NfsDeps;
  /** The client's address, IPv4 without its `::ffff:` prefix. */
  readonly address: string;
  /** AUTH_SYS ids, which new files are owned by unless the call sets others. */
  readonly ids: { readonly uid: number; readonly gid: number } | undefined;
  readonly log: Logger;
}

export interface Scope {
  readonly caller: NfsCaller;
  readonly bucket: BucketRecord;
  readonly bucketTag: string;
  readonly export: NfsExport;
  readonly user: UserRecord;
  /** The gateway's collaborators with storage scoped to this bucket. */
  readonly gateway: GatewayDeps;
  readonly memory: BodyMemoryAccount;
}

export type Access = 'read' | 'list' | 'write' | 'delete';

const ACTIONS: Readonly<Record<Access, S3Action>> = {
  read: 's3:GetObject',
  list: 's3:ListBucket',
  write: 's3:PutObject',
  delete: 's3:DeleteObject',
};

/** A scope for `bucket`, if the caller's export and user allow `access` (on `key`, for object actions). */
export function scopeOf(caller: NfsCaller, bucket: BucketRecord, access: Access, key?: string): Scope {
  const { deps } = caller;
  const entry = deps.exports.exportFor(bucket.name, caller.address);
  if (entry === undefined) throw new NfsError('NFS3ERR_ACCES');
  if (entry.readOnly && (access === 'write' || access === 'delete')) throw new NfsError('NFS3ERR_ROFS');
  const objectKey = access === 'list' ? undefined : key;
  const user = deps.exports.authorize(entry, bucket, ACTIONS[access], objectKey, caller.address, deps.gateway.clock.now(), caller.log);
  return {
    caller,
    bucket,
    bucketTag: bucketTagOf(bucket),
    export: entry,
    user,
    gateway: { ...deps.gateway, storage: new BucketScopedStorage(deps.gateway.storage, deps.gateway.authView, bucket) },
    memory: deps.gateway.bodyMemory.account(user.userId),
  };
}

/** The bucket and key a handle names, and a scope allowing `access` there. */
export function openHandle(caller: NfsCaller, handle: Buffer, access: Access): { readonly scope: Scope; readonly key: string } {
  const resolved = caller.deps.handles.resolve(handle);
  if (!resolved.ok) throw new NfsError(resolved.status);
  return { scope: scopeOf(caller, resolved.bucket, access, resolved.key), key: resolved.key };
}

/** May the scope's user also do `access` (a rename deletes its source, a read of a directory lists it)? */
export function alsoAllowed(scope: Scope, access: Access, key?: string): void {
  scopeOf(scope.caller, scope.bucket, access, key);
}
