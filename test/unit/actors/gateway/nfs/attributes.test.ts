import { expect } from 'chai';
import {
  directoryAttributes, fileAttributes, formatTime, NO_SATTR, parseTime, setsMetadata, timeOfMs, userMetaWith,
} from '../../../../../src/actors/gateway/nfs/attributes.js';

const owner = { uid: 1000, gid: 100 };
const TAG = '0011223344556677';

describe('NFS attributes of objects', () => {
  it('show a plain S3 object as a file of its size, owned by the export, mode 0644, times from its record', () => {
    const attributes = fileAttributes({ bucketTag: TAG, key: 'a/b.txt', sizeBytes: 5000, lastModifiedMs: 1_700_000_000_250, userMeta: {}, owner });
    expect(attributes).to.include({ type: 'NF3REG', mode: 0o644, nlink: 1, uid: 1000, gid: 100 });
    expect(attributes.size).to.equal(5000n);
    expect(attributes.used).to.equal(8192n);
    expect(attributes.fsid).to.equal(0x0011223344556677n);
    expect(attributes.mtime).to.deep.equal({ seconds: 1_700_000_000, nseconds: 250_000_000 });
    expect(attributes.ctime).to.deep.equal(attributes.mtime);
  });

  it('take mode, owner and times from s3fs-style metadata', () => {
    const attributes = fileAttributes({
      bucketTag: TAG, key: 'x', sizeBytes: 1, lastModifiedMs: 1_700_000_000_000, owner,
      userMeta: { mode: String(0o100600), uid: '42', gid: '43', mtime: '1600000000.5', atime: '1600000001' },
    });
    expect(attributes).to.include({ mode: 0o600, uid: 42, gid: 43 });
    expect(attributes.mtime).to.deep.equal({ seconds: 1_600_000_000, nseconds: 500_000_000 });
    expect(attributes.atime).to.deep.equal({ seconds: 1_600_000_001, nseconds: 0 });
    expect(attributes.ctime).to.deep.equal({ seconds: 1_700_000_000, nseconds: 0 });
  });

  it('ignore metadata that does not read as a number or a time', () => {
    const attributes = fileAttributes({ bucketTag: TAG, key: 'x', sizeBytes: 1, lastModifiedMs: 0, owner, userMeta: { mode: 'rw', uid: '-1', mtime: 'yesterday' } });
    expect(attributes).to.include({ mode: 0o644, uid: 1000 });
    expect(attributes.mtime).to.deep.equal({ seconds: 0, nseconds: 0 });
  });

  it('show directories with mode 0755 and two links', () => {
    const attributes = directoryAttributes({ bucketTag: TAG, key: 'a/', sizeBytes: 0, lastModifiedMs: 1000, userMeta: undefined, owner });
    expect(attributes).to.include({ type: 'NF3DIR', mode: 0o755, nlink: 2 });
    expect(attributes.size).to.equal(4096n);
  });

  it('record SETATTR as metadata that reads back the same', () => {
    const meta = userMetaWith({ other: 'kept' }, {
      ...NO_SATTR, mode: 0o640, uid: 7, gid: 8, mtime: { how: 'SET_TO_CLIENT_TIME', time: { seconds: 1_234_567_890, nseconds: 42 } }, atime: { how: 'SET_TO_SERVER_TIME' },
    }, 'NF3REG', 1_700_000_000_000);
    expect(meta).to.deep.equal({ other: 'kept', mode: String(0o100640), uid: '7', gid: '8', mtime: '1234567890.000000042', atime: '1700000000' });
    const attributes = fileAttributes({ bucketTag: TAG, key: 'x', sizeBytes: 0, lastModifiedMs: 0, owner, userMeta: meta });
    expect(attributes).to.include({ mode: 0o640, uid: 7, gid: 8 });
    expect(attributes.mtime).to.deep.equal({ seconds: 1_234_567_890, nseconds: 42 });
    expect(setsMetadata(NO_SATTR)).to.equal(false);
    expect(setsMetadata({ ...NO_SATTR, size: 0n })).to.equal(false);
  });

  it('write and read times exactly', () => {
    for (const time of [{ seconds: 0, nseconds: 0 }, { seconds: 1, nseconds: 1 }, { seconds: 4_294_967_295, nseconds: 999_999_999 }]) {
      expect(parseTime(formatTime(time))).to.deep.equal(time);
    }
    expect(timeOfMs(1_500)).to.deep.equal({ seconds: 1, nseconds: 500_000_000 });
    expect(parseTime('99999999999')).to.equal(undefined);
  });
});
