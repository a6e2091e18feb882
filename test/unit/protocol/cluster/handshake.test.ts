import { expect } from 'chai';
import { encodeCbor } from '../../../../src/protocol/cluster/cbor.js';
import { checkTicket, decodeHandshake, encodeHandshake, issueTicket, MAX_HANDSHAKE_BYTES, newNonce, proofMatches, proofOf, TICKET_MAX_AGE_MS } from '../../../../src/protocol/cluster/handshake.js';
import { PROTOCOL_VERSION } from '../../../../src/protocol/cluster/version.js';

describe('protocol/cluster/handshake', () => {
  const serverNonce = newNonce();
  const clientNonce = newNonce();

  it('accepts a proof made with the same cookie and nonces only', () => {
    const proof = proofOf('cookie-one', 'client', serverNonce, clientNonce, 'a@h');
    expect(proofMatches(proofOf('cookie-one', 'client', serverNonce, clientNonce, 'a@h'), proof)).to.equal(true);
    expect(proofMatches(proofOf('cookie-two', 'client', serverNonce, clientNonce, 'a@h'), proof)).to.equal(false);
    expect(proofMatches(proofOf('cookie-one', 'client', newNonce(), clientNonce, 'a@h'), proof)).to.equal(false);
    expect(proofMatches(proofOf('cookie-one', 'server', serverNonce, clientNonce, 'a@h'), proof)).to.equal(false);
    expect(proofMatches(proofOf('cookie-one', 'client', serverNonce, clientNonce, 'b@h'), proof)).to.equal(false);
    expect(proofMatches(proofOf('cookie-one', 'client', serverNonce, clientNonce, 'a@h'), proof.subarray(0, 16))).to.equal(false);
  });

  it('never puts the cookie on the wire', () => {
    const cookie = 'very-secret-cookie-value';
    const auth = encodeHandshake({ t: 'auth', v: PROTOCOL_VERSION, node: 'a@h', address: '127.0.0.1:1', nonce: clientNonce, proof: proofOf(cookie, 'client', serverNonce, clientNonce, 'a@h') });
    expect(auth.includes(Buffer.from(cookie))).to.equal(false);
  });

  it('decodes the expected step and refuses anything else', () => {
    const challenge = encodeHandshake({ t: 'challenge', v: PROTOCOL_VERSION, node: 's@h', nonce: serverNonce });
    expect(decodeHandshake(challenge, 'challenge')).to.deep.include({ ok: true });
    expect(decodeHandshake(challenge, 'auth')).to.deep.include({ ok: false });
    expect(decodeHandshake(encodeCbor({ t: 'challenge', v: 99, node: 's@h', nonce: serverNonce }), 'challenge')).to.deep.equal({ ok: false, reason: `protocol version 99, expected ${PROTOCOL_VERSION}` });
    expect(decodeHandshake(encodeCbor({ t: 'challenge', v: PROTOCOL_VERSION, node: 's@h', nonce: Buffer.alloc(3) }), 'challenge')).to.deep.equal({ ok: false, reason: 'invalid nonce' });
    expect(decodeHandshake(encodeCbor({ t: 'welcome', v: PROTOCOL_VERSION, node: 's@h', address: null }), 'welcome')).to.deep.equal({ ok: false, reason: 'missing proof' });
    expect(decodeHandshake(encodeCbor({ t: 'auth', v: PROTOCOL_VERSION, node: '', address: null, nonce: clientNonce, proof: Buffer.alloc(32) }), 'auth')).to.deep.equal({ ok: false, reason: 'invalid node name' });
    expect(decodeHandshake(Buffer.from([0x9f]), 'auth').ok).to.equal(false);
    expect(decodeHandshake(encodeCbor('just a string'), 'auth')).to.deep.equal({ ok: false, reason: 'handshake is not a map' });
    const padded = encodeCbor({ t: 'auth', v: PROTOCOL_VERSION, node: 'a@h', address: 'x'.repeat(MAX_HANDSHAKE_BYTES), nonce: clientNonce, proof: Buffer.alloc(32) });
    expect(decodeHandshake(padded, 'auth')).to.deep.equal({ ok: false, reason: `handshake message of ${padded.length} bytes (at most ${MAX_HANDSHAKE_BYTES})` });
  });

  it('honours a ticket made with the cookie and dated near our clock, and nothing else', () => {
    const nowMs = 1_700_000_000_000;
    const ticket = issueTicket('cookie-one', nowMs);
    expect(checkTicket('cookie-one', ticket, nowMs + 1_000)).to.deep.include({ ok: true, issuedAtMs: nowMs });
    expect(checkTicket('cookie-one', ticket, nowMs - TICKET_MAX_AGE_MS)).to.deep.include({ ok: true });
    expect(checkTicket('cookie-two', ticket, nowMs)).to.deep.equal({ ok: false, reason: 'ticket not made with the cluster cookie' });
    expect(checkTicket('cookie-one', ticket, nowMs + TICKET_MAX_AGE_MS + 1)).to.deep.equal({ ok: false, reason: 'ticket out of date' });
    const [issued, nonce, proof] = ticket.split('.') as [string, string, string];
    expect(checkTicket('cookie-one', `${Number(issued) + 1}.${nonce}.${proof}`, nowMs).ok, 'a changed date').to.equal(false);
    expect(checkTicket('cookie-one', `${issued}.${'0'.repeat(32)}.${proof}`, nowMs).ok, 'a changed nonce').to.equal(false);
    for (const malformed of ['', 'x', `${issued}.${nonce}`, `${issued}.${nonce}.${proof}.`, `${issued}.${nonce}.${proof.toUpperCase()}`, 'x'.repeat(100_000)]) {
      expect(checkTicket('cookie-one', malformed, nowMs)).to.deep.equal({ ok: false, reason: 'malformed ticket' });
    }
    expect(ticket.includes('cookie-one')).to.equal(false);
  });
});
