/**
 * Access control lists as S3 keeps them: a list of grants, each giving a user or a group one
 * permission, on a bucket or on one object version. Canned ACLs are names for common lists.
 *
 *   READ          bucket: list it;  object: read it
 *   WRITE         bucket: write, overwrite and delete its objects
 *   READ_ACP      read the ACL;  WRITE_ACP  change it
 *   FULL_CONTROL  all four
 *
 * Groups: AllUsers is everyone, anonymous included; AuthenticatedUsers every signed-in user.
 */

export const ACL_PERMISSIONS = ['FULL_CONTROL', 'WRITE', 'WRITE_ACP', 'READ', 'READ_ACP'] as const;
export type AclPermission = (typeof ACL_PERMISSIONS)[number];

export const ACL_GROUPS = ['AllUsers', 'AuthenticatedUsers', 'LogDelivery'] as const;
export type AclGroup = (typeof ACL_GROUPS)[number];

export type AclGrantee = { readonly user: string } | { readonly group: AclGroup };

export interface AclGrant {
  readonly grantee: AclGrantee;
  readonly permission: AclPermission;
}

/** An object version's ACL: its owner (who wrote it) and its grants. */
export interface ObjectAcl {
  readonly owner: string;
  readonly grants: readonly AclGrant[];
}

/** The canned ACLs S3 defines for objects (buckets take the first four, and log-delivery-write). */
export const CANNED_OBJECT_ACLS = [
  'private', 'public-read', 'public-read-write', 'authenticated-read', 'bucket-owner-read', 'bucket-owner-full-control',
] as const;

/**
 * The grants a canned ACL stands for: what the name adds, then its owner's full control (listed last,
 * as S3-compatible servers commonly list them; the order means nothing).
 */
export function cannedGrants(canned: string, owner: string, bucketOwner: string): AclGrant[] | undefined {
  const grants: AclGrant[] = [];
  const add = (grantee: AclGrantee, permission: AclPermission): void => void grants.push({ grantee, permission });
  switch (canned) {
    case 'private':
      break;
    case 'public-read':
      add({ group: 'AllUsers' }, 'READ');
      break;
    case 'public-read-write':
      add({ group: 'AllUsers' }, 'READ');
      add({ group: 'AllUsers' }, 'WRITE');
      break;
    case 'authenticated-read':
      add({ group: 'AuthenticatedUsers' }, 'READ');
      break;
    case 'bucket-owner-read':
      if (bucketOwner !== owner) add({ user: bucketOwner }, 'READ');
      break;
    case 'bucket-owner-full-control':
      if (bucketOwner !== owner) add({ user: bucketOwner }, 'FULL_CONTROL');
      break;
    case 'log-delivery-write':
      add({ group: 'LogDelivery' }, 'WRITE');
      add({ group: 'LogDelivery' }, 'READ_ACP');
      break;
    default:
      return undefined;
  }
  grants.push({ grantee: { user: owner }, permission: 'FULL_CONTROL' });
  return grants;
}

/**
 * Whether `grants` give `requester` (undefined: anonymous) `permission`, directly or by FULL_CONTROL.
 * With `ignorePublic` (a public access block), grants to AllUsers and AuthenticatedUsers count for nothing.
 */
export function grantsPermission(grants: readonly AclGrant[], requester: string | undefined, permission: AclPermission, ignorePublic = false): boolean {
  return grants.some((grant) => {
    if (grant.permission !== permission && grant.permission !== 'FULL_CONTROL') return false;
    const grantee = grant.grantee;
    if ('user' in grantee) return requester !== undefined && grantee.user === requester;
    if (ignorePublic) return false;
    return grantee.group === 'AllUsers' || (grantee.group === 'AuthenticatedUsers' && requester !== undefined);
  });
}

/** A list is public when it grants anything to AllUsers or AuthenticatedUsers. */
export function grantsArePublic(grants: readonly AclGrant[]): boolean {
  return grants.some((grant) => 'group' in grant.grantee && (grant.grantee.group === 'AllUsers' || grant.grantee.group === 'AuthenticatedUsers'));
}

export function isAclGrant(value: unknown): value is AclGrant {
  if (typeof value !== 'object' || value === null) return false;
  const grant = value as Record<string, unknown>;
  if (!(ACL_PERMISSIONS as readonly unknown[]).includes(grant.permission)) return false;
  const grantee = grant.grantee as Record<string, unknown> | null | undefined;
  if (typeof grantee !== 'object' || grantee === null) return false;
  return (typeof grantee.user === 'string' && grantee.user !== '') || (ACL_GROUPS as readonly unknown[]).includes(grantee.group);
}

/**
 * Who owns the objects written to a bucket (its object ownership control):
 *   ObjectWriter          the writer (the default);
 *   BucketOwnerPreferred  the bucket's owner when the writer grants it bucket-owner-full-control;
 *   BucketOwnerEnforced   the bucket's owner, always, and ACLs are disabled: they grant nothing and
 *                         requests that set any other than the owner's full control are refused.
 */
export const OBJECT_OWNERSHIPS = ['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter'] as const;
export type ObjectOwnership = (typeof OBJECT_OWNERSHIPS)[number];

export function isObjectOwnership(value: unknown): value is ObjectOwnership {
  return (OBJECT_OWNERSHIPS as readonly unknown[]).includes(value);
}

/** S3 keeps at most 100 grants in one ACL. */
export const MAX_ACL_GRANTS = 100;

export function isAclGrants(value: unknown): value is readonly AclGrant[] {
  return Array.isArray(value) && value.length <= MAX_ACL_GRANTS && value.every(isAclGrant);
}

export function isObjectAcl(value: unknown): value is ObjectAcl {
  if (typeof value !== 'object' || value === null) return false;
  const acl = value as Record<string, unknown>;
  return typeof acl.owner === 'string' && acl.owner !== '' && isAclGrants(acl.grants);
}
