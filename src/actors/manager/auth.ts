/**
 * The manager's keeper of users, access keys, buckets and endpoints (LeoFS's leo_s3_user,
 * leo_s3_bucket and leo_s3_endpoint on the manager). It is their single writer; every change is
 * durable before it is answered, and then the whole snapshot goes to every running gateway, which
 * authenticates and authorizes from its copy without asking here.
 *
 * The first start of a manager creates an admin user and hands its keys once to `keepAdminKeys`; the
 * log names the user and its access key id, never a secret.
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { ActorContext, Behavior } from '../../runtime/actor.js';
import { assertNever } from '../../core/assert-never.js';
import {
  AUTH_SNAPSHOT_VERSION,
  MAX_ACCESS_KEYS,
  accessKeyProblem,
  accessKeysOf,
  withAccessKeys,
  endpointProblem,
  isBucketAcl,
  isUserRole,
  locationProblem,
  normalizeEndpoint,
  secretProblem,
  userIdProblem,
  displayNameProblem,
  type AccessKeyRecord,
  type AuthSnapshot,
  type BucketRecord,
  type EndpointRecord,
  type UserRecord,
  type UserRole,
  type UserView,
} from '../../core/auth-snapshot.js';
import { namespaceOf } from '../../core/bucket-namespace.js';
import { secretsEqual } from '../../core/constant-time.js';
import { isBucketVersioning } from '../../core/object-versioning.js';
import { isTags, MAX_BUCKET_TAGS } from '../../core/object-tags.js';
import { isObjectLockConfig } from '../../core/object-lock.js';
import { isLifecycleConfig } from '../../core/lifecycle.js';
import { isBucketPolicy } from '../../core/bucket-policy.js';
import { isCorsConfig } from '../../core/cors.js';
import { isPublicAccessBlock } from '../../core/public-access-block.js';
import { isAclGrants, isObjectOwnership } from '../../core/acl.js';
import { isValidBucketName } from '../../protocol/s3/router.js';
import type { StateTable } from '../../store/node-state.js';
import type {
  AddAccessKeyReply,
  AuthError,
  AuthMessage,
  DeleteAccessKeyReply,
  ChownBucketReply,
  CreateBucketReply,
  CreateUserReply,
  DeleteUserReply,
  EndpointReply,
  RemoveBucketReply,
  UpdateAclReply,
  UpdateUserRoleReply,
} from '../../protocol/cluster/auth.js';
import { authCacheRef } from '../../protocol/cluster/paths.js';

export const ADMIN_USER_ID = 'admin';
const ACCESS_KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const ACCESS_KEY_LENGTH = 20;
const SECRET_BYTES = 30; // 40 base64 characters
/** 64 bits: no bucket name sees the same incarnation twice. */
const INCARNATION_BYTES = 8;
const META_KEY = 'meta';

export interface AuthMeta {
  readonly origin: string;
  readonly revision: number;
  readonly adminCreatedAtMs: number;
}

export interface AuthTables {
  readonly users: StateTable<UserRecord>;
  readonly buckets: StateTable<BucketRecord>;
  readonly endpoints: StateTable<EndpointRecord>;
  readonly meta: StateTable<AuthMeta>;
}

export interface AuthDeps {
  readonly tables: AuthTables;
  /** The gateways that are running now, to push snapshots to. */
  readonly gatewayNodes: () => Promise<readonly string[]>;
  /** Keeps the first admin's keys where the operator finds them; returns where, for the log. */
  readonly keepAdminKeys: (keys: Pick<UserRecord, 'userId' | 'accessKeyId' | 'secretAccessKey'>) => string;
  readonly randomBytes?: (size: number) => Uint8Array;
}

interface AuthState {
  readonly users: Map<string, UserRecord>;
  readonly buckets: Map<string, BucketRecord>;
  readonly endpoints: Map<string, EndpointRecord>;
  meta: AuthMeta;
}

export function isAuthMeta(value: unknown): value is AuthMeta {
  if (typeof value !== 'object' || value === null) return false;
  const meta = value as Record<string, unknown>;
  return typeof meta.origin === 'string' && Number.isSafeInteger(meta.revision) && Number.isSafeInteger(meta.adminCreatedAtMs);
}

export function authBehavior(deps: AuthDeps): Behavior<AuthState, AuthMessage> {
  const random = deps.randomBytes ?? ((size: number) => cryptoRandomBytes(size));
  const { tables } = deps;

  return {
    accepts: ['create_bucket', 'update_acl', 'update_versioning', 'update_object_lock', 'update_lifecycle', 'update_bucket_document', 'update_bucket_tags', 'get_bucket', 'list_buckets', 'get_snapshot'],

    async init(ctx) {
      const state: AuthState = {
        users: new Map(tables.users.entries()),
        buckets: new Map(tables.buckets.entries()),
        endpoints: new Map(tables.endpoints.entries()),
        meta: { origin: '', revision: 0, adminCreatedAtMs: 0 },
      };
      const stored = tables.meta.get(META_KEY);
      if (stored) {
        // A change may have been stored without its revision bump before a crash; a new revision makes
        // every gateway take the snapshot again.
        state.meta = { ...stored, revision: stored.revision + 1 };
        await tables.meta.put(META_KEY, state.meta);
      } else {
        const admin: UserRecord = { userId: ADMIN_USER_ID, ...newKeys(state), role: 'admin', createdAtMs: ctx.clock.now() };
        await tables.users.put(admin.userId, admin);
        state.users.set(admin.userId, admin);
        // Kept before the meta record that marks the admin as created: a crash in between makes a new admin.
        const credentialsFile = deps.keepAdminKeys(admin);
        state.meta = { origin: Buffer.from(random(8)).toString('hex'), revision: 1, adminCreatedAtMs: admin.createdAtMs };
        await tables.meta.put(META_KEY, state.meta);
        ctx.log.info('admin user created', { userId: admin.userId, accessKeyId: admin.accessKeyId, credentialsFile });
      }
      pushToGateways(state, ctx);
      return state;
    },

    async receive(state, message, ctx) {
      switch (message.type) {
        case 'create_bucket':
          ctx.system.reply(message.replyTo, await createBucket(state, message, ctx));
          return state;
        case 'remove_bucket':
          ctx.system.reply(message.replyTo, await removeBucket(state, message, ctx));
          return state;
        case 'update_acl':
          ctx.system.reply(message.replyTo, await updateAcl(state, message, ctx));
          return state;
        case 'update_versioning':
          ctx.system.reply(message.replyTo, await updateVersioning(state, message, ctx));
          return state;
        case 'update_object_lock':
          ctx.system.reply(message.replyTo, await updateObjectLock(state, message, ctx));
          return state;
        case 'update_lifecycle':
          ctx.system.reply(message.replyTo, await updateLifecycle(state, message, ctx));
          return state;
        case 'update_bucket_document':
          ctx.system.reply(message.replyTo, await updateBucketDocument(state, message, ctx));
          return state;
        case 'update_bucket_tags':
          ctx.system.reply(message.replyTo, await updateBucketTags(state, message, ctx));
          return state;
        case 'get_bucket': {
          const bucket = state.buckets.get(String(message.name));
          ctx.system.reply(message.replyTo, bucket ? { ok: true, bucket } : noSuchBucket(String(message.name)));
          return state;
        }
        case 'list_buckets': {
          const all = [...state.buckets.values()].sort(byName);
          ctx.system.reply(message.replyTo, { ok: true, buckets: message.owner === undefined ? all : all.filter((bucket) => bucket.owner === message.owner) });
          return state;
        }
        case 'get_snapshot':
          ctx.system.reply(message.replyTo, { ok: true, snapshot: snapshotOf(state) });
          return state;
        case 'create_user':
          ctx.system.reply(message.replyTo, await createUser(state, message, ctx));
          return state;
        case 'delete_user':
          ctx.system.reply(message.replyTo, await deleteUser(state, message.userId, ctx));
          return state;
        case 'update_user_role':
          ctx.system.reply(message.replyTo, await updateUserRole(state, message.userId, message.role, ctx));
          return state;
        case 'get_users':
          ctx.system.reply(message.replyTo, { ok: true, users: [...state.users.values()].sort(byUserId).map(viewOfUser) });
          return state;
        case 'add_access_key':
          ctx.system.reply(message.replyTo, await addAccessKey(state, message.userId, ctx));
          return state;
        case 'delete_access_key':
          ctx.system.reply(message.replyTo, await deleteAccessKey(state, message.userId, message.accessKeyId, ctx));
          return state;
        case 'get_access_keys': {
          const user = state.users.get(message.userId);
          ctx.system.reply(
            message.replyTo,
            user ? { ok: true, userId: user.userId, keys: accessKeysOf(user).map(({ accessKeyId, createdAtMs }) => ({ accessKeyId, createdAtMs })) } : noSuchUser(message.userId),
          );
          return state;
        }
        case 'user_by_key': {
          const user = findByAccessKey(state, message.accessKeyId)?.user;
          ctx.system.reply(message.replyTo, user ? { ok: true, user: viewOfUser(user) } : { ok: false, code: 'NoSuchUser', message: `no user has the access key ${message.accessKeyId}` });
          return state;
        }
        case 'check_secret': {
          const found = findByAccessKey(state, message.accessKeyId);
          // An unknown key is compared against a stand-in, so both refusals take the same time.
          const matches = secretsEqual(found?.key.secretAccessKey ?? UNKNOWN_KEY_SECRET, message.secretAccessKey) && found !== undefined;
          ctx.system.reply(message.replyTo, matches ? { ok: true, user: viewOfUser(found.user) } : { ok: false, code: 'InvalidCredentials', message: 'the access key id or the secret access key is wrong' });
          return state;
        }
        case 'chown_bucket':
          ctx.system.reply(message.replyTo, await chownBucket(state, message.name, message.owner, ctx));
          return state;
        case 'add_endpoint':
          ctx.system.reply(message.replyTo, await addEndpoint(state, message.host, ctx));
          return state;
        case 'delete_endpoint':
          ctx.system.reply(message.replyTo, await deleteEndpoint(state, message.host, ctx));
          return state;
        case 'get_endpoints':
          ctx.system.reply(message.replyTo, { ok: true, endpoints: endpointList(state) });
          return state;
        case 'gateway_joined':
          ctx.system.dispatch(authCacheRef(message.node), { type: 'auth_snapshot', snapshot: snapshotOf(state) });
          return state;
        default:
          return assertNever(message);
      }
    },
  };

  // ---- buckets ----

  async function createBucket(state: AuthState, message: Extract<AuthMessage, { type: 'create_bucket' }>, ctx: ActorContext<AuthMessage>): Promise<CreateBucketReply> {
    const name = String(message.name);
    const owner = String(message.owner);
    if (!isValidBucketName(name)) return { ok: false, code: 'InvalidBucketName', message: `${JSON.stringify(name)} is not a valid bucket name` };
    const existing = state.buckets.get(name);
    if (existing) {
      return existing.owner === owner
        ? { ok: false, code: 'BucketAlreadyOwnedByYou', message: `you already own the bucket ${name}` }
        : { ok: false, code: 'BucketAlreadyExists', message: `the bucket ${name} belongs to another user` };
    }
    if (!state.users.has(owner)) return { ok: false, code: 'NoSuchUser', message: `no user ${owner}` };
    const acl = message.acl ?? 'private';
    if (!isBucketAcl(acl)) return { ok: false, code: 'InvalidArgument', message: `unknown canned ACL ${JSON.stringify(acl)}` };
    const problem = locationProblem(message.location);
    if (problem) return { ok: false, code: 'InvalidArgument', message: problem };
    const bucket: BucketRecord = {
      name,
      incarnation: Buffer.from(random(INCARNATION_BYTES)).toString('hex'),
      owner,
      acl,
      createdAtMs: ctx.clock.now(),
      ...(message.location ? { location: message.location } : {}),
      ...(message.objectLock === true ? { objectLock: {}, versioning: 'Enabled' as const } : {}),
    };
    await tables.buckets.put(name, bucket);
    state.buckets.set(name, bucket);
    ctx.log.info('bucket created', { bucket: name, incarnation: bucket.incarnation, owner, acl });
    await changed(state, ctx);
    return { ok: true, bucket };
  }

  async function removeBucket(state: AuthState, message: Extract<AuthMessage, { type: 'remove_bucket' }>, ctx: ActorContext<AuthMessage>): Promise<RemoveBucketReply> {
    const bucket = state.buckets.get(String(message.name));
    if (!bucket || namespaceOf(bucket) !== message.namespace) return { ok: true, removed: false };
    await tables.buckets.remove(bucket.name);
    state.buckets.delete(bucket.name);
    ctx.log.info('bucket deleted', { bucket: bucket.name, namespace: message.namespace, owner: bucket.owner });
    await changed(state, ctx);
    return { ok: true, removed: true };
  }

  /**
   * A change the bucket's owner asks for: `change` checks it against the bucket and gives the bucket as
   * it is to be, or the refusal. `what` names the setting in the refusal to anyone else.
   */
  async function changeOwnedBucket(
    state: AuthState,
    message: { readonly name: string; readonly requester: string },
    what: string,
    change: (bucket: BucketRecord) => BucketRecord | Exclude<UpdateAclReply, { ok: true }>,
    ctx: ActorContext<AuthMessage>,
  ): Promise<UpdateAclReply> {
    const name = String(message.name);
    const bucket = state.buckets.get(name);
    if (!bucket) return noSuchBucket(name);
    if (bucket.owner !== message.requester) return { ok: false, code: 'AccessDenied', message: `only the owner of ${name} may change its ${what}` };
    const changedBucket = change(bucket);
    if ('ok' in changedBucket) return changedBucket;
    if (JSON.stringify(changedBucket) === JSON.stringify(bucket)) return { ok: true, bucket };
    return { ok: true, bucket: await replaceBucket(state, changedBucket, ctx) };
  }

  function updateAcl(state: AuthState, message: Extract<AuthMessage, { type: 'update_acl' }>, ctx: ActorContext<AuthMessage>): Promise<UpdateAclReply> {
    return changeOwnedBucket(state, message, 'ACL', ({ grants: _explicit, ...bucket }) => {
      if (!isBucketAcl(message.acl)) return invalid(`unknown canned ACL ${JSON.stringify(message.acl)}; use one of private, public-read, public-read-write, authenticated-read`);
      return { ...bucket, acl: message.acl };
    }, ctx);
  }

  function updateVersioning(state: AuthState, message: Extract<AuthMessage, { type: 'update_versioning' }>, ctx: ActorContext<AuthMessage>): Promise<UpdateAclReply> {
    return changeOwnedBucket(state, message, 'versioning', (bucket) => {
      if (!isBucketVersioning(message.status)) return invalid(`versioning is Enabled or Suspended (got ${JSON.stringify(message.status)})`);
      if (bucket.objectLock !== undefined && message.status !== 'Enabled') return { ok: false, code: 'InvalidBucketState', message: `${bucket.name} has object lock enabled, which needs versioning` };
      return { ...bucket, versioning: message.status };
    }, ctx);
  }

  function updateObjectLock(state: AuthState, message: Extract<AuthMessage, { type: 'update_object_lock' }>, ctx: ActorContext<AuthMessage>): Promise<UpdateAclReply> {
    return changeOwnedBucket(state, message, 'object lock', (bucket) => {
      if (!isObjectLockConfig(message.config)) return invalid('not a valid object lock configuration');
      if (bucket.versioning !== 'Enabled') return { ok: false, code: 'InvalidBucketState', message: `${bucket.name} must have versioning enabled before object lock` };
      return { ...bucket, objectLock: message.config };
    }, ctx);
  }

  function updateLifecycle(state: AuthState, message: Extract<AuthMessage, { type: 'update_lifecycle' }>, ctx: ActorContext<AuthMessage>): Promise<UpdateAclReply> {
    return changeOwnedBucket(state, message, 'lifecycle', ({ lifecycle: _old, ...bucket }) => {
      if (message.config === null) return bucket;
      return isLifecycleConfig(message.config) ? { ...bucket, lifecycle: message.config } : invalid('not a valid lifecycle configuration');
    }, ctx);
  }

  function updateBucketDocument(state: AuthState, message: Extract<AuthMessage, { type: 'update_bucket_document' }>, ctx: ActorContext<AuthMessage>): Promise<UpdateAclReply> {
    const { document } = message;
    switch (document.kind) {
      case 'policy':
        return changeOwnedBucket(state, message, 'policy', ({ policy: _old, ...bucket }) => {
          if (document.value === null) return bucket;
          return isBucketPolicy(document.value) ? { ...bucket, policy: document.value } : invalid('not a valid bucket policy');
        }, ctx);
      case 'cors':
        return changeOwnedBucket(state, message, 'CORS rules', ({ cors: _old, ...bucket }) => {
          if (document.value === null) return bucket;
          return isCorsConfig(document.value) ? { ...bucket, cors: document.value } : invalid('not a valid CORS configuration');
        }, ctx);
      case 'objectOwnership':
        return changeOwnedBucket(state, message, 'object ownership', ({ objectOwnership: _old, ...bucket }) => {
          if (document.value === null) return bucket;
          if (!isObjectOwnership(document.value)) return invalid('object ownership is BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter');
          return { ...bucket, objectOwnership: document.value };
        }, ctx);
      case 'grants':
        return changeOwnedBucket(state, message, 'ACL', (bucket) => (isAclGrants(document.value) ? { ...bucket, grants: document.value } : invalid('not a valid list of grants')), ctx);
      case 'defaultEncryption':
        return changeOwnedBucket(state, message, 'default encryption', ({ defaultEncryption: _old, defaultKmsKeyId: _key, ...bucket }) => {
          const wanted = document.value;
          if (wanted === null) return bucket;
          if (wanted.algorithm !== 'AES256' && wanted.algorithm !== 'aws:kms') return invalid('the default encryption is AES256 or aws:kms');
          if (wanted.kmsKeyId !== undefined && (wanted.algorithm !== 'aws:kms' || typeof wanted.kmsKeyId !== 'string')) return invalid('a KMS key id goes with aws:kms only');
          return { ...bucket, defaultEncryption: wanted.algorithm, ...(wanted.kmsKeyId === undefined ? {} : { defaultKmsKeyId: wanted.kmsKeyId }) };
        }, ctx);
      case 'publicAccessBlock':
        return changeOwnedBucket(state, message, 'public access block', ({ publicAccessBlock: _old, ...bucket }) => {
          if (document.value === null) return bucket;
          return isPublicAccessBlock(document.value) ? { ...bucket, publicAccessBlock: document.value } : invalid('not a valid public access block');
        }, ctx);
      default:
        return Promise.resolve(invalid(`unknown bucket document ${JSON.stringify((document as { kind?: unknown }).kind)}`));
    }
  }

  function updateBucketTags(state: AuthState, message: Extract<AuthMessage, { type: 'update_bucket_tags' }>, ctx: ActorContext<AuthMessage>): Promise<UpdateAclReply> {
    return changeOwnedBucket(state, message, 'tags', ({ tags: _old, ...bucket }) => {
      if (!isTags(message.tags, MAX_BUCKET_TAGS)) return invalid(`not a valid set of bucket tags (at most ${MAX_BUCKET_TAGS})`);
      return Object.keys(message.tags).length === 0 ? bucket : { ...bucket, tags: message.tags };
    }, ctx);
  }

  async function chownBucket(state: AuthState, name: string, owner: string, ctx: ActorContext<AuthMessage>): Promise<ChownBucketReply> {
    const bucket = state.buckets.get(name);
    if (!bucket) return noSuchBucket(name);
    if (!state.users.has(owner)) return { ok: false, code: 'NoSuchUser', message: `no user ${owner}` };
    return { ok: true, bucket: await replaceBucket(state, { ...bucket, owner }, ctx) };
  }

  async function replaceBucket(state: AuthState, bucket: BucketRecord, ctx: ActorContext<AuthMessage>): Promise<BucketRecord> {
    await tables.buckets.put(bucket.name, bucket);
    state.buckets.set(bucket.name, bucket);
    ctx.log.info('bucket changed', {
      bucket: bucket.name, owner: bucket.owner, acl: bucket.acl, versioning: bucket.versioning ?? 'never enabled',
      objectLock: bucket.objectLock !== undefined, policy: bucket.policy !== undefined, corsRules: bucket.cors?.rules.length ?? 0, lifecycleRules: bucket.lifecycle?.rules.length ?? 0, tags: Object.keys(bucket.tags ?? {}).length,
    });
    await changed(state, ctx);
    return bucket;
  }

  // ---- users ----

  async function createUser(state: AuthState, message: Extract<AuthMessage, { type: 'create_user' }>, ctx: ActorContext<AuthMessage>): Promise<CreateUserReply> {
    const invalid = (text: string): CreateUserReply => ({ ok: false, code: 'InvalidArgument', message: text });
    const userId = message.userId;
    const idProblem = userIdProblem(userId);
    if (idProblem) return invalid(idProblem);
    const role = message.role ?? 'normal';
    if (!isUserRole(role)) return invalid(`role must be admin or normal (got ${JSON.stringify(role)})`);
    if (state.users.has(userId)) return { ok: false, code: 'UserAlreadyExists', message: `the user ${userId} already exists` };
    const imported = message.accessKeyId !== undefined || message.secretAccessKey !== undefined;
    let keys: { accessKeyId: string; secretAccessKey: string };
    if (imported) {
      if (message.accessKeyId === undefined || message.secretAccessKey === undefined) return invalid('give both the access key id and the secret access key, or neither');
      const keyProblem = accessKeyProblem(message.accessKeyId) ?? secretProblem(message.secretAccessKey);
      if (keyProblem) return invalid(keyProblem);
      if (findByAccessKey(state, message.accessKeyId)) return { ok: false, code: 'AccessKeyInUse', message: `the access key ${message.accessKeyId} belongs to another user` };
      keys = { accessKeyId: message.accessKeyId, secretAccessKey: message.secretAccessKey };
    } else {
      keys = newKeys(state);
    }
    const nameProblem = displayNameProblem(message.displayName);
    if (nameProblem) return invalid(nameProblem);
    const user: UserRecord = { userId, ...keys, role, createdAtMs: ctx.clock.now(), ...(message.displayName === undefined ? {} : { displayName: message.displayName }) };
    await tables.users.put(userId, user);
    state.users.set(userId, user);
    ctx.log.info(imported ? 'user imported' : 'user created', { userId, accessKeyId: user.accessKeyId, role });
    await changed(state, ctx);
    return { ok: true, user };
  }

  async function deleteUser(state: AuthState, userId: string, ctx: ActorContext<AuthMessage>): Promise<DeleteUserReply> {
    const user = state.users.get(userId);
    if (!user) return { ok: false, code: 'NoSuchUser', message: `no user ${userId}` };
    const owned = [...state.buckets.values()].filter((bucket) => bucket.owner === userId).map((bucket) => bucket.name).sort();
    if (owned.length > 0) {
      return { ok: false, code: 'UserOwnsBuckets', message: `${userId} still owns ${owned.join(', ')}; delete those buckets or give them to another user first` };
    }
    if (user.role === 'admin' && adminCount(state) === 1) return { ok: false, code: 'LastAdmin', message: `${userId} is the last admin user` };
    await tables.users.remove(userId);
    state.users.delete(userId);
    ctx.log.info('user deleted', { userId });
    await changed(state, ctx);
    return { ok: true };
  }

  async function updateUserRole(state: AuthState, userId: string, role: UserRole, ctx: ActorContext<AuthMessage>): Promise<UpdateUserRoleReply> {
    const user = state.users.get(userId);
    if (!user) return { ok: false, code: 'NoSuchUser', message: `no user ${userId}` };
    if (!isUserRole(role)) return { ok: false, code: 'InvalidArgument', message: `role must be admin or normal (got ${JSON.stringify(role)})` };
    if (user.role === 'admin' && role !== 'admin' && adminCount(state) === 1) return { ok: false, code: 'LastAdmin', message: `${userId} is the last admin user` };
    if (user.role !== role) {
      const next: UserRecord = { ...user, role };
      await tables.users.put(userId, next);
      state.users.set(userId, next);
      ctx.log.info('user role changed', { userId, role });
      await changed(state, ctx);
    }
    return { ok: true, user: viewOfUser(state.users.get(userId)!) };
  }

  async function addAccessKey(state: AuthState, userId: string, ctx: ActorContext<AuthMessage>): Promise<AddAccessKeyReply> {
    const user = state.users.get(userId);
    if (!user) return noSuchUser(userId);
    const keys = accessKeysOf(user);
    if (keys.length >= MAX_ACCESS_KEYS) {
      return { ok: false, code: 'TooManyAccessKeys', message: `${userId} already holds ${keys.length} access keys, the most a user may; delete one of them first` };
    }
    const key = { ...newKeys(state), createdAtMs: ctx.clock.now() };
    await replaceUser(state, withAccessKeys(user, [...keys, key]));
    ctx.log.info('access key added', { userId, accessKeyId: key.accessKeyId });
    await changed(state, ctx);
    return { ok: true, userId, key };
  }

  async function deleteAccessKey(state: AuthState, userId: string, accessKeyId: string, ctx: ActorContext<AuthMessage>): Promise<DeleteAccessKeyReply> {
    const user = state.users.get(userId);
    if (!user) return noSuchUser(userId);
    const keys = accessKeysOf(user);
    if (!keys.some((key) => key.accessKeyId === accessKeyId)) return { ok: false, code: 'NoSuchAccessKey', message: `${userId} holds no access key ${accessKeyId}` };
    if (keys.length === 1) return { ok: false, code: 'LastAccessKey', message: `${accessKeyId} is the last access key of ${userId}; add another first, or delete the user` };
    await replaceUser(state, withAccessKeys(user, keys.filter((key) => key.accessKeyId !== accessKeyId)));
    ctx.log.info('access key deleted', { userId, accessKeyId });
    await changed(state, ctx);
    return { ok: true };
  }

  async function replaceUser(state: AuthState, user: UserRecord): Promise<void> {
    await tables.users.put(user.userId, user);
    state.users.set(user.userId, user);
  }

  function newKeys(state: AuthState): { accessKeyId: string; secretAccessKey: string } {
    for (;;) {
      const accessKeyId = randomAccessKey(random);
      if (!findByAccessKey(state, accessKeyId)) return { accessKeyId, secretAccessKey: Buffer.from(random(SECRET_BYTES)).toString('base64') };
    }
  }

  // ---- endpoints ----

  async function addEndpoint(state: AuthState, host: string, ctx: ActorContext<AuthMessage>): Promise<EndpointReply> {
    const normalized = normalizeEndpoint(String(host));
    const problem = endpointProblem(normalized);
    if (problem) return { ok: false, code: 'InvalidArgument', message: problem };
    if (!state.endpoints.has(normalized)) {
      const endpoint: EndpointRecord = { host: normalized, createdAtMs: ctx.clock.now() };
      await tables.endpoints.put(normalized, endpoint);
      state.endpoints.set(normalized, endpoint);
      ctx.log.info('endpoint added', { host: normalized });
      await changed(state, ctx);
    }
    return { ok: true, endpoints: endpointList(state) };
  }

  async function deleteEndpoint(state: AuthState, host: string, ctx: ActorContext<AuthMessage>): Promise<EndpointReply> {
    const normalized = normalizeEndpoint(String(host));
    if (!state.endpoints.has(normalized)) return { ok: false, code: 'NoSuchEndpoint', message: `no endpoint ${normalized}` };
    await tables.endpoints.remove(normalized);
    state.endpoints.delete(normalized);
    ctx.log.info('endpoint deleted', { host: normalized });
    await changed(state, ctx);
    return { ok: true, endpoints: endpointList(state) };
  }

  // ---- distribution ----

  async function changed(state: AuthState, ctx: ActorContext<AuthMessage>): Promise<void> {
    state.meta = { ...state.meta, revision: state.meta.revision + 1 };
    await tables.meta.put(META_KEY, state.meta);
    pushToGateways(state, ctx);
  }

  function pushToGateways(state: AuthState, ctx: ActorContext<AuthMessage>): void {
    const snapshot = snapshotOf(state);
    void deps.gatewayNodes().then(
      (nodes) => {
        for (const node of nodes) ctx.system.dispatch(authCacheRef(node), { type: 'auth_snapshot', snapshot });
      },
      (error: unknown) => ctx.log.warn('cannot list gateways to push users and buckets to', { error }),
    );
  }
}

function snapshotOf(state: AuthState): AuthSnapshot {
  return {
    version: AUTH_SNAPSHOT_VERSION,
    origin: state.meta.origin,
    revision: state.meta.revision,
    users: [...state.users.values()].sort(byUserId),
    buckets: [...state.buckets.values()].sort(byName),
    endpoints: endpointList(state).map((endpoint) => endpoint.host),
  };
}

function endpointList(state: AuthState): EndpointRecord[] {
  return [...state.endpoints.values()].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}

/** What an unknown access key's secret is compared with: no user's secret can be empty. */
const UNKNOWN_KEY_SECRET = '';

/** The user holding the key (as any of its keys), and the key. */
function findByAccessKey(state: AuthState, accessKeyId: string): { readonly user: UserRecord; readonly key: AccessKeyRecord } | undefined {
  for (const user of state.users.values()) {
    const key = accessKeysOf(user).find((candidate) => candidate.accessKeyId === accessKeyId);
    if (key) return { user, key };
  }
  return undefined;
}

function noSuchUser(userId: string): AuthError<'NoSuchUser'> {
  return { ok: false, code: 'NoSuchUser', message: `no user ${userId}` };
}

function adminCount(state: AuthState): number {
  return [...state.users.values()].filter((user) => user.role === 'admin').length;
}

function viewOfUser(user: UserRecord): UserView {
  return { userId: user.userId, accessKeyId: user.accessKeyId, role: user.role, createdAtMs: user.createdAtMs };
}

function invalid(message: string): Exclude<UpdateAclReply, { ok: true }> {
  return { ok: false, code: 'InvalidArgument', message };
}

function noSuchBucket(name: string): AuthError<'NoSuchBucket'> {
  return { ok: false, code: 'NoSuchBucket', message: `no bucket ${name}` };
}

/** Uniform over the alphabet: bytes that would bias the modulo are drawn again. */
export function randomAccessKey(random: (size: number) => Uint8Array): string {
  const limit = 256 - (256 % ACCESS_KEY_ALPHABET.length);
  let key = '';
  while (key.length < ACCESS_KEY_LENGTH) {
    for (const byte of random(ACCESS_KEY_LENGTH)) {
      if (byte < limit && key.length < ACCESS_KEY_LENGTH) key += ACCESS_KEY_ALPHABET[byte % ACCESS_KEY_ALPHABET.length];
    }
  }
  return key;
}

function byName(a: BucketRecord, b: BucketRecord): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function byUserId(a: UserRecord, b: UserRecord): number {
  return a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0;
}
