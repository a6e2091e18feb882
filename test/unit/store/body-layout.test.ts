import { expect } from 'chai';
import { bodyHeadBytes, OVERFLOW_PAGE_HEADER_BYTES } from '../../../src/store/body-layout.js';

describe('store/body-layout', () => {
  const page = 4096;

  it('keeps a body whole when its pages have room for the header', () => {
    for (const length of [0, 1, 2048, page - OVERFLOW_PAGE_HEADER_BYTES, 2 * page - OVERFLOW_PAGE_HEADER_BYTES, page + 1]) {
      expect(bodyHeadBytes(length, page), `${length}`).to.equal(length);
    }
  });

  it('moves the last bytes of a body that fills its pages into a tail, so the head fills them exactly', () => {
    for (const pages of [1, 2, 1280]) {
      for (const length of [pages * page, pages * page - 1, pages * page - OVERFLOW_PAGE_HEADER_BYTES + 1]) {
        const head = bodyHeadBytes(length, page);
        expect(head, `${length}`).to.equal(pages * page - OVERFLOW_PAGE_HEADER_BYTES);
        expect(length - head).to.be.within(1, OVERFLOW_PAGE_HEADER_BYTES);
      }
    }
  });

  it('follows the page size', () => {
    expect(bodyHeadBytes(16384, 16384)).to.equal(16384 - OVERFLOW_PAGE_HEADER_BYTES);
    expect(bodyHeadBytes(4096, 16384), 'fits in a leaf-sized value').to.equal(4096);
  });
});
