/**
 * The policy document of a browser POST upload and its signature. The policy (base64 JSON) names when
 * it expires and the conditions every form field must meet; the form is signed by signing the policy
 * itself, with SigV4 (x-amz-algorithm, x-amz-credential, x-amz-date, x-amz-signature) or SigV2
 * (AWSAccessKeyId, signature). Every field the form sends must be covered by a condition, except the
 * signature's own fields, the file, the policy and `x-ignore-*` fields, as S3 requires.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { S3Error } from './errors.js';
import { deriveSigningKey, S3_SERVICE, SCOPE_TERMINATOR, SIGV4_ALGORITHM, signaturesEqual } from './sigv4.js';

export type PostCondition =
  | { readonly type: 'eq' | 'starts-with'; readonly field: string; readonly value: string }
  | { readonly type: 'content-length-range'; readonly min: number; readonly max: number };

export interface PostPolicy {
  readonly expirationMs: number;
  readonly conditions: readonly PostCondition[];
}

/** The form's fields, names lower-cased. */
export type FormFields = ReadonlyMap<string, string>;

const UNCOVERED_FIELDS = new Set(['policy', 'x-amz-signature', 'signature', 'awsaccesskeyid', 'file']);

function invalidPolicy(detail: string): S3Error {
  return new S3Error('InvalidPolicyDocument', `Invalid Policy: ${detail}`);
}

function policyFailed(detail: string): S3Error {
  return new S3Error('AccessDenied', `Invalid according to Policy: ${detail}`);
}

/** Decodes and checks the `policy` field; InvalidPolicyDocument saying what is wrong. */
export function parsePostPolicy(base64: string): PostPolicy {
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
  } catch {
    throw invalidPolicy('Invalid JSON.');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw invalidPolicy('Invalid JSON.');
  const { expiration, conditions } = document as Record<string, unknown>;
  if (expiration === undefined) throw invalidPolicy("Policy missing expiration.");
  if (typeof expiration !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(expiration) || !Number.isFinite(Date.parse(expiration))) {
    throw invalidPolicy(`Invalid 'expiration' value: ${JSON.stringify(expiration)}`);
  }
  if (!Array.isArray(conditions)) throw invalidPolicy('Policy missing conditions.');
  return { expirationMs: Date.parse(expiration), conditions: conditions.map(parseCondition) };
}

function parseCondition(raw: unknown): PostCondition {
  if (Array.isArray(raw)) {
    const [operator, first, second] = raw as unknown[];
    const op = typeof operator === 'string' ? operator.toLowerCase() : '';
    if (op === 'content-length-range') {
      if (raw.length !== 3) throw invalidPolicy('content-length-range needs a minimum and a maximum.');
      const min = Number(first);
      const max = Number(second);
      if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || max < min) throw invalidPolicy('Invalid content-length-range.');
      return { type: 'content-length-range', min, max };
    }
    if ((op === 'eq' || op === 'starts-with') && raw.length === 3 && typeof first === 'string' && first.startsWith('$') && typeof second === 'string') {
      return { type: op, field: first.slice(1).toLowerCase(), value: second };
    }
    throw invalidPolicy(`Invalid condition: ${JSON.stringify(raw)}`);
  }
  if (typeof raw === 'object' && raw !== null) {
    const entries = Object.entries(raw);
    const [entry] = entries;
    if (entries.length === 1 && entry !== undefined && typeof entry[1] === 'string') return { type: 'eq', field: entry[0].toLowerCase(), value: entry[1] };
  }
  throw invalidPolicy(`Invalid condition: ${JSON.stringify(raw)}`);
}

/**
 * Checks the form against its policy: not expired, every condition met, every field covered. The
 * file's size is checked by `checkPostSize` as it streams. AccessDenied saying which failed.
 */
export function checkPostPolicy(policy: PostPolicy, fields: FormFields, nowMs: number): void {
  if (policy.expirationMs <= nowMs) throw policyFailed('Policy expired.');
  const covered = new Set<string>();
  for (const condition of policy.conditions) {
    if (condition.type === 'content-length-range') continue;
    covered.add(condition.field);
    const value = fields.get(condition.field) ?? '';
    const met = condition.type === 'eq' ? value === condition.value : value.startsWith(condition.value);
    if (!met) throw policyFailed(`Policy Condition failed: ["${condition.type}", "$${condition.field}", ${JSON.stringify(condition.value)}]`);
  }
  for (const field of fields.keys()) {
    if (UNCOVERED_FIELDS.has(field) || field.startsWith('x-ignore-') || covered.has(field)) continue;
    throw policyFailed(`Extra input fields: ${field}`);
  }
}

/** The size bounds the policy sets on the file, when it sets any. */
export function postSizeRange(policy: PostPolicy | undefined): { readonly min: number; readonly max: number } | undefined {
  const range = policy?.conditions.find((condition) => condition.type === 'content-length-range');
  return range?.type === 'content-length-range' ? { min: range.min, max: range.max } : undefined;
}

export interface PostSigner {
  readonly accessKeyId: string;
}

/**
 * Who signed the form: the access key whose secret signs the policy as the form's signature fields
 * say. Missing fields are InvalidArgument; a wrong signature SignatureDoesNotMatch; an unknown key
 * InvalidAccessKeyId.
 */
export function verifyPostSignature(fields: FormFields, lookupSecret: (accessKeyId: string) => string | undefined): PostSigner {
  const policy = fields.get('policy') ?? '';
  const algorithm = fields.get('x-amz-algorithm');
  if (algorithm !== undefined) {
    if (algorithm !== SIGV4_ALGORITHM) throw new S3Error('InvalidArgument', `Unsupported x-amz-algorithm ${algorithm}`);
    const credential = required(fields, 'x-amz-credential');
    const signature = required(fields, 'x-amz-signature');
    required(fields, 'x-amz-date');
    const [accessKeyId = '', date = '', region = '', service = '', terminator = ''] = credential.split('/');
    if (service !== S3_SERVICE || terminator !== SCOPE_TERMINATOR || !/^\d{8}$/.test(date) || region === '') {
      throw new S3Error('InvalidArgument', `Invalid x-amz-credential ${credential}`);
    }
    const secret = lookupSecret(accessKeyId);
    if (secret === undefined) throw new S3Error('InvalidAccessKeyId');
    const expected = createHmac('sha256', deriveSigningKey(secret, date, region, service)).update(policy, 'utf8').digest('hex');
    if (!signaturesEqual(expected, signature)) throw new S3Error('SignatureDoesNotMatch');
    return { accessKeyId };
  }
  const accessKeyId = required(fields, 'awsaccesskeyid');
  const signature = required(fields, 'signature');
  const secret = lookupSecret(accessKeyId);
  if (secret === undefined) throw new S3Error('InvalidAccessKeyId');
  const expected = Buffer.from(createHmac('sha1', secret).update(policy, 'utf8').digest('base64'));
  const provided = Buffer.from(signature);
  // Base64 is case-sensitive: compared exactly, in constant time.
  if (expected.length !== provided.length || !timingSafeEqual(expected, provided)) throw new S3Error('SignatureDoesNotMatch');
  return { accessKeyId };
}

function required(fields: FormFields, name: string): string {
  const value = fields.get(name);
  if (value === undefined || value === '') throw new S3Error('InvalidArgument', `Bucket POST must contain a field named '${name}'. If it is specified, please check the order of the fields.`, { fields: { ArgumentName: name } });
  return value;
}
