/**
 * How users' secret access keys are kept at rest: the manager's users table and a gateway's copy of
 * the auth snapshot store each user with `sealedSecret` (see secret-box.ts) in place of
 * `secretAccessKey`. Records written by releases that kept the secret in plain text still read; they
 * count as outdated, so NodeState.upgrade seals them at start.
 */
import type { AccessKeyRecord, AuthSnapshot, UserRecord } from '../core/auth-snapshot.js';
import type { RecordCodec } from './node-state.js';
import type { SecretBox } from './secret-box.js';

type SealedKey = Omit<AccessKeyRecord, 'secretAccessKey'> & { readonly sealedSecret: Uint8Array };
type SealedUser = Omit<UserRecord, 'secretAccessKey' | 'otherKeys'> & { readonly sealedSecret: Uint8Array; readonly otherKeys?: readonly SealedKey[] };

function isSealed(stored: unknown): stored is { readonly sealedSecret: Uint8Array } {
  return typeof stored === 'object' && stored !== null && (stored as { sealedSecret?: unknown }).sealedSecret instanceof Uint8Array;
}

/** Sealed, its other keys' secrets included (a user's second key is as secret as its first). */
function isSealedUser(stored: unknown): stored is SealedUser {
  if (!isSealed(stored)) return false;
  const others = (stored as { otherKeys?: unknown }).otherKeys;
  return others === undefined || (Array.isArray(others) && others.every(isSealed));
}

function sealKey(box: SecretBox, key: AccessKeyRecord): SealedKey {
  const { secretAccessKey, ...rest } = key;
  return { ...rest, sealedSecret: box.seal(secretAccessKey, key.accessKeyId) };
}

function sealUser(box: SecretBox, user: UserRecord): SealedUser {
  const { secretAccessKey, otherKeys, ...rest } = user;
  return { ...rest, sealedSecret: box.seal(secretAccessKey, user.accessKeyId), ...(otherKeys === undefined ? {} : { otherKeys: otherKeys.map((key) => sealKey(box, key)) }) };
}

/** A stored key or user as used: its sealed secrets opened; what is not sealed is left for the validator to judge. */
function openKey(box: SecretBox, stored: unknown): unknown {
  if (!isSealed(stored)) return stored;
  const { sealedSecret, ...rest } = stored as SealedKey;
  return { ...rest, secretAccessKey: box.open(sealedSecret, String(rest.accessKeyId)) };
}

function openUser(box: SecretBox, stored: unknown): unknown {
  const opened = openKey(box, stored);
  const others = (opened as { otherKeys?: unknown } | null)?.otherKeys;
  return Array.isArray(others) ? { ...(opened as object), otherKeys: others.map((key) => openKey(box, key)) } : opened;
}

export function sealedUserCodec(box: SecretBox): RecordCodec<UserRecord> {
  return {
    encode: (user) => sealUser(box, user),
    decode: (stored) => openUser(box, stored),
    isOutdated: (stored) => !isSealedUser(stored),
  };
}

function usersOf(stored: unknown): unknown[] | undefined {
  if (typeof stored !== 'object' || stored === null) return undefined;
  const users = (stored as { users?: unknown }).users;
  return Array.isArray(users) ? users : undefined;
}

export function sealedSnapshotCodec(box: SecretBox): RecordCodec<AuthSnapshot> {
  return {
    encode: (snapshot) => ({ ...snapshot, users: snapshot.users.map((user) => sealUser(box, user)) }),
    decode: (stored) => {
      const users = usersOf(stored);
      return users === undefined ? stored : { ...(stored as object), users: users.map((user) => openUser(box, user)) };
    },
    isOutdated: (stored) => (usersOf(stored) ?? []).some((user) => !isSealedUser(user)),
  };
}
