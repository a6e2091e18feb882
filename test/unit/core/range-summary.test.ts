import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { encodeHlc, type Hlc } from '../../../src/core/hlc.js';
import { differingBuckets, emptyDigests, foldVersion, summaryBucketOf, versionFingerprint } from '../../../src/core/range-summary.js';
import { keyPosition } from '../../../src/core/ring/position.js';

describe('range summary', () => {
  const clock: Hlc = { wallMs: 1_765_000_000_123, counter: 7, node: 'storage_1@127.0.0.1' };

  it('fingerprints a version as the first four bytes of the MD5 of identity, NUL and clock, as every release does', () => {
    for (const identity of ['object\u0000b\u0000k', 'chunk\u0000bucket\u0000p1/ké/ü/日本', '']) {
      const expected = createHash('md5').update(identity).update('\0').update(encodeHlc(clock)).digest().readUInt32BE(0);
      expect(versionFingerprint(identity, clock)).to.equal(expected);
    }
  });

  it('tells versions apart by clock and by key', () => {
    const later = { ...clock, counter: 8 };
    expect(versionFingerprint('object\u0000b\u0000k', clock)).to.not.equal(versionFingerprint('object\u0000b\u0000k', later));
    expect(versionFingerprint('object\u0000b\u0000k', clock)).to.not.equal(versionFingerprint('object\u0000b\u0000j', clock));
  });

  it('folds versions in any order to the same digests, and folding one twice takes it out', () => {
    const keys = ['a', 'b', 'c', 'd'].map((key) => ({ identity: `object\u0000b\u0000${key}`, position: keyPosition('b', key) }));
    const forward = emptyDigests();
    const backward = emptyDigests();
    for (const { identity, position } of keys) foldVersion(forward, position, identity, clock);
    for (const { identity, position } of [...keys].reverse()) foldVersion(backward, position, identity, clock);
    expect(differingBuckets(forward, backward)).to.deep.equal([]);
    foldVersion(forward, keys[0]!.position, keys[0]!.identity, clock);
    expect(differingBuckets(forward, backward)).to.deep.equal([summaryBucketOf(keys[0]!.position)]);
  });
});
