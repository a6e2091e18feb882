/** Exhaustiveness check for discriminated unions: a new variant fails to compile here. */
export function assertNever(value: never): never {
  throw new Error(`unexpected variant: ${JSON.stringify(value)}`);
}
