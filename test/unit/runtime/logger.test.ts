import { expect } from 'chai';
import { createLogger } from '../../../src/runtime/logger.js';

describe('runtime/logger line observers', () => {
  it('see every line the logger and its children write at the current level, and stop when told', () => {
    const written: string[] = [];
    const logger = createLogger({ level: 'info', sink: (line) => written.push(line), now: () => 0 });
    const child = logger.child({ actor: '/node/info' });
    const seen: string[] = [];
    const stop = child.onLine((line) => seen.push(line));
    logger.info('from the parent');
    child.debug('below the level');
    child.warn('from the child', { n: 1 });
    stop();
    logger.info('after stopping');
    expect(seen).to.deep.equal(written.slice(0, 2));
    expect(seen.map((line) => JSON.parse(line).msg)).to.deep.equal(['from the parent', 'from the child']);
    expect(JSON.parse(seen[1]!)).to.include({ actor: '/node/info', n: 1, level: 'warn' });
    expect(written).to.have.length(3);
  });

  it('keep logging when an observer throws', () => {
    const written: string[] = [];
    const logger = createLogger({ sink: (line) => written.push(line) });
    const seen: string[] = [];
    logger.onLine(() => {
      throw new Error('observer failed');
    });
    logger.onLine((line) => seen.push(line));
    logger.info('still written');
    expect(written).to.have.length(1);
    expect(seen).to.deep.equal(written);
  });
});
