import { expect } from 'chai';
import {
  chunkKeysOf, concatLayouts, isVersionId, newVersionId, parseVersionedChunkKey, versionIdsOf, versionedChunkKey,
} from '../../../src/core/chunk-layout.js';

describe('core/chunk-layout', () => {
  const v1 = '0123456789abcdef01234567';
  const v2 = 'fedcba9876543210fedcba98';

  it('makes fresh hex version ids', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newVersionId()));
    expect(ids.size).to.equal(100);
    for (const id of ids) expect(isVersionId(id)).to.equal(true);
    expect(isVersionId('0123\n')).to.equal(false);
  });

  it('keys chunks by object key, version id and index, and parses them back', () => {
    expect(versionedChunkKey('a/b.bin', v1, 3)).to.equal(`a/b.bin\n${v1}\n3`);
    expect(parseVersionedChunkKey(`odd\nkey\n${v1}\n12`)).to.deep.equal({ key: 'odd\nkey', versionId: v1, index: 12 });
    expect(parseVersionedChunkKey('plain\n3')).to.equal(undefined);
    expect(parseVersionedChunkKey(`k\n${v1}\n01`)).to.equal(undefined);
    expect(() => versionedChunkKey('k', 'nope', 0)).to.throw(RangeError);
  });

  it('names the chunks of runs in body order, and of index-only layouts', () => {
    const layout = { chunkSizesBytes: [5, 5, 2, 7], runs: [{ versionId: v1, chunkCount: 3 }, { versionId: v2, chunkCount: 1 }] };
    expect(chunkKeysOf('k', layout)).to.deep.equal([`k\n${v1}\n0`, `k\n${v1}\n1`, `k\n${v1}\n2`, `k\n${v2}\n0`]);
    expect(chunkKeysOf('k', { chunkSizesBytes: [5, 1] })).to.deep.equal(['k\n0', 'k\n1']);
    expect(() => chunkKeysOf('k', { chunkSizesBytes: [5], runs: [{ versionId: v1, chunkCount: 2 }] })).to.throw(RangeError);
  });

  it('concatenates part layouts without touching their chunks', () => {
    const joined = concatLayouts([
      { chunkSizesBytes: [5, 3], runs: [{ versionId: v1, chunkCount: 2 }] },
      { chunkSizesBytes: [], runs: [{ versionId: v2, chunkCount: 0 }] },
      { chunkSizesBytes: [1], runs: [{ versionId: v2, chunkCount: 1 }] },
    ]);
    expect(joined.chunkSizesBytes).to.deep.equal([5, 3, 1]);
    expect(chunkKeysOf('k', joined)).to.deep.equal([`k\n${v1}\n0`, `k\n${v1}\n1`, `k\n${v2}\n0`]);
    expect([...versionIdsOf(joined)]).to.deep.equal([v1, v2]);
    expect(versionIdsOf(undefined).size).to.equal(0);
  });
});
