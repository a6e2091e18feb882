/**
 * FNV-1a over the UTF-16 code units of `texts`, one after the other: a fast 32-bit hash for spreading
 * and remembering strings. Not for anything an adversary must not steer.
 */
export function fnv1a32(...texts: readonly string[]): number {
  let hash = 0x811c9dc5;
  for (const text of texts) {
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  }
  return hash;
}
