/**
 * The manager's records of bucket deletions (see core/bucket-namespace.ts for why a deleted bucket's
 * data cannot reappear). A deletion that must find the bucket empty first keeps an intent while it
 * seals the bucket's namespace on the storage nodes and checks; the moment it decides, the deleted
 * record is written, and from then on the namespace is dead for good. A manager that restarts finds
 * the intents of deletions it did not finish: those with a deleted record are finished, the others
 * are given up and their seals lifted.
 */
import { isNamespace } from './bucket-namespace.js';

export interface DeletedBucketRecord {
  readonly namespace: string;
  readonly name: string;
  readonly owner: string;
  readonly deletedAtMs: number;
  /** Deleted by an administrator with whatever it held, rather than found empty. */
  readonly withContent: boolean;
}

export interface DeletionIntent {
  readonly name: string;
  readonly namespace: string;
  /** Names this attempt's seals, so that lifting them never lifts a later attempt's. */
  readonly sealId: string;
  readonly startedAtMs: number;
}

export function isDeletedBucketRecord(value: unknown): value is DeletedBucketRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    isNamespace(record.namespace) &&
    typeof record.name === 'string' &&
    typeof record.owner === 'string' &&
    Number.isSafeInteger(record.deletedAtMs) &&
    typeof record.withContent === 'boolean'
  );
}

export function isDeletionIntent(value: unknown): value is DeletionIntent {
  if (typeof value !== 'object' || value === null) return false;
  const intent = value as Record<string, unknown>;
  return (
    typeof intent.name === 'string' &&
    isNamespace(intent.namespace) &&
    typeof intent.sealId === 'string' &&
    intent.sealId.length > 0 &&
    Number.isSafeInteger(intent.startedAtMs)
  );
}
