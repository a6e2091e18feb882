/**
 * Where a writer on a storage node's machine left a body for it to take (store/staged-bodies.ts):
 * `sizeBytes` bytes in the file at `path`, on the machine `machine` names (store/same-machine.ts).
 */
export interface StagedBodyRef {
  readonly machine: string;
  readonly path: string;
  readonly sizeBytes: number;
}

/** A well-formed StagedBodyRef: a machine, an absolute path, a size. */
export function isStagedBodyRef(value: unknown): value is StagedBodyRef {
  if (typeof value !== 'object' || value === null) return false;
  const { machine, path, sizeBytes } = value as Partial<StagedBodyRef>;
  return typeof machine === 'string' && machine.length > 0 && typeof path === 'string' && path.startsWith('/') && Number.isSafeInteger(sizeBytes) && sizeBytes! > 0;
}
