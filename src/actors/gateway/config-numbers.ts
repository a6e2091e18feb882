/**
 * The integer settings of a config section, each within its bounds: a number, or a string of one (as
 * command-line flags give them). Shared by the gateway's sections so every one reads and words them alike.
 */

export type Bounds<K extends string> = Readonly<Record<K, readonly [min: number, max: number]>>;

/** The settings of `bounds` that `record` gives, or what is wrong with the first bad one. `section` names it in the message. */
export function boundedIntegers<K extends string>(record: Readonly<Record<string, unknown>>, bounds: Bounds<K>, section: string): Partial<Record<K, number>> | string {
  const numbers: Partial<Record<K, number>> = {};
  for (const [key, [min, max]] of Object.entries(bounds) as Array<[K, readonly [number, number]]>) {
    const value = record[key];
    if (value === undefined) continue;
    const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
      return `${section}.${key} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`;
    }
    numbers[key] = number;
  }
  return numbers;
}
