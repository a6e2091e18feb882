import { expect } from 'chai';
import {
  afterUploadsOf, isUploadId, newUploadId, parsePartRecordKey, parseUploadRecordKey, partRecordKey, partRecordPrefix, uploadRecordKey,
  uploadRecordPrefix,
  parsePartRecord, partRecordsOfKeyPrefix,
} from '../../../src/core/upload-records.js';
import { compareKeys } from '../../../src/core/key-order.js';

describe('core/upload-records', () => {
  const id = newUploadId();

  it('makes url-safe upload ids and refuses anything else', () => {
    expect(isUploadId(id)).to.equal(true);
    expect(isUploadId('short')).to.equal(false);
    expect(isUploadId(`${id.slice(1)}/`)).to.equal(false);
  });

  it('keys upload records so they sort by key, then upload id', () => {
    const keys = ['a', 'a/b', 'a\tb', 'ab', 'a b'].map((key) => uploadRecordKey(key, id));
    const sorted = [...keys].sort(compareKeys).map((k) => parseUploadRecordKey(k)!.key);
    expect(sorted).to.deep.equal(['a', 'a\tb', 'a b', 'a/b', 'ab']);
    expect(parseUploadRecordKey(uploadRecordKey('odd\u0001key', id))).to.deep.equal({ key: 'odd\u0001key', uploadId: id });
    expect(parseUploadRecordKey('p/x')).to.equal(undefined);
    expect(uploadRecordKey('photos/x', id).startsWith(uploadRecordPrefix('photos/'))).to.equal(true);
    expect(compareKeys(afterUploadsOf('a'), uploadRecordKey('a', id))).to.be.above(0);
    expect(compareKeys(afterUploadsOf('a'), uploadRecordKey('a\u0002', id))).to.be.below(0);
  });

  it('keys part records so they sort by part number', () => {
    const prefix = partRecordPrefix('k', id);
    const keys = [10, 2, 10000, 1].map((n) => partRecordKey('k', id, n)).sort(compareKeys);
    expect(keys.map((k) => parsePartRecordKey(k, prefix))).to.deep.equal([1, 2, 10, 10000]);
    expect(parsePartRecordKey(`${prefix}00000`, prefix)).to.equal(undefined);
    expect(parsePartRecordKey(partRecordKey('other', id, 1), prefix)).to.equal(undefined);
  });

  it('names the upload and part of any part record, and the prefix of every part of a key', () => {
    expect(parsePartRecord(partRecordKey('odd\u0001key/x', id, 42))).to.deep.equal({ key: 'odd\u0001key/x', uploadId: id, partNumber: 42 });
    expect(partRecordKey('k', id, 1).startsWith(partRecordsOfKeyPrefix('k'))).to.equal(true);
    expect(partRecordKey('kk', id, 1).startsWith(partRecordsOfKeyPrefix('k')), 'not the parts of another key').to.equal(false);
    for (const bad of [uploadRecordKey('k', id), `p/k\u0001${id}\u000100000`, `p/k\u0001short\u000100001`, 'p/', 'p/k']) {
      expect(parsePartRecord(bad), JSON.stringify(bad)).to.equal(undefined);
    }
  });
});
