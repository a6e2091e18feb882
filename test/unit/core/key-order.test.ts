import { expect } from 'chai';
import { beyondBmp, compareBmpKeys, compareKeys, keyAfter, prefixSuccessor } from '../../../src/core/key-order.js';
import { seededRandom } from './seeded-random.js';

const ALPHABET = ['a', 'b', '/', '\u0000', '\u007f', 'é', '\ud7ff', '\ue000', '\uffff', '😀', '\u{10000}', '\u{10ffff}'];

function randomString(next: () => number, maxLength: number): string {
  let s = '';
  const length = Math.floor(next() * (maxLength + 1));
  for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(next() * ALPHABET.length)]!;
  return s;
}

const utf8Order = (a: string, b: string): number => Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));

describe('core/key-order', () => {
  it('orders keys as their UTF-8 bytes do', () => {
    const next = seededRandom(7);
    for (let i = 0; i < 5000; i++) {
      const a = randomString(next, 4);
      const b = randomString(next, 4);
      expect(Math.sign(compareKeys(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).to.equal(utf8Order(a, b));
    }
  });

  it('puts characters above U+FFFF after U+E000..U+FFFF, unlike the < operator', () => {
    expect('😀' < '\uffff').to.equal(true);
    expect(compareKeys('😀', '\uffff')).to.be.greaterThan(0);
    expect(compareKeys('\ue000', '\ud7ff')).to.be.greaterThan(0);
    expect(compareKeys('ab', 'abc')).to.be.lessThan(0);
    expect(compareKeys('b', 'abc')).to.be.greaterThan(0);
    expect(compareKeys('x', 'x')).to.equal(0);
  });

  it('orders keys within the BMP by the < operator as their UTF-8 bytes do, and tells the others apart', () => {
    const next = seededRandom(13);
    let within = 0;
    for (let i = 0; i < 5000; i++) {
      const a = randomString(next, 4);
      const b = randomString(next, 4);
      const astral = [a, b].filter((key) => [...key].some((char) => char.codePointAt(0)! > 0xffff));
      expect(beyondBmp(a) || beyondBmp(b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).to.equal(astral.length > 0);
      if (astral.length > 0) continue;
      within++;
      expect(Math.sign(compareBmpKeys(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).to.equal(utf8Order(a, b));
    }
    expect(within).to.be.greaterThan(1000);
  });

  it('keyAfter is the immediate successor of a key', () => {
    const next = seededRandom(11);
    for (let i = 0; i < 2000; i++) {
      const k = randomString(next, 3);
      const other = randomString(next, 4);
      expect(compareKeys(keyAfter(k), k)).to.be.greaterThan(0);
      if (compareKeys(other, k) > 0) expect(compareKeys(other, keyAfter(k))).to.be.at.least(0);
    }
  });

  it('prefixSuccessor is the smallest key above every key with the prefix', () => {
    expect(prefixSuccessor('photos/')).to.equal('photos0');
    expect(prefixSuccessor('a\u{10ffff}')).to.equal('b');
    expect(prefixSuccessor('\ud7ff')).to.equal('\ue000');
    expect(prefixSuccessor('x\uffff')).to.equal('x\u{10000}');
    expect(prefixSuccessor('x😀')).to.equal('x😁');
    expect(prefixSuccessor('\u{10ffff}\u{10ffff}')).to.equal(undefined);
    expect(prefixSuccessor('')).to.equal(undefined);

    const next = seededRandom(13);
    for (let i = 0; i < 3000; i++) {
      const prefix = randomString(next, 3);
      const successor = prefixSuccessor(prefix);
      const probe = randomString(next, 5);
      const withPrefix = prefix + probe;
      if (successor === undefined) {
        if (compareKeys(probe, prefix) >= 0) expect(probe.startsWith(prefix)).to.equal(true);
        continue;
      }
      expect(compareKeys(withPrefix, successor)).to.be.lessThan(0);
      // Anything from the prefix up to the successor starts with the prefix.
      if (compareKeys(probe, prefix) >= 0 && compareKeys(probe, successor) < 0) expect(probe.startsWith(prefix)).to.equal(true);
    }
  });
});
