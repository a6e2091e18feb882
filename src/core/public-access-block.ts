/**
 * A bucket's public access block: four switches an owner sets so that no ACL or policy, by mistake or
 * not, opens the bucket to the public.
 *
 *   blockPublicAcls        a request that sets a public ACL (bucket or object) is refused;
 *   ignorePublicAcls       public ACLs grant nothing;
 *   blockPublicPolicy      a bucket policy that is public is refused;
 *   restrictPublicBuckets  while the policy is public, its Allow statements grant nobody but the owner.
 */
export interface PublicAccessBlock {
  readonly blockPublicAcls: boolean;
  readonly ignorePublicAcls: boolean;
  readonly blockPublicPolicy: boolean;
  readonly restrictPublicBuckets: boolean;
}

const SWITCHES = ['blockPublicAcls', 'ignorePublicAcls', 'blockPublicPolicy', 'restrictPublicBuckets'] as const;

export function isPublicAccessBlock(value: unknown): value is PublicAccessBlock {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return SWITCHES.every((name) => typeof record[name] === 'boolean');
}

/** Canned ACLs that grant all users or all signed-in users: S3 counts both as public. */
export function isPublicAcl(acl: string): boolean {
  return acl === 'public-read' || acl === 'public-read-write' || acl === 'authenticated-read';
}
