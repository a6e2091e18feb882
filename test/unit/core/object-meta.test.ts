import { createHash } from 'node:crypto';
import { expect } from 'chai';
import type { Hlc } from '../../../src/core/hlc.js';
import {
  exceedsUserMetaLimit, isNewer, multipartEtag, newerOf, tombstoneOf, userMetaSizeBytes, USER_META_LIMIT_BYTES,
  type ObjectMeta,
} from '../../../src/core/object-meta.js';

const clock = (wallMs: number, counter: number, node: string): Hlc => ({ wallMs, counter, node });

function meta(overrides: Partial<ObjectMeta> = {}): ObjectMeta {
  return {
    bucket: 'photos',
    key: '2024/cat.jpg',
    sizeBytes: 11,
    etag: '5eb63bbbe01eeed093cb22bb8f5acdc3',
    contentType: 'image/jpeg',
    userMeta: {},
    clock: clock(1000, 0, 'storage_0@h'),
    lastModifiedMs: 1000,
    ringChecksum: 123,
    deleted: false,
    ...overrides,
  };
}

describe('core/object-meta', () => {
  describe('user metadata size', () => {
    it('counts UTF-8 bytes of names and values', () => {
      expect(userMetaSizeBytes({})).to.equal(0);
      expect(userMetaSizeBytes({ color: 'blue' })).to.equal(9);
      expect(userMetaSizeBytes({ 'café': 'é', x: '😀' })).to.equal(5 + 2 + 1 + 4);
    });

    it('allows exactly 2 KiB and no more', () => {
      expect(USER_META_LIMIT_BYTES).to.equal(2048);
      expect(exceedsUserMetaLimit({ a: 'x'.repeat(2047) })).to.equal(false);
      expect(exceedsUserMetaLimit({ a: 'x'.repeat(2048) })).to.equal(true);
      expect(exceedsUserMetaLimit({ a: 'é'.repeat(1023), b: '' })).to.equal(false);
      expect(exceedsUserMetaLimit({ a: 'é'.repeat(1024) })).to.equal(true);
    });
  });

  describe('last writer wins', () => {
    const older = meta({ clock: clock(1000, 5, 'storage_9@h'), sizeBytes: 1 });
    const newer = meta({ clock: clock(1001, 0, 'storage_0@h'), sizeBytes: 2 });

    it('picks the later clock whatever the argument order', () => {
      expect(isNewer(newer, older)).to.equal(true);
      expect(isNewer(older, newer)).to.equal(false);
      expect(newerOf(older, newer)).to.equal(newer);
      expect(newerOf(newer, older)).to.equal(newer);
    });

    it('breaks equal wall time and counter by node name', () => {
      const onA = meta({ clock: clock(5, 1, 'storage_a@h'), sizeBytes: 1 });
      const onB = meta({ clock: clock(5, 1, 'storage_b@h'), sizeBytes: 2 });
      expect(newerOf(onA, onB)).to.equal(onB);
      expect(newerOf(onB, onA)).to.equal(onB);
      expect(isNewer(onA, onA)).to.equal(false);
    });

    it('prefers any copy over a missing one', () => {
      expect(newerOf(undefined, older)).to.equal(older);
      expect(newerOf(older, undefined)).to.equal(older);
      expect(newerOf<ObjectMeta>(undefined, undefined)).to.equal(undefined);
    });

    it('lets a later tombstone hide the object, and a later write revive the key', () => {
      const tomb = tombstoneOf(newer, clock(1002, 0, 'storage_1@h'), 1002, 124);
      expect(tomb).to.include({ bucket: 'photos', key: '2024/cat.jpg', deleted: true, sizeBytes: 0, ringChecksum: 124 });
      expect(newerOf(newer, tomb)).to.equal(tomb);
      const rewrite = meta({ clock: clock(1003, 0, 'storage_2@h') });
      expect(newerOf(tomb, rewrite)).to.equal(rewrite);
    });
  });

  describe('multipartEtag', () => {
    const md5 = (s: string): Buffer => createHash('md5').update(s).digest();

    it('is the MD5 of the concatenated part digests with the part count', () => {
      const parts = ['part one', 'part two', 'part three'];
      const expected = createHash('md5').update(Buffer.concat(parts.map(md5))).digest('hex');
      expect(multipartEtag(parts.map((p) => md5(p).toString('hex')))).to.equal(`${expected}-3`);
    });

    it('matches a known value and accepts quoted part ETags', () => {
      // Parts "hello" and "world": md5 5d41402abc4b2a76b9719d911017c592 and 7d793037a0760186574b0282f2f435e7.
      const etag = multipartEtag(['"5d41402abc4b2a76b9719d911017c592"', '7D793037A0760186574B0282F2F435E7']);
      expect(etag).to.equal('065947336a2f2a95ba8899f3675c3be6-2');
    });

    it('refuses a part ETag that is not an MD5', () => {
      expect(() => multipartEtag(['abc'])).to.throw(RangeError);
      expect(() => multipartEtag(['5d41402abc4b2a76b9719d911017c592-2'])).to.throw(RangeError);
    });
  });
});
