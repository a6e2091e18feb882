/**
 * ACCESS: the rights the export's user has on a file or directory, each bit from the S3 action it
 * amounts to, decided as the call itself would be (nfs-scope.ts), so a client never shows as writable
 * what its writes would be refused.
 *
 *   file       READ, LOOKUP, EXECUTE: s3:GetObject on its key; MODIFY, EXTEND: s3:PutObject; DELETE: s3:DeleteObject
 *   directory  READ, LOOKUP, EXECUTE: s3:ListBucket; MODIFY, EXTEND (new entries): s3:PutObject on its
 *              prefix; DELETE (removing entries): s3:DeleteObject on its prefix
 *
 * A right granted only to some keys below a directory (a policy on `dir/x*`) is judged at the call.
 */
import { ACCESS3 } from '../../../protocol/nfs/nfs3-types.js';
import { NfsError } from './nfs-errors.js';
import { alsoAllowed, type Access, type Scope } from './nfs-scope.js';
import type { FsNode } from './nodes.js';

function allows(scope: Scope, access: Access, key: string): boolean {
  try {
    alsoAllowed(scope, access, key);
    return true;
  } catch (error) {
    if (error instanceof NfsError) return false;
    throw error;
  }
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
  for (const [bits, access] of rules) if ((asked & bits) !== 0 && allows(scope, access, node.key)) granted |= bits;
  return asked & granted;
}
