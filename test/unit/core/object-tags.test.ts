import { expect } from 'chai';
import { isTags, MAX_BUCKET_TAGS, MAX_OBJECT_TAGS, sortedTags, tagSetProblem } from '../../../src/core/object-tags.js';
import { parseTaggingHeader } from '../../../src/protocol/s3/headers.js';
import { parseTagging } from '../../../src/protocol/s3/xml.js';

describe('core/object-tags', () => {
  it('holds tag sets to S3\'s limits', () => {
    expect(tagSetProblem([['a', '1'], ['b', '']], MAX_OBJECT_TAGS)).to.equal(undefined);
    expect(tagSetProblem(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v'] as const), MAX_OBJECT_TAGS)).to.match(/at most 10/);
    expect(tagSetProblem(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'] as const), MAX_BUCKET_TAGS)).to.equal(undefined);
    expect(tagSetProblem([['', 'v']], MAX_OBJECT_TAGS)).to.match(/1 to 128/);
    // Characters, not UTF-16 units: 128 emoji are a valid key.
    expect(tagSetProblem([['😀'.repeat(128), 'v']], MAX_OBJECT_TAGS)).to.equal(undefined);
    expect(tagSetProblem([['k', 'v'.repeat(257)]], MAX_OBJECT_TAGS)).to.match(/256/);
    expect(tagSetProblem([['aws:x', 'v']], MAX_OBJECT_TAGS)).to.match(/reserved/);
    expect(tagSetProblem([['k', '1'], ['k', '2']], MAX_OBJECT_TAGS)).to.match(/twice/);
    expect(isTags({ a: '1' }, MAX_OBJECT_TAGS)).to.equal(true);
    expect(isTags({ a: 1 }, MAX_OBJECT_TAGS)).to.equal(false);
    expect(isTags(['a'], MAX_OBJECT_TAGS)).to.equal(false);
    expect(sortedTags({ b: '2', a: '1' })).to.deep.equal([['a', '1'], ['b', '2']]);
  });

  it('reads tags from the x-amz-tagging header and from a Tagging document', () => {
    expect(parseTaggingHeader({ 'x-amz-tagging': 'a=1&b=two%20words&c=&d' })).to.deep.equal({ ok: true, value: [['a', '1'], ['b', 'two words'], ['c', ''], ['d', '']] });
    expect(parseTaggingHeader({})).to.deep.equal({ ok: true, value: undefined });
    expect(parseTaggingHeader({ 'x-amz-tagging': 'a=%E0%A4' }).ok).to.equal(false);
    const parsed = parseTagging('<Tagging><TagSet><Tag><Key>k</Key><Value>v &amp; w</Value></Tag></TagSet></Tagging>');
    expect(parsed).to.deep.equal({ ok: true, value: [['k', 'v & w']] });
    expect(parseTagging('<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>').ok).to.equal(false);
    expect(parseTagging('<Tagging></Tagging>').ok).to.equal(false);
    expect(parseTagging('<Tagging><TagSet/></Tagging>')).to.deep.equal({ ok: true, value: [] });
  });
});
