/**
 * Peers that refused staged bodies altogether (a node of an earlier release answers the message
 * BadMessage): they are sent bytes instead. Not for good: a rolling upgrade restarts such a node with a
 * release that takes staged bodies, so each is tried again once `retryAfterMs` has passed since it
 * refused. A refusal costs the write one round trip before its bytes go.
 */
export const BYTES_ONLY_RETRY_MS = 5 * 60_000;

export class BytesOnlyPeers {
  private readonly refusedAtMs = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    private readonly retryAfterMs = BYTES_ONLY_RETRY_MS,
  ) {}

  /** `peer` refused every staged body: it is sent bytes for a while. */
  refused(peer: string): void {
    this.refusedAtMs.set(peer, this.now());
  }

  /** Whether `peer` is to be sent bytes now. */
  has(peer: string): boolean {
    const at = this.refusedAtMs.get(peer);
    if (at === undefined) return false;
    if (this.now() - at < this.retryAfterMs) return true;
    this.refusedAtMs.delete(peer);
    return false;
  }
}
