import { expect } from 'chai';
import { readdir, readdirplus } from '../../../../../src/actors/gateway/nfs/directory-listing.js';
import { NfsError } from '../../../../../src/actors/gateway/nfs/nfs-errors.js';
import { findDirectory } from '../../../../../src/actors/gateway/nfs/nodes.js';
import type { ReaddirResult } from '../../../../../src/protocol/nfs/nfs3-results.js';
import { nfsFixture, type NfsFixture } from './nfs-fixture.js';

const NO_VERIFIER = Buffer.alloc(8);

describe('NFS directory listing', () => {
  let fixture: NfsFixture;

  afterEach(async () => {
    await fixture?.close();
  });

  /** One READDIR; a failure as its status, as the NFS program answers it. */
  async function page(dirKey: string, cookie: bigint, cookieverf: Buffer, count: number): Promise<ReaddirResult> {
    const scope = fixture.scope();
    try {
      return await readdir(scope, (await findDirectory(scope, dirKey))!, cookie, cookieverf, count);
    } catch (error) {
      if (error instanceof NfsError) return { status: error.status, dirAttributes: undefined };
      throw error;
    }
  }

  /** Every entry of `dirKey`, READDIR after READDIR from the last cookie, as a client reads it. */
  async function listAll(dirKey: string, count: number): Promise<string[]> {
    const names: string[] = [];
    let cookie = 0n;
    let verifier: Buffer = NO_VERIFIER;
    for (let pages = 0; pages < 1000; pages++) {
      const result = await page(dirKey, cookie, verifier, count);
      if (result.status !== 'NFS3_OK') throw new Error(result.status);
      names.push(...result.entries.map((entry) => entry.name));
      if (result.eof) return names;
      cookie = result.entries[result.entries.length - 1]!.cookie;
      verifier = result.cookieverf;
    }
    throw new Error('the listing never ended');
  }

  it('lists a directory in small pages, each entry once and in order, `.` and `..` first', async () => {
    fixture = nfsFixture();
    const names = Array.from({ length: 60 }, (_, i) => `f${String(i).padStart(3, '0')}${i % 5 === 0 ? '/x' : ''}`);
    for (const name of names) await fixture.put(`d/${name}`);
    await fixture.put('d/');
    await fixture.put('elsewhere.txt');
    const listed = await listAll('d/', 400);
    expect(listed).to.deep.equal(['.', '..', ...names.map((name) => name.replace('/x', ''))]);
  });

  it('resumes from a cookie with one listing from just after its key, however far into the directory', async () => {
    fixture = nfsFixture();
    for (let i = 0; i < 300; i++) await fixture.put(`big/${String(i).padStart(4, '0')}`);
    let cookie = 0n;
    let verifier: Buffer = NO_VERIFIER;
    const callsPerPage: number[] = [];
    for (let i = 0; i < 20; i++) {
      const before = fixture.storage.calls.filter((call) => call.op === 'list').length;
      const result = await page('big/', cookie, verifier, 400);
      if (result.status !== 'NFS3_OK') throw new Error(result.status);
      // findDirectory's own look is the same for every page; the listing of entries is one call.
      callsPerPage.push(fixture.storage.calls.filter((call) => call.op === 'list').length - before);
      cookie = result.entries[result.entries.length - 1]!.cookie;
      verifier = result.cookieverf;
    }
    expect(new Set(callsPerPage).size, `list calls per page: ${callsPerPage.join(',')}`).to.equal(1);
  });

  it('answers NFS3ERR_BAD_COOKIE to a cookie it does not remember, or sent with another start\'s verifier, without reading the directory', async () => {
    fixture = nfsFixture({ maxCookies: 5 });
    for (let i = 0; i < 40; i++) await fixture.put(`d/${String(i).padStart(3, '0')}`);
    const first = await page('d/', 0n, NO_VERIFIER, 400);
    if (first.status !== 'NFS3_OK') throw new Error(first.status);
    expect(first.cookieverf).to.deep.equal(fixture.deps.cookies.verifier);
    expect(first.cookieverf.equals(NO_VERIFIER)).to.equal(false);
    const last = first.entries[first.entries.length - 1]!.cookie;
    // The last cookies handed out are remembered, with this start's verifier or with none.
    expect((await page('d/', last, Buffer.alloc(8, 9), 400)).status).to.equal('NFS3ERR_BAD_COOKIE');
    const second = await page('d/', last, NO_VERIFIER, 400);
    if (second.status !== 'NFS3_OK') throw new Error(second.status);
    expect((await page('d/', second.entries[second.entries.length - 1]!.cookie, first.cookieverf, 400)).status).to.equal('NFS3_OK');
    // The first entry's cookie was forgotten: only 5 are kept.
    const forgotten = first.entries[2]!.cookie;
    const before = fixture.storage.calls.filter((call) => call.op === 'list').length;
    expect((await page('d/', forgotten, first.cookieverf, 400)).status).to.equal('NFS3ERR_BAD_COOKIE');
    expect(fixture.storage.calls.filter((call) => call.op === 'list').length - before).to.be.at.most(1);
    // `.` and `..` need no memory.
    const afterDots = await page('d/', 2n, first.cookieverf, 400);
    expect(afterDots.status === 'NFS3_OK' && afterDots.entries[0]!.name).to.equal('000');
  });

  it('shows a file and a directory of one name once, as the file, in one page or across two', async () => {
    fixture = nfsFixture();
    // `a` sorts before `a.txt`, which sorts before `a/`: the two of one name are not neighbours.
    for (const key of ['p/a', 'p/a.txt', 'p/a/inner', 'p/b/', 'p/b', 'p/c/deep/x', 'p/c']) await fixture.put(key);
    const expected = ['.', '..', 'a', 'a.txt', 'b', 'c'];
    for (const count of [4096, 150, 180, 210]) {
      const listed = await listAll('p/', count);
      expect(listed, `count ${count}`).to.deep.equal(expected);
    }
    const scope = fixture.scope();
    const plus = await readdirplus(scope, (await findDirectory(scope, 'p/'))!, 0n, NO_VERIFIER, 4096, 65536);
    if (plus.status !== 'NFS3_OK') throw new Error(plus.status);
    expect(plus.entries.map((entry) => [entry.name, entry.attributes?.type])).to.deep.equal([
      ['.', 'NF3DIR'], ['..', 'NF3DIR'], ['a', 'NF3REG'], ['a.txt', 'NF3REG'], ['b', 'NF3REG'], ['c', 'NF3REG'],
    ]);
  });

  it('passes over keys that make no file tree (empty, `.` and `..` segments) and lists an empty directory as `.` and `..`', async () => {
    fixture = nfsFixture();
    for (const key of ['q/ok', 'q//double', 'q/./dot', 'q/../up', 'empty/']) await fixture.put(key);
    expect(await listAll('q/', 4096)).to.deep.equal(['.', '..', 'ok']);
    expect(await listAll('empty/', 4096)).to.deep.equal(['.', '..']);
  });

  it('resumes after the directory `a` from its cookie once a file `a` appears beside it', async () => {
    fixture = nfsFixture();
    for (const key of ['p/a.txt', 'p/a/x', 'p/b']) await fixture.put(key);
    const first = await page('p/', 0n, NO_VERIFIER, 4096);
    if (first.status !== 'NFS3_OK') throw new Error(first.status);
    expect(first.entries.map((e) => e.name)).to.deep.equal(['.', '..', 'a.txt', 'a', 'b']);
    const dirCookie = first.entries[3]!.cookie;
    // A file `a` is written over S3, and another client lists the directory.
    await fixture.put('p/a');
    const other = await page('p/', 0n, NO_VERIFIER, 4096);
    if (other.status !== 'NFS3_OK') throw new Error(other.status);
    // The first client resumes after the entry `a` it got (the directory): `a.txt` is before it, it must not come again.
    const resumed = await page('p/', dirCookie, first.cookieverf, 4096);
    if (resumed.status !== 'NFS3_OK') throw new Error(resumed.status);
    expect(resumed.entries.map((e) => e.name)).to.deep.equal(['b']);
  });
});
