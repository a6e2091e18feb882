/**
 * ACLs as requests give and ask for them: a canned ACL (`x-amz-acl`), grants in `x-amz-grant-*`
 * headers, or an AccessControlPolicy document, turned into grants (core/acl.ts) and back. Grantees are
 * users of this cluster by id, or the AllUsers, AuthenticatedUsers and LogDelivery groups; users have
 * no e-mail addresses here, so a grant to one is UnresolvableGrantByEmailAddress.
 */
import { cannedGrants, grantsArePublic, MAX_ACL_GRANTS, type AclGrant, type AclGrantee, type AclGroup, type AclPermission, type ObjectAcl } from '../../core/acl.js';
import type { BucketRecord } from '../../core/auth-snapshot.js';
import { S3Error } from '../../protocol/s3/errors.js';
import { getHeader, parseCannedAcl, type HeaderBag } from '../../protocol/s3/headers.js';
import type { AccessControlPolicy, Grant, Grantee } from '../../protocol/s3/xml.js';
import type { AuthView } from '../common/auth-view.js';

const GROUP_URIS: Readonly<Record<AclGroup, string>> = {
  AllUsers: 'http://acs.amazonaws.com/groups/global/AllUsers',
  AuthenticatedUsers: 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers',
  LogDelivery: 'http://acs.amazonaws.com/groups/s3/LogDelivery',
};

const GRANT_HEADERS: ReadonlyArray<readonly [string, AclPermission]> = [
  ['x-amz-grant-read', 'READ'], ['x-amz-grant-write', 'WRITE'], ['x-amz-grant-read-acp', 'READ_ACP'],
  ['x-amz-grant-write-acp', 'WRITE_ACP'], ['x-amz-grant-full-control', 'FULL_CONTROL'],
];

export interface RequestedAcl {
  /** The canned ACL's name, when one was given. */
  readonly canned?: string;
  readonly grants: readonly AclGrant[];
}

/**
 * The ACL a request gives `owner`'s resource in its headers: a canned ACL or grant headers (not both);
 * undefined when it gives none. `forBucket` limits canned ACLs to the ones a bucket takes.
 */
export function headerAcl(view: AuthView, headers: HeaderBag, owner: string, bucketOwner: string, forBucket: boolean): RequestedAcl | undefined {
  const canned = parseCannedAcl(headers);
  if (!canned.ok) throw canned.error;
  const granted = GRANT_HEADERS.filter(([name]) => getHeader(headers, name) !== undefined);
  if (canned.value !== undefined && granted.length > 0) {
    throw new S3Error('InvalidRequest', 'Specifying both Canned ACLs and Header Grants is not allowed');
  }
  if (canned.value !== undefined) {
    if (forBucket && (canned.value === 'bucket-owner-read' || canned.value === 'bucket-owner-full-control')) {
      throw new S3Error('InvalidArgument', `The canned ACL ${canned.value} applies to objects, not buckets.`, { fields: { ArgumentName: 'x-amz-acl', ArgumentValue: canned.value } });
    }
    const grants = cannedGrants(canned.value, owner, bucketOwner);
    if (grants === undefined) throw new S3Error('NotImplemented', `The canned ACL ${canned.value} is not supported.`);
    return { canned: canned.value, grants };
  }
  if (granted.length === 0) return undefined;
  const grants: AclGrant[] = [];
  for (const [name, permission] of granted) {
    for (const grantee of parseGranteeList(getHeader(headers, name)!, name)) grants.push({ grantee: knownGrantee(view, grantee), permission });
  }
  return { grants: checkedCount(grants) };
}

/** `id="abc", uri="http://..."`: the grantees one grant header names. */
function parseGranteeList(value: string, header: string): AclGrantee[] {
  const grantees: AclGrantee[] = [];
  const pattern = /\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^,\s]+))\s*(?:,|$)/gy;
  let match: RegExpExecArray | null;
  let consumed = 0;
  while (consumed < value.length && (match = pattern.exec(value)) !== null) {
    consumed = pattern.lastIndex;
    const kind = match[1]!.toLowerCase();
    const text = match[2] ?? match[3] ?? '';
    if (kind === 'id') grantees.push({ user: text });
    else if (kind === 'uri') grantees.push({ group: groupOfUri(text) });
    else if (kind === 'emailaddress') throw unresolvableEmail();
    else throw invalidGrant(header, value);
  }
  if (consumed < value.trimEnd().length || grantees.length === 0) throw invalidGrant(header, value);
  return grantees;
}

/** Users here have no e-mail addresses: no grant to one can be resolved. */
function unresolvableEmail(): S3Error {
  return new S3Error('UnresolvableGrantByEmailAddress', 'The e-mail address you provided does not match any account on record; grant to a user id.');
}

function invalidGrant(header: string, value: string): S3Error {
  return new S3Error('InvalidArgument', `${header} is not a valid list of grantees.`, { fields: { ArgumentName: header, ArgumentValue: value } });
}

function groupOfUri(uri: string): AclGroup {
  const found = (Object.entries(GROUP_URIS) as Array<[AclGroup, string]>).find(([, known]) => known === uri.trim());
  if (found === undefined) throw new S3Error('InvalidArgument', `Invalid group uri ${uri}`, { fields: { ArgumentName: 'uri', ArgumentValue: uri } });
  return found[0];
}

/** A user grantee must be a user of this cluster, as S3 refuses grants to unknown ids. */
function knownGrantee(view: AuthView, grantee: AclGrantee): AclGrantee {
  if ('user' in grantee && view.user(grantee.user) === undefined) {
    throw new S3Error('InvalidArgument', 'Invalid id', { fields: { ArgumentName: 'CanonicalUser/ID', ArgumentValue: grantee.user } });
  }
  return grantee;
}

function checkedCount(grants: AclGrant[]): AclGrant[] {
  if (grants.length > MAX_ACL_GRANTS) throw new S3Error('InvalidArgument', `An ACL holds at most ${MAX_ACL_GRANTS} grants.`);
  return grants;
}

/** The grants of an AccessControlPolicy document, whose owner must be the resource's. */
export function policyGrants(view: AuthView, policy: AccessControlPolicy, owner: string): AclGrant[] {
  if (policy.owner.id !== owner) throw new S3Error('AccessDenied', 'The owner of an ACL cannot be changed.');
  return checkedCount(policy.grants.map((grant) => ({
    grantee: knownGrantee(view, grant.grantee.type === 'CanonicalUser' ? { user: grant.grantee.id } : { group: groupOfUri(grant.grantee.uri) }),
    permission: grant.permission,
  })));
}

/** The AccessControlPolicy document of `owner`'s grants, with the users' display names. */
export function policyOfGrants(view: AuthView, owner: string, grants: readonly AclGrant[]): AccessControlPolicy {
  return {
    owner: { id: owner, displayName: view.displayName(owner) },
    grants: grants.map((grant): Grant => ({ grantee: granteeOf(view, grant.grantee), permission: grant.permission })),
  };
}

function granteeOf(view: AuthView, grantee: AclGrantee): Grantee {
  return 'user' in grantee ? { type: 'CanonicalUser', id: grantee.user, displayName: view.displayName(grantee.user) } : { type: 'Group', uri: GROUP_URIS[grantee.group] };
}

/** AccessDenied when grants open the resource to the public and the bucket blocks public ACLs. */
export function refusePublicGrants(bucket: BucketRecord | undefined, grants: readonly AclGrant[]): void {
  if (bucket?.publicAccessBlock?.blockPublicAcls === true && grantsArePublic(grants)) {
    throw new S3Error('AccessDenied', "The bucket's public access block refuses a public ACL.");
  }
}

/**
 * The ACL of a version a request writes: its writer owns it (the bucket's owner, for an anonymous
 * writer), with the grants the request gives, private by default.
 */
export function writeAclOf(view: AuthView, headers: HeaderBag, bucket: BucketRecord, writer: string | undefined): ObjectAcl {
  const ownership = bucket.objectOwnership ?? 'ObjectWriter';
  const ownerFullControl = getHeader(headers, 'x-amz-acl')?.trim() === 'bucket-owner-full-control';
  const owner = ownership === 'BucketOwnerEnforced' || (ownership === 'BucketOwnerPreferred' && ownerFullControl) ? bucket.owner : writer ?? bucket.owner;
  const requested = headerAcl(view, headers, owner, bucket.owner, false);
  const grants = requested?.grants ?? cannedGrants('private', owner, bucket.owner)!;
  if (ownership === 'BucketOwnerEnforced') refuseAclsWhenDisabled(bucket, grants);
  refusePublicGrants(bucket, grants);
  return { owner, grants };
}

/**
 * With ACLs disabled (BucketOwnerEnforced), an ACL may only restate the bucket owner's full control:
 * any other is AccessControlListNotSupported, as S3 answers.
 */
export function refuseAclsWhenDisabled(bucket: BucketRecord, grants: readonly AclGrant[]): void {
  if (bucket.objectOwnership !== 'BucketOwnerEnforced') return;
  const ownerOnly = grants.every((grant) => 'user' in grant.grantee && grant.grantee.user === bucket.owner && grant.permission === 'FULL_CONTROL');
  if (!ownerOnly) throw new S3Error('AccessControlListNotSupported');
}
