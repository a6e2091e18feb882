/**
 * What a storage node knows about bucket namespaces that no longer take writes (see
 * core/bucket-namespace.ts). Kept in the object store's `namespaces` table, keyed by namespace:
 *
 *   sealed   a bucket deletion is checking that the bucket is empty; writes are refused meanwhile so
 *            that none can slip in between the check and the deletion. Lifted if the bucket is not.
 *   deleted  the bucket's incarnation has ended: writes are refused, reads and listings see nothing,
 *            and the purger removes every key of the namespace in the background.
 */

export type PurgeState = 'pending' | 'purging' | 'finished';

export type NamespaceRecord =
  | { readonly state: 'sealed'; readonly sealId: string; readonly sinceMs: number }
  | {
      readonly state: 'deleted';
      readonly deletedAtMs: number;
      readonly purge: PurgeState;
      /** Records (objects, chunks, uploads, parts) removed so far, bodies with them. */
      readonly removedKeys: number;
      readonly removedBytes: number;
      readonly startedAtMs?: number;
      readonly finishedAtMs?: number;
    };

export type DeletedNamespaceRecord = Extract<NamespaceRecord, { state: 'deleted' }>;

export function isNamespaceRecord(value: unknown): value is NamespaceRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  if (record.state === 'sealed') return typeof record.sealId === 'string' && Number.isFinite(record.sinceMs);
  if (record.state !== 'deleted') return false;
  return (
    Number.isFinite(record.deletedAtMs) &&
    (record.purge === 'pending' || record.purge === 'purging' || record.purge === 'finished') &&
    Number.isSafeInteger(record.removedKeys) &&
    Number.isSafeInteger(record.removedBytes)
  );
}
