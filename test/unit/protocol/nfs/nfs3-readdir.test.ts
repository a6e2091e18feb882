import { expect } from 'chai';
import { entryBytes, entryplusBytes, fitReaddir, fitReaddirplus, type DirectoryPage } from '../../../../src/protocol/nfs/nfs3-readdir.js';
import {
  encodeNfs3Result, type ReaddirEntry, type ReaddirplusEntry, type ReaddirplusResult, type ReaddirResult,
} from '../../../../src/protocol/nfs/nfs3-results.js';
import type { PostOpAttr } from '../../../../src/protocol/nfs/nfs3-types.js';
import { randomInt, seededRandom } from '../../core/seeded-random.js';
import { DIR_ATTRIBUTES, FILE_ATTRIBUTES, FILE_FH } from './nfs3-fixtures.js';

const VERF = Buffer.from('cookieve');

function entries(names: readonly string[], firstCookie = 1n): ReaddirEntry[] {
  return names.map((name, i) => ({ fileid: 100n + BigInt(i), name, cookie: firstCookie + BigInt(i) }));
}

function plusEntries(names: readonly string[]): ReaddirplusEntry[] {
  return entries(names).map((entry, i) => ({ ...entry, attributes: i % 3 === 2 ? undefined : FILE_ATTRIBUTES, handle: i % 4 === 3 ? undefined : FILE_FH }));
}

function page<Entry>(list: readonly Entry[], reachedEnd: boolean, withDirAttributes = true): DirectoryPage<Entry> {
  return { dirAttributes: withDirAttributes ? DIR_ATTRIBUTES : undefined, cookieverf: VERF, entries: list, reachedEnd };
}

function sizeOf(result: ReaddirResult): number {
  return encodeNfs3Result({ proc: 'READDIR', result }).reduce((sum, b) => sum + b.length, 0);
}

function plusSizeOf(result: ReaddirplusResult): number {
  return encodeNfs3Result({ proc: 'READDIRPLUS', result }).reduce((sum, b) => sum + b.length, 0);
}

/** The reply with the first `taken` entries, encoded, to measure against the budget by brute force. */
function okWith<Entry>(p: DirectoryPage<Entry>, taken: number): { status: 'NFS3_OK'; dirAttributes: PostOpAttr; cookieverf: Buffer; entries: Entry[]; eof: boolean } {
  return { status: 'NFS3_OK', dirAttributes: p.dirAttributes, cookieverf: p.cookieverf, entries: p.entries.slice(0, taken), eof: p.reachedEnd && taken === p.entries.length };
}

function randomName(next: () => number): string {
  const alphabet = ['a', 'b', 'Z', '0', '.', '-', 'é', '☃', '𝄞'];
  return Array.from({ length: 1 + randomInt(next, 40) }, () => alphabet[randomInt(next, alphabet.length)]!).join('');
}

const NAMES = ['a', 'bb', 'ccc', 'dddd', 'eeeee', 'ffffff', 'ggggggg', 'hhhhhhhh', 'iiiiiiiii'];

describe('protocol/nfs/nfs3-readdir', () => {
  it('counts an entry as its list bool, fileid, padded name and cookie', () => {
    expect(entryBytes({ fileid: 1n, name: 'a', cookie: 1n })).to.equal(4 + 8 + 4 + 4 + 8);
    expect(entryBytes({ fileid: 1n, name: 'abcd', cookie: 1n })).to.equal(4 + 8 + 4 + 4 + 8);
    expect(entryBytes({ fileid: 1n, name: 'abcde', cookie: 1n })).to.equal(4 + 8 + 4 + 8 + 8);
    expect(entryBytes({ fileid: 1n, name: 'é☃', cookie: 1n }), 'bytes, not characters').to.equal(4 + 8 + 4 + 8 + 8);
    expect(entryplusBytes({ fileid: 1n, name: 'a', cookie: 1n, attributes: FILE_ATTRIBUTES, handle: FILE_FH })).to.equal(28 + 88 + 4 + 4 + 20);
  });

  it('gives every entry, with eof, when the whole directory fits', () => {
    const result = fitReaddir(4096, page(entries(NAMES), true));
    expect(result.status === 'NFS3_OK' && [result.entries.length, result.eof]).to.deep.equal([NAMES.length, true]);
    expect(sizeOf(result)).to.be.at.most(4096);
  });

  it('gives every entry without eof when they fit but the directory goes on', () => {
    const result = fitReaddir(4096, page(entries(NAMES), false));
    expect(result.status === 'NFS3_OK' && [result.entries.length, result.eof]).to.deep.equal([NAMES.length, false]);
  });

  it('fits exactly at the byte: a budget of the reply\'s size takes n entries, one byte less takes n - 1, without eof', () => {
    const p = page(entries(NAMES), true);
    for (let n = 1; n <= NAMES.length; n++) {
      const exact = sizeOf(okWith(p, n));
      const fits = fitReaddir(exact, p);
      expect(fits.status === 'NFS3_OK' && fits.entries.length, `budget ${exact}`).to.equal(n);
      expect(fits.status === 'NFS3_OK' && fits.eof).to.equal(n === NAMES.length);
      expect(sizeOf(fits)).to.equal(exact);
      const short = fitReaddir(exact - 1, p);
      if (n === 1) expect(short.status).to.equal('NFS3ERR_TOOSMALL');
      else expect(short.status === 'NFS3_OK' && [short.entries.length, short.eof]).to.deep.equal([n - 1, false]);
    }
  });

  it('answers NFS3ERR_TOOSMALL, with the directory\'s attributes, when not even the first entry fits', () => {
    const p = page(entries(['a-rather-long-name-indeed']), true);
    const tooSmall = fitReaddir(sizeOf(okWith(p, 1)) - 1, p);
    expect(tooSmall).to.deep.equal({ status: 'NFS3ERR_TOOSMALL', dirAttributes: DIR_ATTRIBUTES });
    expect(fitReaddir(0, page([], true)).status).to.equal('NFS3ERR_TOOSMALL');
  });

  it('answers an empty directory with eof and no entries, if the reply fits', () => {
    const p = page<ReaddirEntry>([], true, false);
    const result = fitReaddir(sizeOf(okWith(p, 0)), p);
    expect(result).to.deep.equal({ status: 'NFS3_OK', dirAttributes: undefined, cookieverf: VERF, entries: [], eof: true });
  });

  it('refuses a page without entries that is not the end: the client would ask again forever', () => {
    expect(() => fitReaddir(4096, page([], false))).to.throw(RangeError);
    expect(() => fitReaddirplus(4096, 4096, page([], false))).to.throw(RangeError);
  });

  it('takes the longest prefix that fits, as brute force finds it (fixed seed)', () => {
    const seed = 1813;
    const next = seededRandom(seed);
    for (let round = 0; round < 300; round++) {
      const names = Array.from({ length: randomInt(next, 30) }, () => randomName(next));
      const p = page(entries(names), next() < 0.5 || names.length === 0, next() < 0.5);
      const count = randomInt(next, 1500);
      let best = -1;
      for (let k = 0; k <= names.length; k++) if (sizeOf(okWith(p, k)) <= count) best = k;
      const result = fitReaddir(count, p);
      const context = `seed ${seed} round ${round} count ${count}`;
      if (best === -1 || (best === 0 && names.length > 0)) {
        expect(result.status, context).to.equal('NFS3ERR_TOOSMALL');
      } else {
        expect(result, context).to.deep.equal(okWith(p, best));
        expect(sizeOf(result), context).to.be.at.most(count);
      }
    }
  });

  it('lets a client page through a directory by cookies, each entry once, ending on eof (fixed seed)', () => {
    const seed = 3;
    const next = seededRandom(seed);
    const directory = entries(Array.from({ length: 200 }, () => randomName(next)));
    for (let round = 0; round < 20; round++) {
      const count = 200 + randomInt(next, 2000);
      const seen: bigint[] = [];
      let cookie = 0n;
      for (let call = 0; call < 1000; call++) {
        const after = directory.filter((entry) => entry.cookie > cookie);
        const result = fitReaddir(count, page(after.slice(0, 50), after.length <= 50));
        if (result.status !== 'NFS3_OK') return expect.fail(`seed ${seed} round ${round}: ${result.status}`);
        seen.push(...result.entries.map((entry) => entry.cookie));
        if (result.eof) break;
        cookie = result.entries.at(-1)!.cookie;
      }
      expect(seen, `seed ${seed} round ${round}`).to.deep.equal(directory.map((entry) => entry.cookie));
    }
  });

  describe('READDIRPLUS', () => {
    it('fits entries, attributes and handles into maxcount, exactly at the byte', () => {
      const p = page(plusEntries(NAMES), true);
      for (let n = 1; n <= NAMES.length; n++) {
        const exact = plusSizeOf(okWith(p, n));
        const fits = fitReaddirplus(1 << 20, exact, p);
        expect(fits.status === 'NFS3_OK' && [fits.entries.length, fits.eof]).to.deep.equal([n, n === NAMES.length]);
        expect(plusSizeOf(fits)).to.equal(exact);
        const short = fitReaddirplus(1 << 20, exact - 1, p);
        expect(short.status === 'NFS3_OK' ? short.entries.length : short.status).to.equal(n === 1 ? 'NFS3ERR_TOOSMALL' : n - 1);
      }
    });

    it('stops at dircount bytes of directory information, from the second entry on', () => {
      const p = page(plusEntries(['a', 'b', 'c', 'd']), true);
      const perEntry = entryBytes({ fileid: 0n, name: 'a', cookie: 0n });
      const two = fitReaddirplus(2 * perEntry, 1 << 20, p);
      expect(two.status === 'NFS3_OK' && [two.entries.length, two.eof]).to.deep.equal([2, false]);
      const justUnder = fitReaddirplus(2 * perEntry - 1, 1 << 20, p);
      expect(justUnder.status === 'NFS3_OK' && justUnder.entries.length).to.equal(1);
      const zero = fitReaddirplus(0, 1 << 20, p);
      expect(zero.status === 'NFS3_OK' && zero.entries.length, 'a tiny dircount still gives one entry').to.equal(1);
      const all = fitReaddirplus(4 * perEntry, 1 << 20, p);
      expect(all.status === 'NFS3_OK' && [all.entries.length, all.eof]).to.deep.equal([4, true]);
    });

    it('takes the longest prefix within both budgets, as brute force finds it (fixed seed)', () => {
      const seed = 17;
      const next = seededRandom(seed);
      for (let round = 0; round < 300; round++) {
        const names = Array.from({ length: randomInt(next, 20) }, () => randomName(next));
        const p = page(plusEntries(names), next() < 0.5 || names.length === 0);
        const maxcount = randomInt(next, 3000);
        const dircount = randomInt(next, 800);
        let best = -1;
        let info = 0;
        for (let k = 0; k <= names.length; k++) {
          if (k > 0) info += entryBytes(p.entries[k - 1]!);
          if (plusSizeOf(okWith(p, k)) <= maxcount && (k <= 1 || info <= dircount)) best = k;
        }
        const result = fitReaddirplus(dircount, maxcount, p);
        const context = `seed ${seed} round ${round} dircount ${dircount} maxcount ${maxcount}`;
        if (best === -1 || (best === 0 && names.length > 0)) {
          expect(result.status, context).to.equal('NFS3ERR_TOOSMALL');
        } else {
          expect(result, context).to.deep.equal(okWith(p, best));
          expect(plusSizeOf(result), context).to.be.at.most(maxcount);
        }
      }
    });
  });
});
