import { expect } from 'chai';
import { addLinkDigests, countsInLinkDigest, earliestKey, foldLinkVersion } from '../../../src/core/link-digest.js';

const clock = (wallMs: number, node = 'n1') => ({ wallMs, counter: 0, node });

describe('link digests', () => {
  it('fold the same versions to the same digest in any order, and differ on any clock', () => {
    const one = foldLinkVersion(foldLinkVersion(0, 'photos', 'a.jpg', clock(1)), 'photos', 'b.jpg', clock(2));
    const other = foldLinkVersion(foldLinkVersion(0, 'photos', 'b.jpg', clock(2)), 'photos', 'a.jpg', clock(1));
    expect(one).to.equal(other);
    expect(foldLinkVersion(foldLinkVersion(0, 'photos', 'b.jpg', clock(3)), 'photos', 'a.jpg', clock(1))).to.not.equal(one);
    expect(foldLinkVersion(foldLinkVersion(0, 'photos', 'b.jpg', clock(2, 'n2')), 'photos', 'a.jpg', clock(1))).to.not.equal(one);
    // The same key in another bucket is another version.
    expect(foldLinkVersion(0, 'diary', 'a.jpg', clock(1))).to.not.equal(foldLinkVersion(0, 'photos', 'a.jpg', clock(1)));
    // A version folded twice (two nodes judging its key for a moment) does not vanish from the digest.
    expect(foldLinkVersion(one, 'photos', 'a.jpg', clock(1))).to.not.equal(foldLinkVersion(0, 'photos', 'b.jpg', clock(2)));
    expect(addLinkDigests(foldLinkVersion(0, 'photos', 'a.jpg', clock(1)), foldLinkVersion(0, 'photos', 'b.jpg', clock(2)))).to.equal(one);
    expect(addLinkDigests(0xffffffff, 2)).to.equal(1);
  });

  it('leave plain tombstones out, but not a delete marker with versions behind it', () => {
    expect(countsInLinkDigest({ deleted: false })).to.equal(true);
    expect(countsInLinkDigest({ deleted: true })).to.equal(false);
    expect(countsInLinkDigest({ deleted: true, noncurrent: [] })).to.equal(false);
    expect(countsInLinkDigest({ deleted: true, noncurrent: [{} as never] })).to.equal(true);
  });

  it('find the earliest key in the stores\' order (UTF-8 bytes), not by UTF-16 code units', () => {
    // U+FF5E is EF BD 9E in UTF-8 and U+1F600 is F0 9F 98 80: the bytes put U+FF5E first, `<` does not.
    const fullwidth = '\uff5e';
    const emoji = '\u{1f600}';
    expect(fullwidth < emoji).to.equal(false);
    expect(earliestKey([emoji, 'b', fullwidth, 'a'])).to.equal('a');
    expect(earliestKey([emoji, fullwidth])).to.equal(fullwidth);
    expect(earliestKey([])).to.equal(undefined);
  });
});
