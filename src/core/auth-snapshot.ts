/**
 * Users, their keys, buckets and endpoints: the records the manager keeps and the snapshot of them it
 * pushes to every gateway. The snapshot is small (people, not objects), so gateways hold it whole and
 * authenticate and authorize without asking anyone.
 */
import { isIncarnation } from './bucket-namespace.js';
import { isAclGrants, isObjectOwnership, type AclGrant, type ObjectOwnership } from './acl.js';
import { isBucketVersioning, type BucketVersioning } from './object-versioning.js';
import { isTags, MAX_BUCKET_TAGS, type Tags } from './object-tags.js';
import { isObjectLockConfig, type ObjectLockConfig } from './object-lock.js';
import { isLifecycleConfig, type LifecycleConfig } from './lifecycle.js';
import { isBucketPolicy, type BucketPolicy } from './bucket-policy.js';
import { isCorsConfig, type CorsConfig } from './cors.js';
import { isPublicAccessBlock, type PublicAccessBlock } from './public-access-block.js';

export const USER_ROLES = ['admin', 'normal'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** The canned ACLs a bucket can carry (LeoFS's set); anything finer is not offered. */
export const BUCKET_ACLS = ['private', 'public-read', 'public-read-write', 'authenticated-read'] as const;
export type BucketAcl = (typeof BUCKET_ACLS)[number];

/**
 * A user may hold this many access keys at once, as in AWS IAM: enough to rotate (a new key is made,
 * clients move to it, then the old one is deleted) without a moment in which no key works.
 */
export const MAX_ACCESS_KEYS = 2;

export interface AccessKeyRecord {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly createdAtMs: number;
}

/** An access key as shown to administrators: never its secret. */
export type AccessKeyView = Omit<AccessKeyRecord, 'secretAccessKey'>;

export interface UserRecord {
  readonly userId: string;
  /** The user's oldest key; records of one key only keep the shape they always had. */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly role: UserRole;
  readonly createdAtMs: number;
  /** The name S3 shows as the owner's DisplayName; the user id when absent. */
  readonly displayName?: string;
  /** When the oldest key was made; absent: with the user. */
  readonly keyCreatedAtMs?: number;
  /** The user's other keys, newest last (at most MAX_ACCESS_KEYS - 1); absent when it has none. */
  readonly otherKeys?: readonly AccessKeyRecord[];
}

/** A user as shown to administrators: never a secret. */
export type UserView = Omit<UserRecord, 'secretAccessKey' | 'otherKeys' | 'keyCreatedAtMs'>;

/** Every key of a user, oldest first. */
export function accessKeysOf(user: UserRecord): readonly AccessKeyRecord[] {
  return [{ accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey, createdAtMs: user.keyCreatedAtMs ?? user.createdAtMs }, ...(user.otherKeys ?? [])];
}

/** The user holding `keys` (oldest first, at least one): the oldest becomes the record's own key. */
export function withAccessKeys(user: UserRecord, keys: readonly AccessKeyRecord[]): UserRecord {
  const [first, ...others] = keys;
  if (first === undefined) throw new Error(`${user.userId} must keep an access key`);
  const { otherKeys: _others, keyCreatedAtMs: _created, ...rest } = user;
  return {
    ...rest,
    accessKeyId: first.accessKeyId,
    secretAccessKey: first.secretAccessKey,
    ...(first.createdAtMs === user.createdAtMs ? {} : { keyCreatedAtMs: first.createdAtMs }),
    ...(others.length === 0 ? {} : { otherKeys: others }),
  };
}

export interface BucketRecord {
  readonly name: string;
  /**
   * Fixed when the bucket is created; scopes every key stored for it (core/bucket-namespace.ts).
   * Absent on buckets created before incarnations existed.
   */
  readonly incarnation?: string;
  /** The owner's user id. */
  readonly owner: string;
  readonly acl: BucketAcl;
  /** The bucket's ACL given grant by grant (core/acl.ts), which then stands instead of `acl`. */
  readonly grants?: readonly AclGrant[];
  readonly createdAtMs: number;
  /** The LocationConstraint given at creation, if any. */
  readonly location?: string;
  /** Absent until versioning is first enabled; a bucket never goes back to unversioned. */
  readonly versioning?: BucketVersioning;
  /** The bucket's tags (PutBucketTagging); absent when it has none. */
  readonly tags?: Tags;
  /** Present when object lock is enabled (core/object-lock.ts); such a bucket stays versioned. */
  readonly objectLock?: ObjectLockConfig;
  /** The lifecycle rules the storage nodes apply (core/lifecycle.ts), when it has any. */
  readonly lifecycle?: LifecycleConfig;
  /** The bucket policy (core/bucket-policy.ts), when it has one. */
  readonly policy?: BucketPolicy;
  /** The rules that let browsers of other origins in (core/cors.ts), when it has any. */
  readonly cors?: CorsConfig;
  /** The switches that keep the bucket from being made public (core/public-access-block.ts). */
  readonly publicAccessBlock?: PublicAccessBlock;
  /** Who owns the objects written to it, and whether ACLs count (core/acl.ts); absent: ObjectWriter. */
  readonly objectOwnership?: ObjectOwnership;
  /** The encryption objects written without one get (PutBucketEncryption): SSE-S3 or SSE-KMS. */
  readonly defaultEncryption?: 'AES256' | 'aws:kms';
  /** With an aws:kms default: the KMS key (a master key id) it uses; absent: the current master key. */
  readonly defaultKmsKeyId?: string;
}

export interface EndpointRecord {
  /** A host name under which buckets are addressed virtual-host style (`<bucket>.<host>`). */
  readonly host: string;
  readonly createdAtMs: number;
}

export const AUTH_SNAPSHOT_VERSION = 1;

export interface AuthSnapshot {
  readonly version: typeof AUTH_SNAPSHOT_VERSION;
  /**
   * Names the manager state the revisions count in; a cache takes any snapshot of another origin, so
   * a manager rebuilt from scratch is not ignored for having a lower revision.
   */
  readonly origin: string;
  /** Grows with every change; a cache never replaces a snapshot by an older one of the same origin. */
  readonly revision: number;
  readonly users: readonly UserRecord[];
  readonly buckets: readonly BucketRecord[];
  readonly endpoints: readonly string[];
}

const USER_ID = /^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$/;
/** Access keys appear in SigV4 credential scopes and SigV2 headers, so no separators are allowed. */
const ACCESS_KEY_ID = /^[A-Za-z0-9]{3,128}$/;
const SECRET_ACCESS_KEY = /^[\x21-\x7e]{8,128}$/;
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const MAX_LOCATION_LENGTH = 64;

export function userIdProblem(userId: unknown): string | undefined {
  if (typeof userId !== 'string' || !USER_ID.test(userId)) {
    return `user id must be 1 to 64 characters of letters, digits and _ . @ + -, starting with a letter or digit (got ${JSON.stringify(userId)})`;
  }
  return undefined;
}

export function accessKeyProblem(accessKeyId: unknown): string | undefined {
  if (typeof accessKeyId !== 'string' || !ACCESS_KEY_ID.test(accessKeyId)) {
    return `an access key id must be 3 to 128 letters and digits (got ${JSON.stringify(accessKeyId)})`;
  }
  return undefined;
}

export function secretProblem(secret: unknown): string | undefined {
  if (typeof secret !== 'string' || !SECRET_ACCESS_KEY.test(secret)) return 'a secret access key must be 8 to 128 printable ASCII characters without spaces';
  return undefined;
}

/** A display name is 1 to 128 printable characters (absent: the user id stands for it). */
export function displayNameProblem(name: unknown): string | undefined {
  if (name === undefined) return undefined;
  if (typeof name !== 'string' || name.length === 0 || name.length > 128 || /[\x00-\x1f\x7f]/.test(name)) {
    return `a display name must be 1 to 128 printable characters (got ${JSON.stringify(name)})`;
  }
  return undefined;
}

export function isUserRole(value: unknown): value is UserRole {
  return (USER_ROLES as readonly unknown[]).includes(value);
}

export function isBucketAcl(value: unknown): value is BucketAcl {
  return (BUCKET_ACLS as readonly unknown[]).includes(value);
}

/** Endpoints are compared lower-case and without a port, as the Host header is matched. */
export function normalizeEndpoint(host: string): string {
  return host.trim().toLowerCase();
}

export function endpointProblem(host: unknown): string | undefined {
  if (typeof host !== 'string' || !HOST_NAME.test(host)) return `an endpoint must be a DNS host name such as s3.example.com (got ${JSON.stringify(host)})`;
  return undefined;
}

export function locationProblem(location: unknown): string | undefined {
  if (location === undefined) return undefined;
  if (typeof location !== 'string' || location.length > MAX_LOCATION_LENGTH || !/^[A-Za-z0-9_-]*$/.test(location)) {
    return `a location constraint must be up to ${MAX_LOCATION_LENGTH} letters, digits, _ and - (got ${JSON.stringify(location)})`;
  }
  return undefined;
}

export function isUserRecord(value: unknown): value is UserRecord {
  if (typeof value !== 'object' || value === null) return false;
  const user = value as Record<string, unknown>;
  return (
    userIdProblem(user.userId) === undefined &&
    accessKeyProblem(user.accessKeyId) === undefined &&
    secretProblem(user.secretAccessKey) === undefined &&
    isUserRole(user.role) &&
    Number.isSafeInteger(user.createdAtMs) &&
    displayNameProblem(user.displayName) === undefined &&
    (user.keyCreatedAtMs === undefined || Number.isSafeInteger(user.keyCreatedAtMs)) &&
    (user.otherKeys === undefined || (Array.isArray(user.otherKeys) && user.otherKeys.length > 0 && user.otherKeys.length < MAX_ACCESS_KEYS && user.otherKeys.every(isAccessKeyRecord)))
  );
}

function isAccessKeyRecord(value: unknown): value is AccessKeyRecord {
  if (typeof value !== 'object' || value === null) return false;
  const key = value as Record<string, unknown>;
  return accessKeyProblem(key.accessKeyId) === undefined && secretProblem(key.secretAccessKey) === undefined && Number.isSafeInteger(key.createdAtMs);
}

/** Bucket names are checked where they are created; a stored record only needs the right shape. */
export function isBucketRecord(value: unknown): value is BucketRecord {
  if (typeof value !== 'object' || value === null) return false;
  const bucket = value as Record<string, unknown>;
  return (
    typeof bucket.name === 'string' && bucket.name.length > 0 &&
    (bucket.incarnation === undefined || isIncarnation(bucket.incarnation)) &&
    typeof bucket.owner === 'string' &&
    isBucketAcl(bucket.acl) &&
    (bucket.grants === undefined || isAclGrants(bucket.grants)) &&
    Number.isSafeInteger(bucket.createdAtMs) &&
    locationProblem(bucket.location) === undefined &&
    (bucket.versioning === undefined || isBucketVersioning(bucket.versioning)) &&
    (bucket.tags === undefined || isTags(bucket.tags, MAX_BUCKET_TAGS)) &&
    (bucket.objectLock === undefined || isObjectLockConfig(bucket.objectLock)) &&
    (bucket.lifecycle === undefined || isLifecycleConfig(bucket.lifecycle)) &&
    (bucket.policy === undefined || isBucketPolicy(bucket.policy)) &&
    (bucket.cors === undefined || isCorsConfig(bucket.cors)) &&
    (bucket.publicAccessBlock === undefined || isPublicAccessBlock(bucket.publicAccessBlock)) &&
    (bucket.defaultEncryption === undefined || bucket.defaultEncryption === 'AES256' || bucket.defaultEncryption === 'aws:kms') &&
    (bucket.defaultKmsKeyId === undefined || typeof bucket.defaultKmsKeyId === 'string') &&
    (bucket.objectOwnership === undefined || isObjectOwnership(bucket.objectOwnership))
  );
}

export function isEndpointRecord(value: unknown): value is EndpointRecord {
  if (typeof value !== 'object' || value === null) return false;
  const endpoint = value as Record<string, unknown>;
  return endpointProblem(endpoint.host) === undefined && Number.isSafeInteger(endpoint.createdAtMs);
}

/** Checks a snapshot that arrived from the wire or from disk; undefined when it is usable. */
export function authSnapshotProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const snapshot = value as Partial<Record<keyof AuthSnapshot, unknown>>;
  if (snapshot.version !== AUTH_SNAPSHOT_VERSION) return `unsupported snapshot version ${JSON.stringify(snapshot.version)}`;
  if (typeof snapshot.origin !== 'string' || snapshot.origin.length === 0) return 'missing origin';
  if (!Number.isSafeInteger(snapshot.revision) || (snapshot.revision as number) < 0) return 'revision must be a non-negative integer';
  if (!Array.isArray(snapshot.users) || !snapshot.users.every(isUserRecord)) return 'users are malformed';
  if (!Array.isArray(snapshot.buckets) || !snapshot.buckets.every(isBucketRecord)) return 'buckets are malformed';
  if (!Array.isArray(snapshot.endpoints) || !snapshot.endpoints.every((host) => endpointProblem(host) === undefined)) return 'endpoints are malformed';
  return undefined;
}

export function isAuthSnapshot(value: unknown): value is AuthSnapshot {
  return authSnapshotProblem(value) === undefined;
}

/** Whether a cache holding `held` should take `incoming`. */
export function supersedes(incoming: AuthSnapshot, held: AuthSnapshot | undefined): boolean {
  return held === undefined || incoming.origin !== held.origin || incoming.revision > held.revision;
}
