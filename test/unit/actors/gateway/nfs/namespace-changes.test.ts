import { expect } from 'chai';
import { NO_SATTR } from '../../../../../src/actors/gateway/nfs/attributes.js';
import { createFile, makeDirectory, removeDirectory, removeFile, rename } from '../../../../../src/actors/gateway/nfs/namespace-changes.js';
import { NfsError } from '../../../../../src/actors/gateway/nfs/nfs-errors.js';
import type { CreateHow3 } from '../../../../../src/protocol/nfs/nfs3-types.js';
import { nfsFixture, type NfsFixture } from './nfs-fixture.js';

async function statusOf(action: Promise<{ status: string }>): Promise<string> {
  try {
    return (await action).status;
  } catch (error) {
    if (error instanceof NfsError) return error.status;
    throw error;
  }
}

const UNCHECKED: CreateHow3 = { mode: 'UNCHECKED', attributes: NO_SATTR };
const GUARDED: CreateHow3 = { mode: 'GUARDED', attributes: NO_SATTR };
const exclusive = (byte: number): CreateHow3 => ({ mode: 'EXCLUSIVE', verifier: Buffer.alloc(8, byte) });

describe('NFS namespace changes', () => {
  let fixture: NfsFixture;

  beforeEach(() => {
    fixture = nfsFixture();
  });

  afterEach(async () => {
    await fixture.close();
  });

  it('CREATE stores an empty object at once; GUARDED refuses an existing name, UNCHECKED with size 0 empties it', async () => {
    const scope = fixture.scope('write');
    expect(await statusOf(createFile(scope, '', 'new.txt', GUARDED))).to.equal('NFS3_OK');
    expect(await fixture.body('new.txt')).to.equal('');
    await fixture.put('old.txt', 'old bytes');
    expect(await statusOf(createFile(scope, '', 'old.txt', GUARDED))).to.equal('NFS3ERR_EXIST');
    expect(await statusOf(createFile(scope, '', 'old.txt', UNCHECKED))).to.equal('NFS3_OK');
    expect(await fixture.body('old.txt')).to.equal('old bytes');
    expect(await statusOf(createFile(scope, '', 'old.txt', { mode: 'UNCHECKED', attributes: { ...NO_SATTR, size: 0n } }))).to.equal('NFS3_OK');
    expect(await fixture.body('old.txt')).to.equal('');
  });

  it('EXCLUSIVE CREATE sent again with its verifier succeeds, with another verifier is EXIST', async () => {
    const scope = fixture.scope('write');
    expect(await statusOf(createFile(scope, '', 'x.lock', exclusive(1)))).to.equal('NFS3_OK');
    expect(await statusOf(createFile(scope, '', 'x.lock', exclusive(1)))).to.equal('NFS3_OK');
    expect(await statusOf(createFile(scope, '', 'x.lock', exclusive(2)))).to.equal('NFS3ERR_EXIST');
  });

  it('refuses names that cannot be keys of the tree, and a file where a directory of that name is', async () => {
    await fixture.put('dir/inner');
    const scope = fixture.scope('write');
    expect(await statusOf(createFile(scope, '', '.', UNCHECKED))).to.equal('NFS3ERR_EXIST');
    expect(await statusOf(createFile(scope, '', 'a/b', UNCHECKED))).to.equal('NFS3ERR_INVAL');
    expect(await statusOf(createFile(scope, '', '', UNCHECKED))).to.equal('NFS3ERR_INVAL');
    expect(await statusOf(createFile(scope, '', 'n'.repeat(256), UNCHECKED))).to.equal('NFS3ERR_NAMETOOLONG');
    expect(await statusOf(createFile(scope, '', 'dir', UNCHECKED))).to.equal('NFS3ERR_EXIST');
    expect(await statusOf(createFile(scope, 'no-such-dir/', 'f', UNCHECKED))).to.equal('NFS3ERR_STALE');
    expect(await statusOf(createFile(scope, 'dir/inner', 'f', UNCHECKED))).to.equal('NFS3ERR_NOTDIR');
  });

  it('MKDIR writes a marker, and refuses a name taken by a file or a directory', async () => {
    await fixture.put('taken.txt');
    const scope = fixture.scope('write');
    expect(await statusOf(makeDirectory(scope, '', 'made', NO_SATTR))).to.equal('NFS3_OK');
    expect(fixture.keys()).to.include('made/');
    expect(await statusOf(makeDirectory(scope, '', 'made', NO_SATTR))).to.equal('NFS3ERR_EXIST');
    expect(await statusOf(makeDirectory(scope, '', 'taken.txt', NO_SATTR))).to.equal('NFS3ERR_EXIST');
  });

  it('REMOVE of the last file of an implied directory keeps the directory as a marker; a directory or a missing name is refused', async () => {
    await fixture.put('only/one.txt');
    await fixture.put('sub/x');
    const scope = fixture.scope('delete');
    expect(await statusOf(removeFile(scope, 'only/', 'one.txt'))).to.equal('NFS3_OK');
    expect(fixture.keys()).to.include('only/').and.not.include('only/one.txt');
    expect(await statusOf(removeFile(scope, 'only/', 'one.txt'))).to.equal('NFS3ERR_NOENT');
    expect(await statusOf(removeFile(scope, '', 'sub'))).to.equal('NFS3ERR_ISDIR');
    expect(await statusOf(removeFile(scope, '', '..'))).to.equal('NFS3ERR_NOENT');
  });

  it('RMDIR removes an empty directory only', async () => {
    await fixture.put('full/x');
    await fixture.put('empty/');
    await fixture.put('file.txt');
    const scope = fixture.scope('delete');
    expect(await statusOf(removeDirectory(scope, '', 'full'))).to.equal('NFS3ERR_NOTEMPTY');
    expect(await statusOf(removeDirectory(scope, '', 'file.txt'))).to.equal('NFS3ERR_NOTDIR');
    expect(await statusOf(removeDirectory(scope, '', '.'))).to.equal('NFS3ERR_INVAL');
    expect(await statusOf(removeDirectory(scope, '', 'nothing'))).to.equal('NFS3ERR_NOENT');
    expect(await statusOf(removeDirectory(scope, '', 'empty'))).to.equal('NFS3_OK');
    expect(fixture.keys()).to.not.include('empty/');
  });

  it('RENAME moves a file with its bytes, and a directory with every key below it', async () => {
    await fixture.put('a.txt', 'alpha');
    for (let i = 0; i < 12; i++) await fixture.put(`src/${i}.txt`, String(i));
    await fixture.put('src/deep/z.txt', 'z');
    const scope = fixture.scope('write');
    expect(await statusOf(rename(scope, '', 'a.txt', scope, '', 'b.txt'))).to.equal('NFS3_OK');
    expect(await fixture.body('b.txt')).to.equal('alpha');
    expect(await fixture.body('a.txt')).to.equal(undefined);
    expect(await statusOf(rename(scope, '', 'src', scope, '', 'dst'))).to.equal('NFS3_OK');
    expect(fixture.keys().filter((key) => key.startsWith('src/'))).to.deep.equal([]);
    expect(fixture.keys().filter((key) => key.startsWith('dst/'))).to.have.length(13);
    expect(await fixture.body('dst/deep/z.txt')).to.equal('z');
  });

  it('RENAME refuses a directory into itself, over a directory not empty, a file over a directory, and a missing source', async () => {
    await fixture.put('d/x');
    await fixture.put('other/y');
    await fixture.put('f.txt');
    const scope = fixture.scope('write');
    expect(await statusOf(rename(scope, '', 'd', scope, 'd/', 'inside'))).to.equal('NFS3ERR_INVAL');
    expect(await statusOf(rename(scope, '', 'd', scope, '', 'other'))).to.equal('NFS3ERR_NOTEMPTY');
    expect(await statusOf(rename(scope, '', 'f.txt', scope, '', 'd'))).to.equal('NFS3ERR_ISDIR');
    expect(await statusOf(rename(scope, '', 'd', scope, '', 'f.txt'))).to.equal('NFS3ERR_NOTDIR');
    expect(await statusOf(rename(scope, '', 'none', scope, '', 'x'))).to.equal('NFS3ERR_NOENT');
    expect(await statusOf(rename(scope, '', '..', scope, '', 'x'))).to.equal('NFS3ERR_INVAL');
    expect(fixture.keys()).to.deep.equal(['d/x', 'f.txt', 'other/y']);
  });
});
