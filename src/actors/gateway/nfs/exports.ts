/**
 * Who may mount what: an export names a bucket (or every bucket), the client addresses allowed and the
 * cluster user they act as. Every call is checked again (a handle outlives the MNT that gave it): the
 * client's address against the export, then the user's right to the S3 action the call amounts to,
 * decided as for an S3 request from that address (bucket policies see `aws:SourceIp`).
 */
import type { BucketRecord, UserRecord } from '../../../core/auth-snapshot.js';
import { conditionContext } from '../../../core/policy-conditions.js';
import type { S3Action } from '../../../core/s3-actions.js';
import { S3Error } from '../../../protocol/s3/errors.js';
import type { Logger } from '../../../runtime/logger.js';
import type { AuthView } from '../../common/auth-view.js';
import { authorizeAction } from '../authorization.js';
import type { NfsConfig, NfsExport } from './nfs-config.js';
import { NfsError } from './nfs-errors.js';
import { ClientNetworks } from '../client-networks.js';

export class ExportAccess {
  private readonly lists: ReadonlyArray<readonly [NfsExport, ClientNetworks]>;

  constructor(
    config: NfsConfig,
    private readonly view: AuthView,
  ) {
    this.lists = config.exports.map((entry) => [entry, new ClientNetworks(entry.clients)] as const);
  }

  /** Whether any export lets `address` in: a connection from any other address is not served at all. */
  admits(address: string): boolean {
    return this.lists.some(([, list]) => list.includes(address));
  }

  /** The export that lets `address` at `bucket`: the first that names it, else the first `*` one. */
  exportFor(bucket: string, address: string): NfsExport | undefined {
    const named = this.lists.find(([entry, list]) => entry.bucket === bucket && list.includes(address));
    if (named !== undefined) return named[0];
    // A client refused by the export that names the bucket is not let in by a wildcard one.
    if (this.lists.some(([entry]) => entry.bucket === bucket)) return undefined;
    return this.lists.find(([entry, list]) => entry.bucket === '*' && list.includes(address))?.[0];
  }

  /** The buckets `address` may mount, as MOUNT's EXPORT lists them. */
  exportedTo(address: string): string[] {
    const names = new Set<string>();
    for (const [entry, list] of this.lists) {
      if (!list.includes(address)) continue;
      const buckets = entry.bucket === '*' ? this.allBuckets() : [entry.bucket];
      for (const name of buckets) if (this.exportFor(name, address) !== undefined && this.view.bucket(name) !== undefined) names.add(name);
    }
    return [...names].sort();
  }

  private allBuckets(): string[] {
    return (this.view.current?.buckets ?? []).map((bucket) => bucket.name);
  }

  /**
   * The user `entry` maps clients to, if `action` on `key` is theirs; NFS3ERR_ACCES otherwise. An action
   * only an object's own ACL would grant is refused: NFS reads no ACLs.
   */
  authorize(entry: NfsExport, bucket: BucketRecord, action: S3Action, key: string | undefined, address: string, nowMs: number, log: Logger): UserRecord {
    const user = this.view.user(entry.user);
    if (user === undefined) {
      log.warn('an NFS export maps clients to a user the cluster does not have', { user: entry.user, bucket: bucket.name });
      throw new NfsError('NFS3ERR_ACCES');
    }
    const conditions = conditionContext({
      'aws:SourceIp': address,
      'aws:SecureTransport': 'false',
      'aws:CurrentTime': new Date(nowMs).toISOString(),
      'aws:EpochTime': String(Math.floor(nowMs / 1000)),
      'aws:username': user.userId,
      'aws:userid': user.userId,
      'aws:PrincipalType': 'User',
    });
    try {
      const decided = authorizeAction(this.view, { user, conditions, log }, bucket.name, action, key);
      if (decided.pending !== undefined) throw new NfsError('NFS3ERR_ACCES');
    } catch (error) {
      if (error instanceof S3Error) throw new NfsError(error.code === 'NoSuchBucket' ? 'NFS3ERR_STALE' : 'NFS3ERR_ACCES');
      throw error;
    }
    return user;
  }
}
