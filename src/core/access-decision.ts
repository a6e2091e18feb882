/**
 * Who may do what: the one decision every S3 request passes, given a description of the request.
 * In AWS's order:
 *
 *   1. a Deny statement of the bucket policy that applies wins over everything (the owner keeps the
 *      right to read, replace and delete the policy itself, so no policy can lock a bucket for good);
 *   2. the bucket's owner, and admin users, may do everything else;
 *   3. an Allow statement of the policy grants the action;
 *   4. the bucket's canned ACL grants others reading (public-read, authenticated-read) or reading and
 *      writing (public-read-write);
 *   5. anything else is denied.
 *
 * The bucket's public access block narrows 3 and 4: with restrictPublicBuckets a public policy grants
 * nothing, with ignorePublicAcls a public ACL grants nothing.
 *
 * The reason says which of these decided, for the debug log and for tests.
 */
import type { BucketRecord, UserRole } from './auth-snapshot.js';
import { evaluatePolicy, policyIsPublic } from './bucket-policy.js';
import { aclCounts } from './public-access-block.js';
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
}

export interface AccessDecision {
  readonly allowed: boolean;
  readonly reason: string;
}

const POLICY_ACTIONS: ReadonlySet<S3Action> = new Set(['s3:GetBucketPolicy', 's3:PutBucketPolicy', 's3:DeleteBucketPolicy']);

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
    return deny(`statement ${verdict.deniedBy.statement} of the bucket policy denies ${action}`);
  }
  if (ownerOrAdmin) return allow(requester.role === 'admin' && requester.userId !== bucket.owner ? 'an admin user' : 'the bucket owner');
  if (verdict.allowedBy !== undefined) {
    if (bucket.publicAccessBlock?.restrictPublicBuckets === true && policyIsPublic(bucket.policy!)) {
      return deny(`the public access block restricts the bucket's public policy to its owner`);
    }
    return allow(`statement ${verdict.allowedBy.statement} of the bucket policy allows ${action}`);
  }
  if (aclGrants(bucket, requester, action)) return allow(`the bucket's ${bucket.acl} ACL`);
  return deny(`nothing grants ${action} to ${requester?.userId ?? 'anonymous'}`);
}

/** What a canned ACL lets others do: public-read and authenticated-read reading, public-read-write also writing. */
function aclGrants(bucket: BucketRecord, requester: Requester | undefined, action: S3Action): boolean {
  const access = actionInfo(action).acl;
  if (access === 'owner' || !aclCounts(bucket.acl, bucket.publicAccessBlock)) return false;
  switch (bucket.acl) {
    case 'private':
      return false;
    case 'public-read':
      return access === 'read';
    case 'public-read-write':
      return true;
    case 'authenticated-read':
      return access === 'read' && requester !== undefined;
  }
}

function allow(reason: string): AccessDecision {
  return { allowed: true, reason };
}

function deny(reason: string): AccessDecision {
  return { allowed: false, reason };
}
