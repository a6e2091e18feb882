import { expect } from 'chai';
import { issueTicket, TICKET_MAX_AGE_MS } from '../../../src/protocol/cluster/handshake.js';
import { ManualClock } from '../../../src/runtime/clock.js';
import { TicketLedger } from '../../../src/runtime/remote/ticket-ledger.js';

describe('runtime/remote/ticket-ledger', () => {
  it('honours each good ticket once', () => {
    const clock = new ManualClock();
    const ledger = new TicketLedger(() => ['the-cookie'], clock);
    const ticket = issueTicket('the-cookie', clock.now());
    expect(ledger.redeem(ticket)).to.equal(true);
    expect(ledger.redeem(ticket), 'the same ticket again').to.equal(false);
    expect(ledger.redeem(issueTicket('the-cookie', clock.now()))).to.equal(true);
    expect(ledger.redeem(issueTicket('another-cookie', clock.now()))).to.equal(false);
    const early = issueTicket('the-cookie', clock.now());
    clock.advance(TICKET_MAX_AGE_MS + 1);
    expect(ledger.redeem(early), 'a ticket out of date').to.equal(false);
  });

  it('stays bounded: forgets tickets once out of date, and honours none while full of fresh ones', () => {
    const clock = new ManualClock();
    const ledger = new TicketLedger(() => ['the-cookie'], clock);
    let honoured = 0;
    for (let i = 0; i < 10_001; i++) if (ledger.redeem(issueTicket('the-cookie', clock.now()))) honoured++;
    expect(honoured).to.equal(10_000);
    clock.advance(TICKET_MAX_AGE_MS + 1);
    expect(ledger.redeem(issueTicket('the-cookie', clock.now())), 'room again once the old ones are out of date').to.equal(true);
  });
});
