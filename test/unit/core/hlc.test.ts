import { expect } from 'chai';
import {
  compareHlc, decodeHlc, encodeHlc, HLC_MAX_COUNTER, hlcDriftMs, isHlc, observe, tick, type Hlc,
} from '../../../src/core/hlc.js';
import { compareKeys } from '../../../src/core/key-order.js';
import { randomInt, seededRandom } from './seeded-random.js';

const A = 'storage_0@127.0.0.1';
const B = 'storage_1@127.0.0.1';

describe('core/hlc', () => {
  describe('tick', () => {
    it('follows the physical clock while it moves forward', () => {
      const first = tick(undefined, 1000, A);
      expect(first).to.deep.equal({ wallMs: 1000, counter: 0, node: A });
      expect(tick(first, 1005, A)).to.deep.equal({ wallMs: 1005, counter: 0, node: A });
    });

    it('counts events within one millisecond', () => {
      let clock = tick(undefined, 1000, A);
      clock = tick(clock, 1000, A);
      clock = tick(clock, 1000, A);
      expect(clock).to.deep.equal({ wallMs: 1000, counter: 2, node: A });
    });

    it('stays monotonic when the physical clock goes backwards', () => {
      let clock = tick(undefined, 5000, A);
      const seen: Hlc[] = [clock];
      for (const nowMs of [4000, 3000, 4999, 5000, 5001, 100]) {
        clock = tick(clock, nowMs, A);
        seen.push(clock);
      }
      expect(seen.map((c) => [c.wallMs, c.counter])).to.deep.equal([
        [5000, 0], [5000, 1], [5000, 2], [5000, 3], [5000, 4], [5001, 0], [5001, 1],
      ]);
      for (let i = 1; i < seen.length; i++) expect(compareHlc(seen[i - 1]!, seen[i]!)).to.equal(-1);
    });

    it('borrows a millisecond rather than overflow the counter', () => {
      const full: Hlc = { wallMs: 7, counter: HLC_MAX_COUNTER, node: A };
      expect(tick(full, 3, A)).to.deep.equal({ wallMs: 8, counter: 0, node: A });
    });

    it('floors fractional physical time and refuses nonsense', () => {
      expect(tick(undefined, 12.9, A).wallMs).to.equal(12);
      expect(() => tick(undefined, Number.NaN, A)).to.throw(RangeError);
      expect(() => tick(undefined, -1, A)).to.throw(RangeError);
    });
  });

  describe('observe', () => {
    it('jumps to a remote clock that is ahead and counts past it', () => {
      const local = tick(undefined, 1000, A);
      const remote: Hlc = { wallMs: 2000, counter: 4, node: B };
      const after = observe(local, remote, 1001, A);
      expect(after).to.deep.equal({ wallMs: 2000, counter: 5, node: A });
      expect(compareHlc(after, remote)).to.equal(1);
      expect(compareHlc(after, local)).to.equal(1);
    });

    it('uses the physical clock when it is ahead of both', () => {
      expect(observe({ wallMs: 10, counter: 3, node: A }, { wallMs: 20, counter: 9, node: B }, 30, A))
        .to.deep.equal({ wallMs: 30, counter: 0, node: A });
    });

    it('takes the larger counter when local and remote share the wall time', () => {
      expect(observe({ wallMs: 50, counter: 3, node: A }, { wallMs: 50, counter: 9, node: B }, 40, A))
        .to.deep.equal({ wallMs: 50, counter: 10, node: A });
      expect(observe({ wallMs: 50, counter: 12, node: A }, { wallMs: 50, counter: 9, node: B }, 50, A))
        .to.deep.equal({ wallMs: 50, counter: 13, node: A });
    });

    it('keeps the local clock when the remote one is behind', () => {
      expect(observe({ wallMs: 70, counter: 1, node: A }, { wallMs: 20, counter: 99, node: B }, 60, A))
        .to.deep.equal({ wallMs: 70, counter: 2, node: A });
    });

    it('works without a previous local clock', () => {
      expect(observe(undefined, { wallMs: 20, counter: 2, node: B }, 10, A)).to.deep.equal({ wallMs: 20, counter: 3, node: A });
    });

    it('preserves causality along a chain of messages between skewed nodes', () => {
      const next = seededRandom(3);
      const skewMs = [0, -300, 250];
      const clocks: (Hlc | undefined)[] = [undefined, undefined, undefined];
      let previous: Hlc | undefined;
      for (let step = 0; step < 500; step++) {
        const nowMs = 10_000 + step;
        const n = randomInt(next, 3);
        const node = `n${n}`;
        const stamped: Hlc = previous === undefined
          ? tick(clocks[n], nowMs + skewMs[n]!, node)
          : observe(clocks[n], previous, nowMs + skewMs[n]!, node);
        clocks[n] = stamped;
        if (previous !== undefined) expect(compareHlc(stamped, previous)).to.equal(1);
        previous = stamped;
      }
    });
  });

  describe('compareHlc', () => {
    it('orders by wall time, then counter, then node name', () => {
      expect(compareHlc({ wallMs: 1, counter: 9, node: 'z' }, { wallMs: 2, counter: 0, node: 'a' })).to.equal(-1);
      expect(compareHlc({ wallMs: 2, counter: 1, node: 'a' }, { wallMs: 2, counter: 0, node: 'z' })).to.equal(1);
      expect(compareHlc({ wallMs: 2, counter: 1, node: A }, { wallMs: 2, counter: 1, node: B })).to.equal(-1);
      expect(compareHlc({ wallMs: 2, counter: 1, node: B }, { wallMs: 2, counter: 1, node: A })).to.equal(1);
      expect(compareHlc({ wallMs: 2, counter: 1, node: A }, { wallMs: 2, counter: 1, node: A })).to.equal(0);
    });
  });

  describe('encoding', () => {
    it('has a fixed-width readable form', () => {
      expect(encodeHlc({ wallMs: 0x1234, counter: 5, node: A })).to.equal(`00000000123400000005${A}`);
    });

    it('round-trips', () => {
      const clock: Hlc = { wallMs: 1_700_000_000_123, counter: 42, node: 'gateway_0@10.0.0.1' };
      expect(decodeHlc(encodeHlc(clock))).to.deep.equal(clock);
      expect(decodeHlc(encodeHlc({ wallMs: 5, counter: 0, node: '' }))).to.deep.equal({ wallMs: 5, counter: 0, node: '' });
    });

    it('sorts as strings and as bytes exactly as compareHlc', () => {
      const next = seededRandom(17);
      const nodes = ['a', 'ab', 'b', 'storage_10@h', 'storage_9@h', 'é', '😀', '\uffff'];
      const clocks: Hlc[] = [];
      for (let i = 0; i < 400; i++) {
        clocks.push({
          wallMs: [0, 255, 256, 4096, 1_700_000_000_000, 2 ** 48 - 1][randomInt(next, 6)]!,
          counter: [0, 1, 15, 16, 65535, HLC_MAX_COUNTER][randomInt(next, 6)]!,
          node: nodes[randomInt(next, nodes.length)]!,
        });
      }
      const byClock = [...clocks].sort(compareHlc).map(encodeHlc);
      const byString = clocks.map(encodeHlc).sort(compareKeys);
      const byBytes = clocks.map(encodeHlc).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      expect(byString).to.deep.equal(byClock);
      expect(byBytes).to.deep.equal(byClock);
    });

    it('rejects what it did not produce', () => {
      expect(decodeHlc('')).to.equal(undefined);
      expect(decodeHlc('00000000123400000005'.slice(1))).to.equal(undefined);
      expect(decodeHlc('0000000012340000000G' + A)).to.equal(undefined);
      expect(() => encodeHlc({ wallMs: -1, counter: 0, node: A })).to.throw(RangeError);
      expect(() => encodeHlc({ wallMs: 1, counter: 1.5, node: A })).to.throw(RangeError);
    });
  });

  it('validates clocks from outside', () => {
    expect(isHlc({ wallMs: 1, counter: 0, node: A })).to.equal(true);
    expect(isHlc({ wallMs: 1, counter: 0 })).to.equal(false);
    expect(isHlc({ wallMs: '1', counter: 0, node: A })).to.equal(false);
    expect(isHlc({ wallMs: 1, counter: HLC_MAX_COUNTER + 1, node: A })).to.equal(false);
    expect(isHlc(null)).to.equal(false);
  });

  it('measures how far a remote clock runs ahead', () => {
    expect(hlcDriftMs({ wallMs: 1500, counter: 0, node: B }, 1000)).to.equal(500);
    expect(hlcDriftMs({ wallMs: 900, counter: 3, node: B }, 1000)).to.equal(-100);
  });
});
