import { expect } from 'chai';
import { NfsError } from '../../../../../src/actors/gateway/nfs/nfs-errors.js';
import { commitFile, setAttributes, writeFile } from '../../../../../src/actors/gateway/nfs/writes.js';
import { NO_SATTR } from '../../../../../src/actors/gateway/nfs/attributes.js';
import { nfsFixture, type NfsFixture } from './nfs-fixture.js';

async function statusOf(action: Promise<unknown>): Promise<string> {
  try {
    const result = (await action) as { status: string };
    return result.status;
  } catch (error) {
    if (error instanceof NfsError) return error.status;
    throw error;
  }
}

describe('NFS writes', () => {
  let fixture: NfsFixture;

  beforeEach(() => {
    fixture = nfsFixture();
  });

  afterEach(async () => {
    await fixture.close();
  });

  it('keeps UNSTABLE writes in the open file until COMMIT stores them, answering the write verifier both times', async () => {
    await fixture.put('f.txt');
    const scope = fixture.scope('write');
    const first = await writeFile(scope, 'f.txt', 0n, 'UNSTABLE', Buffer.from('hello '));
    // Written out of order, as clients do.
    await writeFile(scope, 'f.txt', 6n, 'UNSTABLE', Buffer.from('world'));
    expect(first.status === 'NFS3_OK' && [first.committed, first.count, first.verifier]).to.deep.equal(['UNSTABLE', 6, fixture.deps.writeVerifier]);
    expect(await fixture.body('f.txt')).to.equal('');
    const committed = await commitFile(scope, 'f.txt');
    expect(committed.status === 'NFS3_OK' && committed.verifier).to.deep.equal(fixture.deps.writeVerifier);
    expect(committed.status === 'NFS3_OK' && committed.fileWcc.after?.size).to.equal(11n);
    expect(await fixture.body('f.txt')).to.equal('hello world');
  });

  it('stores a FILE_SYNC write before answering, and fills a gap before an offset with zeros', async () => {
    await fixture.put('g.bin', 'ab');
    const result = await writeFile(fixture.scope('write'), 'g.bin', 4n, 'FILE_SYNC', Buffer.from('cd'));
    expect(result.status === 'NFS3_OK' && result.committed).to.equal('FILE_SYNC');
    expect(await fixture.body('g.bin')).to.equal('ab\0\0cd');
  });

  it('answers ISDIR to a WRITE or COMMIT of a directory, STALE for a key that is gone, FBIG past the largest file', async () => {
    await fixture.put('d/x');
    const scope = fixture.scope('write');
    expect(await statusOf(writeFile(scope, 'd/', 0n, 'UNSTABLE', Buffer.from('x')))).to.equal('NFS3ERR_ISDIR');
    expect(await statusOf(commitFile(scope, 'd/'))).to.equal('NFS3ERR_ISDIR');
    expect(await statusOf(commitFile(scope, ''))).to.equal('NFS3ERR_ISDIR');
    expect(await statusOf(commitFile(scope, 'gone.txt'))).to.equal('NFS3ERR_STALE');
    expect(await statusOf(writeFile(scope, 'd/x', BigInt(fixture.deps.config.maxFileBytes), 'UNSTABLE', Buffer.from('x')))).to.equal('NFS3ERR_FBIG');
  });

  it('commits a file with nothing buffered as it is', async () => {
    await fixture.put('plain.txt', 'as is');
    const result = await commitFile(fixture.scope('write'), 'plain.txt');
    expect(result.status === 'NFS3_OK' && result.fileWcc.after?.size).to.equal(5n);
    expect(await fixture.body('plain.txt')).to.equal('as is');
  });

  it('SETATTR truncates, extends and sets a mode, refuses a size for a directory, and checks its guard', async () => {
    await fixture.put('t.txt', 'truncate me');
    await fixture.put('d/x');
    const scope = fixture.scope('write');
    expect(await statusOf(setAttributes(scope, 't.txt', { ...NO_SATTR, size: 0n }, undefined))).to.equal('NFS3_OK');
    expect(await fixture.body('t.txt')).to.equal('');
    expect(await statusOf(setAttributes(scope, 't.txt', { ...NO_SATTR, size: 3n, mode: 0o600 }, undefined))).to.equal('NFS3_OK');
    expect(await fixture.body('t.txt')).to.equal('\0\0\0');
    expect(await statusOf(setAttributes(scope, 'd/', { ...NO_SATTR, size: 0n }, undefined))).to.equal('NFS3ERR_ISDIR');
    expect(await statusOf(setAttributes(scope, 't.txt', NO_SATTR, { seconds: 1, nseconds: 2 }))).to.equal('NFS3ERR_NOT_SYNC');
    expect(await statusOf(setAttributes(scope, 't.txt', { ...NO_SATTR, size: BigInt(fixture.deps.config.maxFileBytes) + 1n }, undefined))).to.equal('NFS3ERR_FBIG');
  });
});
