/**
 * Background workers that act on keys through the cluster (the orphan sweep, lifecycle) judge each key
 * on one node only: the first replica of the key that is not known to be down.
 */
import { preferenceList } from '../../core/ring/ring.js';
import { keyPosition } from '../../core/ring/position.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import type { StorageContext } from './storage-context.js';

export function judgedHere(context: StorageContext, address: ObjectAddress): boolean {
  const snapshot = context.ringView.current;
  if (!snapshot) return false;
  const replicas = preferenceList(snapshot.current, keyPosition(address.bucket, address.key), snapshot.doc.settings.n);
  return replicas.find((node) => !context.isKnownDown(node)) === context.node;
}
