/**
 * ACCESS: the rights the export's user has on a file or directory, each bit from the S3 action it
 * amounts to, decided as the call itself would be (nfs-scope.ts), so a client never shows as writable
 * what its writes would be refused.
 *
 *   file       READ, LOOKUP, EXECUTE: s3:GetObject on its key; MODIFY, EXTEND: s3:PutObject; DELETE: s3:DeleteObject
 *   directory  READ, LOOKUP, EXECUTE: s3:ListBucket; MODIFY, EXTEND (new entries): s3:PutObject on some
 *              key below it; DELETE (removing entries): s3:DeleteObject on some key below it
 *
 * Clients enforce ACCESS themselves (Linux refuses an unlink the directory's DELETE bit withholds), and
 * a right on entries is decided per name at the call. So a directory's MODIFY, EXTEND and DELETE are
 * withheld only where no name below it could have them: a read-only export, a Deny covering the whole
 * prefix, or nothing that grants the action there. When unsure they are granted, as RFC 1813 allows.
 */
import { policyUnderPrefix } from '../../../core/policy-prefix.js';
import { ACCESS3 } from '../../../protocol/nfs/nfs3-types.js';
import { NfsError } from './nfs-errors.js';
import { alsoAllowed, type Access, type Scope } from './nfs-scope.js';
import type { FsNode } from './nodes.js';

const ENTRY_ACTIONS = { write: 's3:PutObject', delete: 's3:DeleteObject' } as const;

function allows(scope: Scope, access: Access, key: string): boolean {
  try {
    alsoAllowed(scope, access, key);
    return true;
  } catch (error) {
    if (error instanceof NfsError) return false;
    throw error;
  }
}

/** May some key below the directory `dirKey` be written (`write`) or removed (`delete`)? */
function allowsSomeEntry(scope: Scope, access: 'write' | 'delete', dirKey: string): boolean {
  if (scope.export.readOnly) return false;
  const policy = scope.bucket.policy;
  const verdict = policy === undefined ? 'allowsNone' : policyUnderPrefix(policy, {
    bucketName: scope.bucket.name, prefix: dirKey, action: ENTRY_ACTIONS[access], userId: scope.user.userId,
  });
  if (verdict === 'deniedForAll') return false;
  return verdict === 'mayAllow' || allows(scope, access, dirKey);
}

/** The bits of `asked` the scope's user has on `node`. */
export function accessRights(scope: Scope, node: FsNode, asked: number): number {
  const read = ACCESS3.READ | ACCESS3.LOOKUP | ACCESS3.EXECUTE;
  const rules: ReadonlyArray<readonly [number, Access]> = [
    [read, node.kind === 'dir' ? 'list' : 'read'],
    [ACCESS3.MODIFY | ACCESS3.EXTEND, 'write'],
    [ACCESS3.DELETE, 'delete'],
  ];
  let granted = 0;
  for (const [bits, access] of rules) {
    if ((asked & bits) === 0) continue;
    const allowed = node.kind === 'dir' && (access === 'write' || access === 'delete') ? allowsSomeEntry(scope, access, node.key) : allows(scope, access, node.key);
    if (allowed) granted |= bits;
  }
  return asked & granted;
}
