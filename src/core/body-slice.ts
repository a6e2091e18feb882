/**
 * A part of a stored body: what a ranged read fetches from a chunk, so that a GET of a few bytes (or
 * the 8 MiB ranges parallel downloaders ask for) moves those bytes and not whole chunks.
 */
export interface BodySlice {
  readonly offsetBytes: number;
  readonly lengthBytes: number;
}

export function isBodySlice(value: unknown): value is BodySlice {
  if (typeof value !== 'object' || value === null) return false;
  const { offsetBytes, lengthBytes } = value as Partial<BodySlice>;
  return Number.isSafeInteger(offsetBytes) && offsetBytes! >= 0 && Number.isSafeInteger(lengthBytes) && lengthBytes! >= 0;
}

/** The bytes of `slice` within a body of `bodyBytes`, or undefined when the slice runs past its end. */
export function sliceBounds(slice: BodySlice, bodyBytes: number): { readonly start: number; readonly end: number } | undefined {
  const end = slice.offsetBytes + slice.lengthBytes;
  return end <= bodyBytes ? { start: slice.offsetBytes, end } : undefined;
}
