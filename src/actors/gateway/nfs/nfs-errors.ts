/**
 * Failures as NFS tells them: a handler throws `NfsError` with the nfsstat3 to answer, and anything
 * else is mapped here. The storage cluster's failures arrive as the S3 errors the shared storage paths
 * throw; those a retry may cure become NFS3ERR_JUKEBOX, which clients retry after a pause.
 */
import type { Nfs3ErrorStatus } from '../../../protocol/nfs/nfs3-types.js';
import { S3Error } from '../../../protocol/s3/errors.js';

export class NfsError extends Error {
  override readonly name = 'NfsError';

  constructor(
    readonly status: Nfs3ErrorStatus,
    message?: string,
  ) {
    super(message ?? status);
  }
}

/** The nfsstat3 of a failure; `unexpected` is true for what must be logged as a fault of ours. */
export function nfsStatusOf(error: unknown): { readonly status: Nfs3ErrorStatus; readonly unexpected: boolean } {
  if (error instanceof NfsError) return { status: error.status, unexpected: false };
  if (error instanceof S3Error) {
    switch (error.code) {
      case 'NoSuchKey':
      case 'NoSuchVersion':
        return { status: 'NFS3ERR_NOENT', unexpected: false };
      case 'NoSuchBucket':
        return { status: 'NFS3ERR_STALE', unexpected: false };
      case 'AccessDenied':
        return { status: 'NFS3ERR_ACCES', unexpected: false };
      case 'ServiceUnavailable':
      case 'SlowDown':
      case 'ConditionalRequestConflict':
        return { status: 'NFS3ERR_JUKEBOX', unexpected: false };
      case 'InsufficientStorage':
        return { status: 'NFS3ERR_NOSPC', unexpected: false };
      case 'PreconditionFailed':
        return { status: 'NFS3ERR_EXIST', unexpected: false };
      case 'EntityTooLarge':
        return { status: 'NFS3ERR_FBIG', unexpected: false };
      default:
        return { status: 'NFS3ERR_IO', unexpected: error.status >= 500 };
    }
  }
  return { status: 'NFS3ERR_SERVERFAULT', unexpected: true };
}
