/**
 * Where a bucket's data lives. Every bucket record carries an incarnation id fixed when it is created,
 * and every key the storage nodes keep for the bucket (objects, chunks, uploads, parts, their ring
 * positions and listing ranges) is scoped by the namespace `<name>~<incarnation>`. Deleting a bucket
 * ends its incarnation: nothing addresses the old namespace again, so a bucket created later under the
 * same name starts empty at once, whatever is left of the old one while it is being removed, and a
 * write that races the deletion lands in the dead namespace, which storage nodes refuse and purge.
 *
 * Buckets created before incarnations existed have none; their namespace is their bare name, so their
 * data stays where it is. Bucket names never contain `~`, so the two forms never collide.
 */

export const NAMESPACE_SEPARATOR = '~';

/** Lowercase hex, long enough that no name ever sees the same incarnation twice. */
const INCARNATION = /^[0-9a-f]{12,32}$/;

export interface BucketIdentity {
  readonly name: string;
  /** Absent on buckets created before incarnations existed. */
  readonly incarnation?: string;
}

/** The storage namespace of a bucket's current incarnation. */
export function namespaceOf(bucket: BucketIdentity): string {
  return bucket.incarnation === undefined ? bucket.name : `${bucket.name}${NAMESPACE_SEPARATOR}${bucket.incarnation}`;
}

export function isIncarnation(value: unknown): value is string {
  return typeof value === 'string' && INCARNATION.test(value);
}

/** The bucket name a namespace belongs to (for logs and statistics). */
export function bucketNameOf(namespace: string): string {
  const cut = namespace.indexOf(NAMESPACE_SEPARATOR);
  return cut < 0 ? namespace : namespace.slice(0, cut);
}

/** Storage namespaces travel in messages: a name, optionally with an incarnation, and never a NUL. */
export function isNamespace(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 128 && !value.includes('\u0000');
}
