/**
 * Where a body (or a slice of it) lies in a storage node's file, for a reader on the same machine to
 * read it there itself: `length` bytes from `offset` of the file at `path`, which holds `fileBytes`.
 */
export interface BodyFileRef {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  readonly fileBytes: number;
}

/** A well-formed BodyFileRef: an absolute path, and a slice that lies within the file. */
export function isBodyFileRef(value: unknown): value is BodyFileRef {
  if (typeof value !== 'object' || value === null) return false;
  const { path, offset, length, fileBytes } = value as Partial<BodyFileRef>;
  return (
    typeof path === 'string' &&
    path.startsWith('/') &&
    [offset, length, fileBytes].every((n) => Number.isSafeInteger(n) && n! >= 0) &&
    offset! + length! <= fileBytes!
  );
}
