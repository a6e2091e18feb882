/**
 * Comparing secrets without telling, through the time taken, how much of a guess was right. Both sides
 * are hashed first, so that neither their lengths nor their first differing byte shows.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export function secretsEqual(expected: string, given: string): boolean {
  const a = createHash('sha256').update(expected, 'utf8').digest();
  const b = createHash('sha256').update(given, 'utf8').digest();
  return timingSafeEqual(a, b);
}
