/**
 * Object keys sort in UTF-8 byte order: that is the order of the storage nodes' LMDB index and the
 * order S3 lists in. JavaScript's `<` compares UTF-16 code units, which disagrees for characters above
 * U+FFFF (surrogate pairs) against U+E000..U+FFFF, so everything that merges or bounds keys uses these.
 */

/** Orders two strings as their UTF-8 encodings would sort (code point order); negative, zero or positive. */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const shared = Math.min(a.length, b.length);
  for (let i = 0; i < shared; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Below U+D800 code units and code points agree; above it, surrogates stand for code points past U+FFFF.
    if (x >= 0xd800 && y >= 0xd800) return codePointRank(x) - codePointRank(y);
    return x - y;
  }
  return a.length - b.length;
}

const SURROGATE = /[\ud800-\udfff]/;

/** Whether `key` holds a character past U+FFFF (a surrogate pair): only then can `<` disagree with `compareKeys`. */
export function beyondBmp(key: string): boolean {
  return SURROGATE.test(key);
}

/**
 * `compareKeys` for keys that are not `beyondBmp`, whose code units are their code points: JavaScript's
 * own comparison, several times faster than a loop over the units.
 */
export function compareBmpKeys(a: string, b: string): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

function codePointRank(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** The smallest key greater than `key`: a scan that starts here is a scan strictly after `key`. */
export function keyAfter(key: string): string {
  return `${key}\u0000`;
}

/**
 * The smallest key greater than every key that starts with `prefix`, or undefined when no such key
 * exists (the prefix is empty or made only of U+10FFFF). Lets a scan jump over a whole prefix.
 */
export function prefixSuccessor(prefix: string): string | undefined {
  let rest = prefix;
  while (rest.length > 0) {
    const lastUnit = rest.charCodeAt(rest.length - 1);
    const pairLength =
      rest.length >= 2 && lastUnit >= 0xdc00 && lastUnit <= 0xdfff && isHighSurrogate(rest.charCodeAt(rest.length - 2))
        ? 2
        : 1;
    const codePoint = rest.codePointAt(rest.length - pairLength)!;
    rest = rest.slice(0, rest.length - pairLength);
    if (codePoint < 0x10ffff) {
      // Surrogate code points never occur in UTF-8 keys, so U+D7FF is followed by U+E000.
      const next = codePoint + 1 === 0xd800 ? 0xe000 : codePoint + 1;
      return rest + String.fromCodePoint(next);
    }
  }
  return undefined;
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}
