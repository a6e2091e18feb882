import { expect } from 'chai';
import { encodeCbor } from '../../../../src/protocol/cluster/cbor.js';
import { decodeHandshake, encodeHandshake, newNonce, proofMatches, proofOf } from '../../../../src/protocol/cluster/handshake.js';
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
  });
});
