/**
 * The gateway's open connections, in all and per client address. Each connection costs a socket, a
 * parser and timers whether or not it does anything, so a client that opens thousands could exhaust
 * the process for everyone: past either limit a new connection is refused as soon as it opens.
 */
export class ConnectionLimits {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(
    private readonly maxConnections: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Connections admitted and not yet closed. */
  get open(): number {
    return this.total;
  }

  /** Counts a new connection from `address` if both limits allow it; returns whether they did. */
  admit(address: string): boolean {
    const fromAddress = this.byAddress.get(address) ?? 0;
    if (this.total >= this.maxConnections || fromAddress >= this.maxPerAddress) return false;
    this.total++;
    this.byAddress.set(address, fromAddress + 1);
    return true;
  }

  /** A connection admitted from `address` has closed. */
  leave(address: string): void {
    const fromAddress = this.byAddress.get(address) ?? 0;
    if (fromAddress <= 0) return;
    this.total--;
    if (fromAddress === 1) this.byAddress.delete(address);
    else this.byAddress.set(address, fromAddress - 1);
  }
}
