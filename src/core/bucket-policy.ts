/**
 * Bucket policies: the IAM policy language as S3 applies it to a bucket. `parseBucketPolicy` checks a
 * document the way PutBucketPolicy does (MalformedPolicy with the reason) and keeps both the text, to
 * give back as it was put, and a normalized form; `evaluatePolicy` says which statements apply to a
 * request. How that combines with ownership and ACLs is core/access-decision.ts's.
 */
import { globMatches } from './glob.js';
import { conditionHolds, conditionProblem, type ConditionContext, type PolicyCondition } from './policy-conditions.js';
import { ALL_S3_ACTIONS, actionInfo, type S3Action } from './s3-actions.js';

/** S3 refuses bucket policies larger than this. */
export const MAX_POLICY_BYTES = 20 * 1024;

const VERSIONS = ['2012-10-17', '2008-10-17'] as const;
type PolicyVersion = (typeof VERSIONS)[number];

/** A principal as written: `*`, a user's id, an IAM user or account ARN, or a service (which never matches here). */
type Principals = readonly string[];

export interface PolicyStatement {
  readonly sid?: string;
  readonly effect: 'Allow' | 'Deny';
  /** Exactly one of principals and notPrincipals. */
  readonly principals?: Principals;
  readonly notPrincipals?: Principals;
  /** Exactly one of actions and notActions; patterns, matched without regard to case. */
  readonly actions?: readonly string[];
  readonly notActions?: readonly string[];
  /** Exactly one of resources and notResources; ARN patterns. */
  readonly resources?: readonly string[];
  readonly notResources?: readonly string[];
  readonly conditions: readonly PolicyCondition[];
}

export interface BucketPolicy {
  /** The document exactly as it was put: GetBucketPolicy gives it back unchanged. */
  readonly text: string;
  readonly version: PolicyVersion;
  readonly statements: readonly PolicyStatement[];
}

export type PolicyParse =
  | { readonly ok: true; readonly policy: BucketPolicy }
  /** `unsupported`: a valid policy that uses what this store cannot judge (NotImplemented, not MalformedPolicy). */
  | { readonly ok: false; readonly problem: string; readonly unsupported?: boolean };

/** The condition keys of an existing object's tags: known only once its version is read. */
const EXISTING_TAG_PREFIX = 's3:existingobjecttag/';

/** Condition keys this store fills in from each request (core/access-decision.ts's context). */
export const PROVIDED_CONDITION_KEYS = [
  'aws:sourceip', 'aws:securetransport', 'aws:currenttime', 'aws:epochtime', 'aws:referer', 'aws:useragent',
  'aws:username', 'aws:userid', 'aws:principaltype',
  's3:prefix', 's3:delimiter', 's3:max-keys', 's3:versionid', 's3:authtype', 's3:signatureversion',
  's3:x-amz-acl', 's3:x-amz-grant-read', 's3:x-amz-grant-write', 's3:x-amz-grant-read-acp', 's3:x-amz-grant-write-acp',
  's3:x-amz-grant-full-control', 's3:x-amz-copy-source', 's3:x-amz-metadata-directive', 's3:x-amz-server-side-encryption',
  's3:x-amz-server-side-encryption-customer-algorithm', 's3:x-amz-server-side-encryption-aws-kms-key-id', 's3:x-amz-storage-class',
  's3:x-amz-content-sha256', 's3:object-lock-mode', 's3:object-lock-retain-until-date', 's3:object-lock-legal-hold',
  's3:requestobjecttagkeys',
] as const;
const PROVIDED_PREFIXES = ['s3:requestobjecttag/', EXISTING_TAG_PREFIX];

/** Keys of AWS's world (organizations, VPCs, services calling for an account) that no request here carries. */
const NEVER_PRESENT_KEYS = new Set([
  'aws:sourcearn', 'aws:sourceaccount', 'aws:sourceorgid', 'aws:sourceorgpaths', 'aws:sourcevpc', 'aws:sourcevpce', 'aws:vpcsourceip',
  'aws:principalorgid', 'aws:principalorgpaths', 'aws:principalaccount', 'aws:principalarn', 'aws:principalisawsservice',
  'aws:principalservicename', 'aws:multifactorauthpresent', 'aws:multifactorauthage', 'aws:tokenissuetime', 'aws:viaawsservice',
  'aws:calledvia', 'aws:calledviafirst', 'aws:calledvialast', 'aws:requestedregion', 'aws:federatedprovider',
  's3:dataaccesspointarn', 's3:dataaccesspointaccount', 's3:accesspointnetworkorigin', 's3:resourceaccount',
  // Only CreateBucket carries it, and a bucket's policy is never asked about its own creation.
  's3:locationconstraint',
]);
const NEVER_PRESENT_PREFIXES = ['aws:principaltag/', 'aws:requesttag/', 'aws:resourcetag/'];

/** Keys AWS defines that need what this store does not judge yet: refused rather than silently never matching. */
const UNSUPPORTED_KEYS = new Set(['s3:signatureage', 's3:tlsversion', 's3:object-lock-remaining-retention-days', 'aws:tagkeys']);
const UNSUPPORTED_PREFIXES: readonly string[] = [];

const PROVIDED = new Set<string>(PROVIDED_CONDITION_KEYS);

type KeyStanding = 'provided' | 'never-present' | 'unsupported' | 'unknown';

function keyStanding(key: string): KeyStanding {
  const startsWithAny = (prefixes: readonly string[]): boolean => prefixes.some((prefix) => key.startsWith(prefix) && key.length > prefix.length);
  if (PROVIDED.has(key) || startsWithAny(PROVIDED_PREFIXES)) return 'provided';
  if (NEVER_PRESENT_KEYS.has(key) || startsWithAny(NEVER_PRESENT_PREFIXES)) return 'never-present';
  if (UNSUPPORTED_KEYS.has(key) || startsWithAny(UNSUPPORTED_PREFIXES)) return 'unsupported';
  return 'unknown';
}

class PolicyProblem extends Error {
  constructor(message: string, readonly unsupported = false) {
    super(message);
  }
}

const STATEMENT_FIELDS = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);

/** Checks `text` as the policy of `bucketName`. */
export function parseBucketPolicy(text: string, bucketName: string): PolicyParse {
  try {
    if (Buffer.byteLength(text, 'utf8') > MAX_POLICY_BYTES) throw new PolicyProblem(`Policies must be at most ${MAX_POLICY_BYTES} bytes`);
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw new PolicyProblem("Policies must be valid JSON and the first byte must be '{'");
    }
    if (!isPlainObject(document)) throw new PolicyProblem("Policies must be valid JSON and the first byte must be '{'");
    for (const field of Object.keys(document)) {
      if (field !== 'Version' && field !== 'Id' && field !== 'Statement') throw new PolicyProblem(`Unknown field ${field}`);
    }
    const version = document.Version ?? '2008-10-17';
    if (!(VERSIONS as readonly unknown[]).includes(version)) throw new PolicyProblem(`The policy language version ${JSON.stringify(version)} is not valid`);
    if (document.Id !== undefined && typeof document.Id !== 'string') throw new PolicyProblem('Id must be a string');
    if (document.Statement === undefined) throw new PolicyProblem('Missing required field Statement');
    const raw = Array.isArray(document.Statement) ? document.Statement : [document.Statement];
    if (raw.length === 0) throw new PolicyProblem('Missing required field Statement');
    const statements = raw.map((one) => parseStatement(one, bucketName));
    const sids = statements.flatMap((statement) => (statement.sid === undefined || statement.sid === '' ? [] : [statement.sid]));
    if (new Set(sids).size !== sids.length) throw new PolicyProblem('Statement IDs (SID) in a single policy must be unique');
    return { ok: true, policy: { text, version: version as PolicyVersion, statements } };
  } catch (error) {
    if (error instanceof PolicyProblem) return { ok: false, problem: error.message, ...(error.unsupported ? { unsupported: true } : {}) };
    throw error;
  }
}

function parseStatement(raw: unknown, bucketName: string): PolicyStatement {
  if (!isPlainObject(raw)) throw new PolicyProblem('Each statement must be an object');
  for (const field of Object.keys(raw)) {
    if (!STATEMENT_FIELDS.has(field)) throw new PolicyProblem(`Unknown field ${field}`);
  }
  if (raw.Sid !== undefined && typeof raw.Sid !== 'string') throw new PolicyProblem('Sid must be a string');
  if (raw.Effect === undefined) throw new PolicyProblem('Missing required field Effect');
  if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') throw new PolicyProblem(`Invalid effect: ${String(raw.Effect)}`);
  const principals = oneOf(raw, 'Principal', 'NotPrincipal', parsePrincipals);
  if (raw.Effect === 'Allow' && principals.negated) throw new PolicyProblem('NotPrincipal may only be used with Effect Deny');
  const actions = oneOf(raw, 'Action', 'NotAction', (value) => stringList(value, 'Action').map(checkAction));
  const resources = oneOf(raw, 'Resource', 'NotResource', (value) => stringList(value, 'Resource').map((resource) => checkResource(resource, bucketName)));
  if (!actions.negated && !resources.negated) checkActionsApply(actions.values, resources.values);
  const conditions = raw.Condition === undefined ? [] : parseConditions(raw.Condition);
  return {
    ...(typeof raw.Sid === 'string' ? { sid: raw.Sid } : {}),
    effect: raw.Effect,
    ...(principals.negated ? { notPrincipals: principals.values } : { principals: principals.values }),
    ...(actions.negated ? { notActions: actions.values } : { actions: actions.values }),
    ...(resources.negated ? { notResources: resources.values } : { resources: resources.values }),
    conditions,
  };
}

/** The element or its negation, exactly one of them present. */
function oneOf<T>(raw: Record<string, unknown>, field: string, negatedField: string, parse: (value: unknown) => readonly T[]): { readonly negated: boolean; readonly values: readonly T[] } {
  const plain = raw[field];
  const negated = raw[negatedField];
  if (plain !== undefined && negated !== undefined) throw new PolicyProblem(`A statement cannot have both ${field} and ${negatedField}`);
  if (plain === undefined && negated === undefined) throw new PolicyProblem(`Missing required field ${field}`);
  return negated === undefined ? { negated: false, values: parse(plain) } : { negated: true, values: parse(negated) };
}

function stringList(value: unknown, field: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((item) => typeof item === 'string' && item !== '')) throw new PolicyProblem(`${field} must be a string or a list of strings`);
  return list as string[];
}

function parsePrincipals(value: unknown): string[] {
  if (value === '*') return ['*'];
  if (!isPlainObject(value)) throw new PolicyProblem('Invalid principal in policy');
  const principals: string[] = [];
  for (const [kind, names] of Object.entries(value)) {
    const list = stringList(names, 'Principal');
    switch (kind) {
      case 'AWS':
      case 'CanonicalUser':
        principals.push(...list);
        break;
      case 'Service':
      case 'Federated':
        // Valid in a policy; no request here comes from an AWS service or a federated identity.
        principals.push(...list.map((name) => `${kind.toLowerCase()}:${name}`));
        break;
      default:
        throw new PolicyProblem('Invalid principal in policy');
    }
  }
  if (principals.length === 0) throw new PolicyProblem('Invalid principal in policy');
  return principals;
}

function checkAction(action: string): string {
  if (action === '*') return action;
  if (!action.toLowerCase().startsWith('s3:') || !ALL_S3_ACTIONS.some((known) => globMatches(action, known, true))) {
    throw new PolicyProblem(`Policy has invalid action: ${action}`);
  }
  return action;
}

function checkResource(resource: string, bucketName: string): string {
  const prefix = 'arn:aws:s3:::';
  if (resource === '*') return resource;
  if (!resource.startsWith(prefix)) throw new PolicyProblem(`Policy has invalid resource: ${resource}`);
  const path = resource.slice(prefix.length);
  const slash = path.indexOf('/');
  const bucketPart = slash === -1 ? path : path.slice(0, slash);
  if (!globMatches(bucketPart, bucketName)) throw new PolicyProblem(`Policy has invalid resource: ${resource}`);
  return resource;
}

/** S3 refuses a statement whose actions none apply to its resources (GetObject on the bucket's ARN alone). */
function checkActionsApply(actions: readonly string[], resources: readonly string[]): void {
  const kinds = new Set(resources.map((resource) => (resource.includes('/') ? 'object' : resource.endsWith('*') ? 'any' : 'bucket')));
  const applies = (action: S3Action): boolean => {
    const kind = actionInfo(action).resource;
    return kind === 'none' || kinds.has('any') || kinds.has(kind);
  };
  for (const pattern of actions) {
    const matching = ALL_S3_ACTIONS.filter((known) => pattern === '*' || globMatches(pattern, known, true));
    if (!matching.some(applies)) throw new PolicyProblem('Action does not apply to any resource(s) in statement');
  }
}

function parseConditions(raw: unknown): PolicyCondition[] {
  if (!isPlainObject(raw)) throw new PolicyProblem('Condition must be an object');
  const conditions: PolicyCondition[] = [];
  for (const [operator, keys] of Object.entries(raw)) {
    if (!isPlainObject(keys)) throw new PolicyProblem(`The ${operator} condition must map keys to values`);
    for (const [keyName, rawValues] of Object.entries(keys)) {
      const key = keyName.toLowerCase();
      const list = Array.isArray(rawValues) ? rawValues : [rawValues];
      if (list.length === 0 || !list.every((item) => ['string', 'number', 'boolean'].includes(typeof item))) {
        throw new PolicyProblem(`The values of ${keyName} in ${operator} must be strings, numbers or booleans`);
      }
      const condition: PolicyCondition = { operator, key, values: list.map(String) };
      const problem = conditionProblem(condition);
      if (problem !== undefined) throw new PolicyProblem(problem);
      switch (keyStanding(key)) {
        case 'unknown':
          throw new PolicyProblem(`Policy has an invalid condition key: ${keyName}`);
        case 'unsupported':
          throw new PolicyProblem(`The condition key ${keyName} is not supported by this store`, true);
        default:
          conditions.push(condition);
      }
    }
  }
  return conditions;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

export interface PolicyRequest {
  readonly action: S3Action;
  /** `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`. */
  readonly resource: string;
  /** The signed-in user's id; undefined for an anonymous request. */
  readonly userId: string | undefined;
  readonly context: ConditionContext;
}

export interface StatementMatch {
  /** The statement's Sid, or its position when it has none. */
  readonly statement: string;
}

export interface PolicyVerdict {
  readonly deniedBy?: StatementMatch;
  readonly allowedBy?: StatementMatch;
}

/** The first Deny and the first Allow statement that apply to `request`; explicit deny wins where they meet. */
export function evaluatePolicy(policy: BucketPolicy, request: PolicyRequest): PolicyVerdict {
  let allowedBy: StatementMatch | undefined;
  for (const [index, statement] of policy.statements.entries()) {
    if (!statementApplies(policy.version, statement, request)) continue;
    const match = { statement: statement.sid !== undefined && statement.sid !== '' ? statement.sid : `#${index + 1}` };
    if (statement.effect === 'Deny') return { deniedBy: match };
    allowedBy ??= match;
  }
  return allowedBy === undefined ? {} : { allowedBy };
}

function statementApplies(version: PolicyVersion, statement: PolicyStatement, request: PolicyRequest): boolean {
  const resolve = (text: string): string | undefined => (version === '2012-10-17' ? substituteVariables(text, request.context) : text);
  const principalNamed = (principals: Principals): boolean => principals.some((principal) => principalMatches(principal, request.userId));
  const actionNamed = (actions: readonly string[]): boolean => actions.some((pattern) => globMatches(pattern, request.action, true));
  const resourceNamed = (resources: readonly string[]): boolean => resources.some((pattern) => {
    const resolved = resolve(pattern);
    return resolved !== undefined && globMatches(resolved, request.resource);
  });
  if (statement.principals !== undefined ? !principalNamed(statement.principals) : principalNamed(statement.notPrincipals ?? [])) return false;
  if (statement.actions !== undefined ? !actionNamed(statement.actions) : actionNamed(statement.notActions ?? [])) return false;
  if (statement.resources !== undefined ? !resourceNamed(statement.resources) : resourceNamed(statement.notResources ?? [])) return false;
  return statement.conditions.every((condition) => {
    const values = condition.values.flatMap((value) => {
      const resolved = resolve(value);
      return resolved === undefined ? [] : [resolved];
    });
    return conditionHolds(condition, request.context, values);
  });
}

/**
 * Whether a principal as written names the requester: `*` names everyone, anonymous included; a
 * user's id, `arn:aws:iam::<account>:user/<id>` and the account form `arn:aws:iam::<id>:root` name
 * that user.
 */
export function principalMatches(principal: string, userId: string | undefined): boolean {
  if (principal === '*') return true;
  if (userId === undefined) return false;
  if (principal === userId) return true;
  const user = /^arn:aws:iam::[^:]*:user\/(?:.*\/)?([^/]+)$/.exec(principal);
  if (user !== null) return user[1] === userId;
  const account = /^arn:aws:iam::([^:]+):root$/.exec(principal);
  return account !== null && account[1] === userId;
}

/** `${aws:username}` and the like replaced from the request; undefined when one is absent (nothing matches). */
function substituteVariables(text: string, context: ConditionContext): string | undefined {
  if (!text.includes('${')) return text;
  let missing = false;
  const replaced = text.replace(/\$\{([^}]*)\}/g, (_whole, name: string) => {
    if (name === '*' || name === '?' || name === '$') return name;
    const value = context.get(name.toLowerCase())?.[0];
    if (value === undefined) missing = true;
    return value ?? '';
  });
  return missing ? undefined : replaced;
}

/**
 * Whether the policy makes the bucket public as S3's policy status judges it: an Allow to everyone not
 * narrowed by a condition on who or where the requester is.
 */
export function policyIsPublic(policy: BucketPolicy): boolean {
  const narrowing = new Set(['aws:sourceip', 'aws:sourcearn', 'aws:sourcevpc', 'aws:sourcevpce', 'aws:sourceaccount', 'aws:sourceowner',
    'aws:principalorgid', 'aws:principalaccount', 'aws:principalarn', 'aws:userid', 'aws:username', 's3:dataaccesspointarn']);
  const narrows = (condition: PolicyCondition): boolean => {
    if (!narrowing.has(condition.key) || condition.operator.startsWith('ForAllValues') || /Not|IfExists/.test(condition.operator)) return false;
    if (condition.key !== 'aws:sourceip') return !condition.values.some((value) => value === '*' || value.includes('*'));
    // An address range counts only when it is narrow: a /8 of IPv4 or a /32 of IPv6 at the widest.
    return condition.values.every((value) => {
      const [address = '', bits] = value.split('/');
      const prefix = bits === undefined ? (address.includes(':') ? 128 : 32) : Number(bits);
      return prefix >= (address.includes(':') ? 32 : 8);
    });
  };
  return policy.statements.some((statement) => statement.effect === 'Allow' &&
    (statement.principals?.includes('*') ?? false) &&
    !statement.conditions.some(narrows));
}

/** Whether the policy judges existing objects' tags, so that an object request must read the version first. */
export function policyAsksExistingTags(policy: BucketPolicy): boolean {
  return policy.statements.some((statement) => statement.conditions.some((condition) => condition.key.startsWith(EXISTING_TAG_PREFIX)));
}

/** The condition keys of a version's tags (s3:ExistingObjectTag/<key>), lower-cased as context keys are. */
export function existingTagKeys(tags: Readonly<Record<string, string>> | undefined): Array<[string, string[]]> {
  return Object.entries(tags ?? {}).map(([key, value]) => [`${EXISTING_TAG_PREFIX}${key.toLowerCase()}`, [value]]);
}

/** A policy record from the wire or disk has the normalized shape (the text was checked when it was put). */
export function isBucketPolicy(value: unknown): value is BucketPolicy {
  if (!isPlainObject(value)) return false;
  return typeof value.text === 'string' && (VERSIONS as readonly unknown[]).includes(value.version) &&
    Array.isArray(value.statements) && value.statements.every(isStatementShape);
}

function isStatementShape(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  const strings = (list: unknown): boolean => list === undefined || (Array.isArray(list) && list.every((item) => typeof item === 'string'));
  return (value.effect === 'Allow' || value.effect === 'Deny') &&
    strings(value.principals) && strings(value.notPrincipals) && strings(value.actions) && strings(value.notActions) &&
    strings(value.resources) && strings(value.notResources) &&
    Array.isArray(value.conditions) && value.conditions.every((condition) => isPlainObject(condition) &&
      typeof condition.operator === 'string' && typeof condition.key === 'string' && strings(condition.values));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
