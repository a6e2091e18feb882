/**
 * The nonces of the tickets a listener has accepted, kept until the tickets are out of date, so that each
 * ticket is honoured once: a ticket recorded on the network and sent again earns nothing. Only tickets
 * made with the cookie (or a link secret) get here, so the ledger grows with the peers' dial rate, not with a flood; it is
 * bounded all the same, and when full a ticket is simply not honoured (its connection is treated as a
 * stranger's, which still works when no flood is on).
 */
import { checkTicket, TICKET_MAX_AGE_MS } from '../../protocol/cluster/handshake.js';
import type { Clock } from '../clock.js';

const MAX_REMEMBERED_TICKETS = 10_000;

export class TicketLedger {
  /** Nonce -> when its ticket goes out of date, by our clock. */
  private readonly seen = new Map<string, number>();

  constructor(
    /** The cookie first, then the link secrets of the clusters linked with this one (link-realms.ts). */
    private readonly secrets: () => readonly string[],
    private readonly clock: Clock,
  ) {}

  /** True when `ticket` is good and seen for the first time; it is then used up. */
  redeem(ticket: string): boolean {
    const nowMs = this.clock.now();
    const checked = this.check(ticket, nowMs);
    if (!checked || this.seen.has(checked.nonce)) return false;
    if (this.seen.size >= MAX_REMEMBERED_TICKETS) this.forgetOutOfDate(nowMs);
    if (this.seen.size >= MAX_REMEMBERED_TICKETS) return false;
    this.seen.set(checked.nonce, checked.issuedAtMs + TICKET_MAX_AGE_MS);
    return true;
  }

  private check(ticket: string, nowMs: number): { nonce: string; issuedAtMs: number } | undefined {
    for (const secret of this.secrets()) {
      const checked = checkTicket(secret, ticket, nowMs);
      if (checked.ok) return checked;
    }
    return undefined;
  }

  private forgetOutOfDate(nowMs: number): void {
    for (const [nonce, expiresAtMs] of this.seen) if (expiresAtMs < nowMs) this.seen.delete(nonce);
  }
}
