import { expect } from 'chai';
import { SecretBox, SecretUnreadable } from '../../../src/store/secret-box.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';

describe('store/secret-box', () => {
  const box = SecretBox.fromCookie('a-cluster-cookie');

  it('opens what it sealed, with the same cookie in another process', () => {
    const sealed = box.seal(SECRET, KEY_ID);
    expect(box.open(sealed, KEY_ID)).to.equal(SECRET);
    expect(SecretBox.fromCookie('a-cluster-cookie').open(sealed, KEY_ID)).to.equal(SECRET);
    expect(box.open(box.seal('', KEY_ID), KEY_ID)).to.equal('');
  });

  it('never holds the plain text, and seals the same secret differently each time', () => {
    const first = Buffer.from(box.seal(SECRET, KEY_ID));
    const second = Buffer.from(box.seal(SECRET, KEY_ID));
    expect(first.includes(Buffer.from(SECRET))).to.equal(false);
    expect(first.equals(second), 'a fresh nonce per value').to.equal(false);
    expect(first.length).to.equal(1 + 12 + SECRET.length + 16);
  });

  it('refuses another cookie, another context, damaged and foreign bytes', () => {
    const sealed = box.seal(SECRET, KEY_ID);
    expect(() => SecretBox.fromCookie('another-cookie').open(sealed, KEY_ID)).to.throw(SecretUnreadable);
    expect(() => box.open(sealed, 'ANOTHERKEYID'), 'moved to another user').to.throw(SecretUnreadable);
    for (const index of [0, 1, 13, sealed.length - 1]) {
      const damaged = Buffer.from(sealed);
      damaged[index]! ^= 1;
      expect(() => box.open(damaged, KEY_ID), `byte ${index}`).to.throw(SecretUnreadable);
    }
    expect(() => box.open(sealed.subarray(0, 20), KEY_ID)).to.throw(SecretUnreadable);
    expect(() => box.open(new Uint8Array(0), KEY_ID)).to.throw(SecretUnreadable);
  });

  it('uses the random source it is given for nonces', () => {
    const fixed = SecretBox.fromCookie('a-cluster-cookie', (size) => new Uint8Array(size).fill(7));
    expect(Buffer.from(fixed.seal(SECRET, KEY_ID)).equals(Buffer.from(fixed.seal(SECRET, KEY_ID)))).to.equal(true);
    expect(box.open(fixed.seal(SECRET, KEY_ID), KEY_ID)).to.equal(SECRET);
  });
});
