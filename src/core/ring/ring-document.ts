/**
 * What the manager distributes: the cluster's consistency settings and the current and previous
 * membership of the ring. Every node rebuilds the same rings from it (buildRing is deterministic), so
 * the document is small and its checksum is the current ring's.
 */
import type { QuorumSettings } from '../quorum.js';
import { buildRing, type Ring, type RingMember } from './ring.js';

export interface ClusterSettings extends QuorumSettings {
  readonly rackAware: boolean;
}

export interface RingDocument {
  /** Grows with every change; a node never installs an older document than it has. */
  readonly epoch: number;
  readonly settings: ClusterSettings;
  readonly current: readonly RingMember[];
  /** The ring before the last change, while a rebalance may still be moving data; null otherwise. */
  readonly previous: readonly RingMember[] | null;
  /**
   * Ring members suspended by the operator: they stay in the ring (their data stays where it is) but
   * every node counts them as down, so no request is sent to them while others can serve.
   */
  readonly suspended?: readonly string[];
  /** While a rebalance moves data: bytes per second each receiving node may pull (0: no limit). */
  readonly handoffRateBytesPerSec?: number;
  /** While a rebalance moves data: the epoch it began at, which tells it apart from any other. */
  readonly rebalanceEpoch?: number;
}

export interface RingSnapshot {
  readonly doc: RingDocument;
  readonly current: Ring;
  readonly previous: Ring | undefined;
  /** The current ring's checksum. */
  readonly checksum: number;
}

/** Whether `node` is suspended in this document. */
export function isSuspended(doc: RingDocument | undefined, node: string): boolean {
  return doc?.suspended?.includes(node) ?? false;
}

/** Names the rebalance in progress (empty when none): its progress is kept under this name. */
export function rebalanceIdOf(snapshot: RingSnapshot | undefined): string {
  if (!snapshot?.previous) return '';
  return `${snapshot.doc.rebalanceEpoch ?? 0}:${snapshot.previous.checksum.toString(16)}-${snapshot.current.checksum.toString(16)}`;
}

export function snapshotOf(doc: RingDocument): RingSnapshot {
  const options = { rackAware: doc.settings.rackAware };
  const current = buildRing(doc.current, options);
  const previous = doc.previous ? buildRing(doc.previous, options) : undefined;
  return { doc, current, previous, checksum: current.checksum };
}

/** Checks a document received from the wire before it replaces the one in use. */
export function validateRingDocument(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const doc = value as Partial<RingDocument>;
  if (!Number.isSafeInteger(doc.epoch) || (doc.epoch as number) < 1) return 'epoch must be a positive integer';
  const s = doc.settings;
  if (typeof s !== 'object' || s === null) return 'missing settings';
  for (const field of ['n', 'w', 'r', 'd'] as const) {
    if (!Number.isSafeInteger(s[field]) || s[field] < 1) return `settings.${field} must be a positive integer`;
  }
  if (typeof s.rackAware !== 'boolean') return 'settings.rackAware must be a boolean';
  if (!Array.isArray(doc.current) || doc.current.length === 0) return 'current ring has no members';
  if (doc.previous !== null && !Array.isArray(doc.previous)) return 'previous must be a member list or null';
  if (doc.suspended !== undefined && !(Array.isArray(doc.suspended) && doc.suspended.every((node) => typeof node === 'string'))) return 'suspended must be a list of node names';
  if (doc.rebalanceEpoch !== undefined && !Number.isSafeInteger(doc.rebalanceEpoch)) return 'rebalanceEpoch must be an integer';
  const rate = doc.handoffRateBytesPerSec;
  if (rate !== undefined && !(typeof rate === 'number' && Number.isFinite(rate) && rate >= 0)) return 'handoffRateBytesPerSec must be a number of at least 0';
  for (const member of [...doc.current, ...(doc.previous ?? [])]) {
    if (typeof member !== 'object' || member === null) return 'a member is not an object';
    if (typeof member.node !== 'string' || typeof member.alias !== 'string' || !Number.isSafeInteger(member.numOfVnodes)) return 'a member is malformed';
  }
  return undefined;
}
