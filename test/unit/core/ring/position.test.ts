import { expect } from 'chai';
import {
  bigIntToPosition, isRingPosition, keyPosition, md5Position, positionToBigInt, rangeContains, rangeWidth, RING_SIZE,
  vnodePosition,
} from '../../../../src/core/ring/position.js';

describe('core/ring/position', () => {
  it('hashes bucket/key and alias_index with MD5', () => {
    expect(keyPosition('photos', 'cat.jpg')).to.equal('e3968994c9392f35a7ac9e248417601b');
    expect(md5Position('photos/cat.jpg')).to.equal('e3968994c9392f35a7ac9e248417601b');
    expect(vnodePosition('storage_0', 0)).to.equal('6aab8305a3fa02c807f96dd4534c8849');
    expect(md5Position('')).to.equal('d41d8cd98f00b204e9800998ecf8427e');
  });

  it('orders positions as strings the way it orders them as numbers', () => {
    const values = [0n, 1n, 15n, 16n, 255n, 1n << 64n, (1n << 127n) + 5n, RING_SIZE - 1n];
    const positions = values.map(bigIntToPosition);
    expect([...positions].sort()).to.deep.equal(positions);
    expect(positions.map(positionToBigInt)).to.deep.equal(values);
    expect(bigIntToPosition(RING_SIZE)).to.equal('0'.repeat(32));
    expect(bigIntToPosition(-1n)).to.equal('f'.repeat(32));
  });

  it('recognises positions', () => {
    expect(isRingPosition('e3968994c9392f35a7ac9e248417601b')).to.equal(true);
    expect(isRingPosition('E3968994C9392F35A7AC9E248417601B')).to.equal(false);
    expect(isRingPosition('e3968994')).to.equal(false);
    expect(isRingPosition(42)).to.equal(false);
  });

  it('measures ranges, including the one that wraps', () => {
    const p = (v: bigint): string => bigIntToPosition(v);
    expect(rangeWidth(p(10n), p(25n))).to.equal(15n);
    expect(rangeWidth(p(RING_SIZE - 5n), p(3n))).to.equal(8n);
    expect(rangeWidth(p(7n), p(7n))).to.equal(RING_SIZE);
  });

  it('tests membership of (start, end]', () => {
    const p = (v: bigint): string => bigIntToPosition(v);
    expect(rangeContains(p(10n), p(20n), p(10n))).to.equal(false);
    expect(rangeContains(p(10n), p(20n), p(11n))).to.equal(true);
    expect(rangeContains(p(10n), p(20n), p(20n))).to.equal(true);
    expect(rangeContains(p(10n), p(20n), p(21n))).to.equal(false);
    expect(rangeContains(p(RING_SIZE - 5n), p(3n), p(RING_SIZE - 1n))).to.equal(true);
    expect(rangeContains(p(RING_SIZE - 5n), p(3n), p(0n))).to.equal(true);
    expect(rangeContains(p(RING_SIZE - 5n), p(3n), p(4n))).to.equal(false);
    expect(rangeContains(p(RING_SIZE - 5n), p(3n), p(RING_SIZE - 5n))).to.equal(false);
    expect(rangeContains(p(9n), p(9n), p(1234n))).to.equal(true);
  });
});
