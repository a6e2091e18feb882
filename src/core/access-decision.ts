/**
 * Who may do what: the one decision every S3 request passes, given a description of the request.
 * In AWS's order:
 *
 *   1. a Deny statement of the bucket policy that applies wins over everything (the owner keeps the
 *      right to read, replace and delete the policy itself, so no policy can lock a bucket for good);
 *   2. the bucket's owner, and admin users, may do everything else;
 *   3. an Allow statement of the policy grants the action;
 *   4. an ACL grants the action: the bucket's (listing, writing objects, its own ACL) or the object
 *      version's (reading it, its ACL); a version written before objects had ACLs follows the bucket's;
 *   5. anything else is denied.
 *
 * A bucket whose object ownership is BucketOwnerEnforced has ACLs disabled: step 4 grants nothing.
 * The bucket's public access block narrows 3 and 4: with restrictPublicBuckets a public policy grants
 * nothing, with ignorePublicAcls grants to everyone or to every signed-in user count for nothing.
 * Deciding an object action before its version is read, the decision can only say that the version's
 * ACL may still grant it (`objectAclMayGrant`); the caller reads the version and asks again.
 *
 * The reason says which of these decided, for the debug log and for tests.
 */
import type { BucketRecord, UserRole } from './auth-snapshot.js';
import { evaluatePolicy, policyIsPublic } from './bucket-policy.js';
import { cannedGrants, grantsPermission, type AclGrant, type ObjectAcl } from './acl.js';
import type { ConditionContext } from './policy-conditions.js';
import { actionInfo, resourceArn, type S3Action } from './s3-actions.js';

export interface Requester {
  readonly userId: string;
  readonly role: UserRole;
}

export interface AccessRequest {
  readonly action: S3Action;
  readonly bucket: BucketRecord;
  /** The object's key, for object actions. */
  readonly key?: string;
  /** Undefined for an anonymous request. */
  readonly requester: Requester | undefined;
  readonly context: ConditionContext;
  /**
   * For an object action: the version's ACL, or 'legacy' for a version written before objects had ACLs
   * (it follows its bucket's); absent when the version has not been read.
   */
  readonly objectAcl?: ObjectAcl | 'legacy';
}

export interface AccessDecision {
  readonly allowed: boolean;
  readonly reason: string;
  /** Denied only for want of the object version's ACL, which may still grant the action. */
  readonly objectAclMayGrant?: true;
  /** Denied by a Deny statement of the bucket policy, which nothing overrides. */
  readonly explicitDeny?: true;
}

const POLICY_ACTIONS: ReadonlySet<S3Action> = new Set(['s3:GetBucketPolicy', 's3:PutBucketPolicy', 's3:DeleteBucketPolicy']);

/**
 * What governs who may do what is the owner's alone, whatever a policy allows: as AWS keeps bucket
 * policies to the owning account, no grant to others (to `*` least of all) lets them rewrite it.
 */
const OWNER_ONLY_ACTIONS: ReadonlySet<S3Action> = new Set([
  ...POLICY_ACTIONS, 's3:PutBucketPublicAccessBlock', 's3:PutBucketOwnershipControls',
]);

export function decideAccess(request: AccessRequest): AccessDecision {
  const { bucket, requester, action } = request;
  const ownerOrAdmin = requester !== undefined && (requester.role === 'admin' || requester.userId === bucket.owner);
  const verdict = bucket.policy === undefined ? {} : evaluatePolicy(bucket.policy, {
    action,
    resource: actionInfo(action).resource === 'object' ? resourceArn(bucket.name, request.key ?? '') : resourceArn(bucket.name),
    userId: requester?.userId,
    context: request.context,
  });
  if (verdict.deniedBy !== undefined && !(ownerOrAdmin && POLICY_ACTIONS.has(action))) {
    return { ...deny(`statement ${verdict.deniedBy.statement} of the bucket policy denies ${action}`), explicitDeny: true };
  }
  if (ownerOrAdmin) return allow(requester.role === 'admin' && requester.userId !== bucket.owner ? 'an admin user' : 'the bucket owner');
  if (OWNER_ONLY_ACTIONS.has(action)) return deny(`only the bucket's owner may ${action}`);
  if (verdict.allowedBy !== undefined) {
    if (bucket.publicAccessBlock?.restrictPublicBuckets === true && policyIsPublic(bucket.policy!)) {
      return deny(`the public access block restricts the bucket's public policy to its owner`);
    }
    return allow(`statement ${verdict.allowedBy.statement} of the bucket policy allows ${action}`);
  }
  const byAcl = aclGrants(bucket, requester, action, request.objectAcl);
  if (byAcl !== 'no') return byAcl === 'unknown' ? { ...deny(`the object's ACL may grant ${action}`), objectAclMayGrant: true } : allow(byAcl);
  return deny(`nothing grants ${action} to ${requester?.userId ?? 'anonymous'}`);
}

/** The grants of the bucket's ACL: those given explicitly, or its canned ACL's. */
export function bucketGrants(bucket: BucketRecord): readonly AclGrant[] {
  return bucket.grants ?? cannedGrants(bucket.acl, bucket.owner, bucket.owner) ?? [];
}

/** Which ACL grants the action (the reason), 'no', or 'unknown' when it is the object's and that is not known. */
function aclGrants(bucket: BucketRecord, requester: Requester | undefined, action: S3Action, objectAcl: ObjectAcl | 'legacy' | undefined): string | 'no' | 'unknown' {
  const spec = actionInfo(action).grantedBy;
  // With ACLs disabled, only the owner and the bucket policy grant anything.
  if (spec === undefined || bucket.objectOwnership === 'BucketOwnerEnforced') return 'no';
  const ignorePublic = bucket.publicAccessBlock?.ignorePublicAcls === true;
  const grants = (list: readonly AclGrant[]): boolean => grantsPermission(list, requester?.userId, spec.permission, ignorePublic);
  if (spec.on === 'bucket' || objectAcl === 'legacy') return grants(bucketGrants(bucket)) ? `the bucket's ACL grants ${spec.permission}` : 'no';
  if (objectAcl === undefined) return 'unknown';
  return grants(objectAcl.grants) ? `the object's ACL grants ${spec.permission}` : 'no';
}

function allow(reason: string): AccessDecision {
  return { allowed: true, reason };
}

function deny(reason: string): AccessDecision {
  return { allowed: false, reason };
}
