/**
 * How users' secret access keys are kept at rest: the manager's users table and a gateway's copy of
 * the auth snapshot store each user with `sealedSecret` (see secret-box.ts) in place of
 * `secretAccessKey`. Records written by releases that kept the secret in plain text still read; they
 * count as outdated, so NodeState.upgrade seals them at start.
 */
import type { AuthSnapshot, UserRecord } from '../core/auth-snapshot.js';
import type { RecordCodec } from './node-state.js';
import type { SecretBox } from './secret-box.js';

type SealedUser = Omit<UserRecord, 'secretAccessKey'> & { readonly sealedSecret: Uint8Array };

function isSealedUser(stored: unknown): stored is SealedUser {
  return typeof stored === 'object' && stored !== null && (stored as { sealedSecret?: unknown }).sealedSecret instanceof Uint8Array;
}

function sealUser(box: SecretBox, user: UserRecord): SealedUser {
  const { secretAccessKey, ...rest } = user;
  return { ...rest, sealedSecret: box.seal(secretAccessKey, user.accessKeyId) };
}

/** A stored user as used; one that is not sealed is returned as it is, for the validator to judge. */
function openUser(box: SecretBox, stored: unknown): unknown {
  if (!isSealedUser(stored)) return stored;
  const { sealedSecret, ...rest } = stored;
  return { ...rest, secretAccessKey: box.open(sealedSecret, String(stored.accessKeyId)) };
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
