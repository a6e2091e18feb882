/**
 * What a bucket policy says about an object action on the keys under a prefix as a whole, for NFS's
 * ACCESS on a directory: removing or creating entries is decided per name at the call, so ACCESS may
 * only withhold a right that no name under the directory could have. The answer leans to `mayAllow`
 * wherever a statement is not plain enough to judge (conditions, NotAction, NotResource, variables).
 */
import { principalMatches, type BucketPolicy, type PolicyStatement } from './bucket-policy.js';
import { globMatches } from './glob.js';
import { resourceArn, type S3Action } from './s3-actions.js';

export type PrefixVerdict =
  /** A Deny statement without conditions covers every key under the prefix. */
  | 'deniedForAll'
  /** Some Allow statement may apply to some key under the prefix. */
  | 'mayAllow'
  /** No Allow statement can apply to any key under the prefix. */
  | 'allowsNone';

export interface PrefixRequest {
  readonly bucketName: string;
  readonly prefix: string;
  readonly action: S3Action;
  readonly userId: string;
}

/** The text of an ARN pattern before its first wildcard, and whether it has one. */
function literalHead(pattern: string): { readonly head: string; readonly wild: boolean } {
  const at = pattern.search(/[*?]/);
  return at === -1 ? { head: pattern, wild: false } : { head: pattern.slice(0, at), wild: true };
}

/** Whether `pattern` may match some ARN starting with `target` (true when unsure). */
function mayMatchUnder(pattern: string, target: string): boolean {
  if (pattern.includes('${')) return true;
  const { head, wild } = literalHead(pattern);
  return wild ? head.startsWith(target) || target.startsWith(head) : pattern.startsWith(target);
}

/** Whether `pattern` matches every ARN starting with `target`: a literal head ending in a lone `*`. */
function matchesAllUnder(pattern: string, target: string): boolean {
  const { head, wild } = literalHead(pattern);
  return wild && pattern === `${head}*` && target.startsWith(head);
}

function namesUser(statement: PolicyStatement, userId: string): boolean | 'unsure' {
  if (statement.principals !== undefined) return statement.principals.some((principal) => principalMatches(principal, userId));
  return 'unsure';
}

function namesAction(statement: PolicyStatement, action: S3Action): boolean | 'unsure' {
  if (statement.actions !== undefined) return statement.actions.some((pattern) => globMatches(pattern, action, true));
  return 'unsure';
}

export function policyUnderPrefix(policy: BucketPolicy, request: PrefixRequest): PrefixVerdict {
  const target = resourceArn(request.bucketName, request.prefix);
  let mayAllow = false;
  for (const statement of policy.statements) {
    const user = namesUser(statement, request.userId);
    const action = namesAction(statement, request.action);
    if (user === false || action === false) continue;
    const resources = statement.resources;
    if (statement.effect === 'Deny') {
      const plain = user === true && action === true && statement.conditions.length === 0;
      if (plain && resources !== undefined && resources.some((pattern) => !pattern.includes('${') && matchesAllUnder(pattern, target))) return 'deniedForAll';
    } else if (resources === undefined || resources.some((pattern) => mayMatchUnder(pattern, target))) {
      mayAllow = true;
    }
  }
  return mayAllow ? 'mayAllow' : 'allowsNone';
}
