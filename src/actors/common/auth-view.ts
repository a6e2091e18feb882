/**
 * Users, keys, buckets and endpoints as this gateway sees them right now, indexed for the lookups
 * every request makes (access key → user, bucket → owner and ACL, Host → endpoint). Only the auth
 * cache actor changes it; request handlers read.
 */
import { accessKeysOf, type AccessKeyRecord, type AuthSnapshot, type BucketRecord, type UserRecord } from '../../core/auth-snapshot.js';

export class AuthView {
  private snapshot: AuthSnapshot | undefined;
  private keys = new Map<string, { readonly user: UserRecord; readonly key: AccessKeyRecord }>();
  private usersById = new Map<string, UserRecord>();
  private bucketsByName = new Map<string, BucketRecord>();
  private readonly listeners = new Set<(snapshot: AuthSnapshot) => void>();

  get current(): AuthSnapshot | undefined {
    return this.snapshot;
  }

  install(snapshot: AuthSnapshot): void {
    this.snapshot = snapshot;
    this.keys = new Map(snapshot.users.flatMap((user) => accessKeysOf(user).map((key) => [key.accessKeyId, { user, key }] as const)));
    this.usersById = new Map(snapshot.users.map((user) => [user.userId, user]));
    this.bucketsByName = new Map(snapshot.buckets.map((bucket) => [bucket.name, bucket]));
    for (const listener of this.listeners) listener(snapshot);
  }

  /** The user holding an access key (any of its keys). */
  userByAccessKey(accessKeyId: string): UserRecord | undefined {
    return this.keys.get(accessKeyId)?.user;
  }

  /** The secret of an access key, which verifies a signature made with it; undefined for a key nobody holds. */
  secretOf(accessKeyId: string): string | undefined {
    return this.keys.get(accessKeyId)?.key.secretAccessKey;
  }

  user(userId: string): UserRecord | undefined {
    return this.usersById.get(userId);
  }

  /** The name S3 shows for a user: its display name, else its id (also for ids no user has now). */
  displayName(userId: string): string {
    return this.usersById.get(userId)?.displayName ?? userId;
  }

  bucket(name: string): BucketRecord | undefined {
    return this.bucketsByName.get(name);
  }

  /** The buckets a user owns, sorted by name (ListBuckets). */
  bucketsOf(owner: string): BucketRecord[] {
    return [...this.bucketsByName.values()].filter((bucket) => bucket.owner === owner).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Host names for virtual-host style addressing (suffixes of `<bucket>.<endpoint>`). */
  endpoints(): readonly string[] {
    return this.snapshot?.endpoints ?? [];
  }

  subscribe(listener: (snapshot: AuthSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
