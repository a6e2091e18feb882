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

  it("write a child's bindings after its ancestors', the nearest winning, then the line's own fields", () => {
    const written: string[] = [];
    const root = createLogger({ sink: (line) => written.push(line), now: () => 0, bindings: { node: 'n1', role: 'gateway' } });
    const grandchild = root.child({ component: 'http', role: 'handler' }).child({ requestId: 'R1' });
    grandchild.info('hello', { role: 'line', status: 200 });
    root.info('root');
    const line = JSON.parse(written[0]!) as Record<string, unknown>;
    expect(Object.keys(line)).to.deep.equal(['t', 'level', 'msg', 'node', 'role', 'component', 'requestId', 'status']);
    expect(line).to.include({ node: 'n1', role: 'line', component: 'http', requestId: 'R1', status: 200 });
    expect(JSON.parse(written[1]!)).to.deep.equal({ t: '1970-01-01T00:00:00.000Z', level: 'info', msg: 'root', node: 'n1', role: 'gateway' });
  });
});
