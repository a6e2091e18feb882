/**
 * The failures the runtime itself can answer an ask with. They are data, not exceptions, so they cross
 * the wire like any other reply and every caller handles them in the same switch as its own errors.
 */
export const RUNTIME_FAILURE_CODES = [
  'Timeout', // no answer within the ask's timeoutMs
  'NodeDown', // the node holding the actor is unreachable or went down while the ask was pending
  'NoProc', // no actor lives at that path
  'Crashed', // the actor crashed while handling the request
  'Overloaded', // too many pending asks, a full mailbox, or a peer that does not drain
  'BadMessage', // the message was rejected at the edge (unknown type, undecodable)
  'TooLarge', // the message does not fit in one frame
] as const;

export type RuntimeFailureCode = (typeof RUNTIME_FAILURE_CODES)[number];

export interface RuntimeFailure {
  readonly ok: false;
  readonly code: RuntimeFailureCode;
  readonly message: string;
}

export function runtimeFailure(code: RuntimeFailureCode, message: string): RuntimeFailure {
  return { ok: false, code, message };
}

export function isRuntimeFailure(value: unknown): value is RuntimeFailure {
  return (
    typeof value === 'object' && value !== null &&
    (value as { ok?: unknown }).ok === false &&
    (RUNTIME_FAILURE_CODES as readonly unknown[]).includes((value as { code?: unknown }).code)
  );
}
