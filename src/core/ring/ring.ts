/**
 * The consistent-hash ring (after LeoFS's leo_redundant_manager_chash): pure and immutable, so the
 * process that caches it and the maths stay apart. Every process builds the same ring and the same
 * checksum from the same membership, whatever order the members arrive in.
 */
import { crc32 } from '../checksums/crc32.js';
import { compareKeys } from '../key-order.js';
import { vnodePosition, type RingPosition } from './position.js';

export const DEFAULT_NUM_OF_VNODES = 168;
/** Bounds the ring's size (and so the cost of building it and of planning a rebalance). */
export const MAX_NUM_OF_VNODES = 4096;

export interface RingMember {
  /** Erlang-style node name, e.g. `storage_0@127.0.0.1`. */
  readonly node: string;
  /** Names the vnode points; a replacement node that takes over an alias takes over exactly its ranges. */
  readonly alias: string;
  /** Weight: how many points this node has on the ring. */
  readonly numOfVnodes: number;
  readonly rack?: string;
}

export interface RingOptions {
  /**
   * Spread replicas over distinct racks before distinct nodes. On by default; it changes nothing while
   * no member names a rack (members without a rack share one unnamed rack).
   */
  readonly rackAware?: boolean;
}

export interface VnodePoint {
  readonly position: RingPosition;
  readonly node: string;
  readonly vnodeIndex: number;
}

export interface Ring {
  /** Sorted by node name. */
  readonly members: readonly RingMember[];
  readonly rackAware: boolean;
  /** CRC32 of the canonical encoding of members and options; equal rings have equal checksums. */
  readonly checksum: number;
  /** Sorted by position; positions are distinct. */
  readonly points: readonly VnodePoint[];
  /** Lookup tables for the per-request walk: `points[i].position`, the owner's index in `members`, its rack. */
  readonly positions: readonly RingPosition[];
  readonly pointOwners: readonly number[];
  readonly memberRacks: readonly number[];
  readonly rackCount: number;
}

/** Problems that make a membership unusable for a ring; empty when it is fine. */
export function validateMembers(members: readonly RingMember[]): string[] {
  const problems: string[] = [];
  const nodes = new Set<string>();
  const aliases = new Set<string>();
  for (const m of members) {
    if (m.node.length === 0) problems.push('a member has an empty node name');
    else if (nodes.has(m.node)) problems.push(`node ${m.node} is listed twice`);
    nodes.add(m.node);
    if (m.alias.length === 0) problems.push(`node ${m.node} has an empty alias`);
    else if (aliases.has(m.alias)) problems.push(`alias ${m.alias} is used by two nodes (node ${m.node})`);
    aliases.add(m.alias);
    if (!Number.isInteger(m.numOfVnodes) || m.numOfVnodes < 1 || m.numOfVnodes > MAX_NUM_OF_VNODES) {
      problems.push(`node ${m.node} has numOfVnodes ${m.numOfVnodes}; expected an integer from 1 to ${MAX_NUM_OF_VNODES}`);
    }
  }
  return problems;
}

/** Throws a RangeError naming every problem `validateMembers` finds; an empty membership gives an empty ring. */
export function buildRing(members: readonly RingMember[], options: RingOptions = {}): Ring {
  const problems = validateMembers(members);
  if (problems.length > 0) throw new RangeError(`invalid ring membership: ${problems.join('; ')}`);
  const rackAware = options.rackAware ?? true;
  const sorted = members.map(copyMember).sort((a, b) => compareKeys(a.node, b.node));

  const rackIds = new Map<string, number>();
  const memberRacks = sorted.map((m) => {
    const rack = rackAware ? (m.rack ?? '') : '';
    let id = rackIds.get(rack);
    if (id === undefined) {
      id = rackIds.size;
      rackIds.set(rack, id);
    }
    return id;
  });

  const raw: { position: RingPosition; owner: number; vnodeIndex: number }[] = [];
  sorted.forEach((m, owner) => {
    for (let i = 0; i < m.numOfVnodes; i++) raw.push({ position: vnodePosition(m.alias, i), owner, vnodeIndex: i });
  });
  raw.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : a.owner - b.owner));
  // Two MD5s of distinct aliases colliding is not expected, but if it happens every process keeps the same point.
  const unique = raw.filter((p, i) => i === 0 || raw[i - 1]!.position !== p.position);

  const points = unique.map((p) => Object.freeze({ position: p.position, node: sorted[p.owner]!.node, vnodeIndex: p.vnodeIndex }));
  return Object.freeze({
    members: Object.freeze(sorted),
    rackAware,
    checksum: ringChecksum(sorted, { rackAware }),
    points: Object.freeze(points),
    positions: Object.freeze(unique.map((p) => p.position)),
    pointOwners: Object.freeze(unique.map((p) => p.owner)),
    memberRacks: Object.freeze(memberRacks),
    rackCount: Math.max(rackIds.size, 1),
  });
}

function copyMember(m: RingMember): RingMember {
  const copy = { node: m.node, alias: m.alias, numOfVnodes: m.numOfVnodes };
  return Object.freeze(m.rack === undefined ? copy : { ...copy, rack: m.rack });
}

/**
 * The canonical encoding: a version tag, the options, then members sorted by node, each field
 * length-prefixed so no two memberships encode alike.
 */
export function encodeRingDefinition(members: readonly RingMember[], options: RingOptions = {}): Uint8Array {
  const sorted = [...members].sort((a, b) => compareKeys(a.node, b.node));
  const parts: Uint8Array[] = [];
  const text = (s: string): void => {
    const bytes = Buffer.from(s, 'utf8');
    parts.push(u32(bytes.length), bytes);
  };
  text('leofs-ring/1');
  parts.push(Uint8Array.of((options.rackAware ?? true) ? 1 : 0), u32(sorted.length));
  for (const m of sorted) {
    text(m.node);
    text(m.alias);
    parts.push(u32(m.numOfVnodes));
    if (m.rack === undefined) parts.push(Uint8Array.of(0));
    else {
      parts.push(Uint8Array.of(1));
      text(m.rack);
    }
  }
  return Buffer.concat(parts);
}

function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value >>> 0);
  return bytes;
}

export function ringChecksum(members: readonly RingMember[], options: RingOptions = {}): number {
  return crc32(encodeRingDefinition(members, options));
}

/** Index of the first point at or after `position`, wrapping to 0: the point that ends its range. */
export function pointIndexAt(ring: Ring, position: RingPosition): number {
  const { positions } = ring;
  let low = 0;
  let high = positions.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (positions[mid]! < position) low = mid + 1;
    else high = mid;
  }
  return low === positions.length ? 0 : low;
}

/**
 * The replicas of a position, primary first: the first `n` distinct nodes clockwise. With racks, the
 * first node of each not yet used rack comes first; when racks run out, the remaining slots go to
 * the next distinct nodes clockwise. Fewer than `n` nodes when the ring has fewer members.
 */
export function preferenceList(ring: Ring, position: RingPosition, n: number): readonly string[] {
  if (ring.positions.length === 0) return [];
  return walkFrom(ring, pointIndexAt(ring, position), n).map((owner) => ring.members[owner]!.node);
}

/** Member indices of the `n` replicas for the range that ends at point `startPoint`. */
export function walkFrom(ring: Ring, startPoint: number, n: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`number of replicas must be a positive integer, got ${n}`);
  const picked: number[] = [];
  const total = ring.pointOwners.length;
  const want = Math.min(n, ring.members.length);
  if (total === 0) return picked;
  const taken = new Uint8Array(ring.members.length);
  const rackGoal = Math.min(want, ring.rackCount);
  if (rackGoal > 1) {
    const rackTaken = new Uint8Array(ring.rackCount);
    for (let step = 0; step < total && picked.length < rackGoal; step++) {
      const owner = ring.pointOwners[(startPoint + step) % total]!;
      const rack = ring.memberRacks[owner]!;
      if (rackTaken[rack] === 0) {
        rackTaken[rack] = 1;
        taken[owner] = 1;
        picked.push(owner);
      }
    }
  }
  for (let step = 0; step < total && picked.length < want; step++) {
    const owner = ring.pointOwners[(startPoint + step) % total]!;
    if (taken[owner] === 0) {
      taken[owner] = 1;
      picked.push(owner);
    }
  }
  return picked;
}

/**
 * Where to read while a rebalance runs: the current replicas first, then those of the previous ring
 * that the current one does not list, since data may not have moved yet.
 */
export function readPreferenceList(
  current: Ring,
  previous: Ring | undefined,
  position: RingPosition,
  n: number,
): readonly string[] {
  const now = preferenceList(current, position, n);
  if (previous === undefined || previous === current) return now;
  const merged = [...now];
  for (const node of preferenceList(previous, position, n)) if (!merged.includes(node)) merged.push(node);
  return merged;
}
