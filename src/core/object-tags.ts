/**
 * Tags of objects and buckets: S3's key-value labels, which lifecycle rules and people filter by. The
 * limits are AWS's: 10 tags per object version, 50 per bucket, keys of 1 to 128 characters and values of
 * up to 256, each key once.
 */

export type Tags = Readonly<Record<string, string>>;

export const MAX_OBJECT_TAGS = 10;
export const MAX_BUCKET_TAGS = 50;
const MAX_KEY_CHARS = 128;
const MAX_VALUE_CHARS = 256;

/** Why `pairs` are not a valid tag set (undefined when they are); pairs rather than a record, so a key given twice shows. */
export function tagSetProblem(pairs: ReadonlyArray<readonly [string, string]>, maxTags: number): string | undefined {
  if (pairs.length > maxTags) return `at most ${maxTags} tags are allowed, got ${pairs.length}`;
  const seen = new Set<string>();
  for (const [key, value] of pairs) {
    const keyChars = [...key].length;
    if (keyChars === 0 || keyChars > MAX_KEY_CHARS) return `a tag key must be 1 to ${MAX_KEY_CHARS} characters long`;
    if ([...value].length > MAX_VALUE_CHARS) return `a tag value must be at most ${MAX_VALUE_CHARS} characters long`;
    if (key.toLowerCase().startsWith('aws:')) return 'tag keys starting with aws: are reserved';
    if (seen.has(key)) return `the tag key ${JSON.stringify(key)} is given twice`;
    seen.add(key);
  }
  return undefined;
}

/** Checks tags that came from the wire or the disk. */
export function isTags(value: unknown, maxTags: number): value is Tags {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entries = Object.entries(value as Record<string, unknown>);
  return entries.every(([, tag]) => typeof tag === 'string') && tagSetProblem(entries as Array<[string, string]>, maxTags) === undefined;
}

/** Tags in a stable order (by key), for documents and comparisons. */
export function sortedTags(tags: Tags | undefined): Array<readonly [string, string]> {
  return Object.entries(tags ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
