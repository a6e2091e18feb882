import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { historyPath, loadHistory, MAX_HISTORY, saveHistory } from '../../../src/cli/shell-history.js';

describe('cli/shell-history', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-history-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lives in HOME when it is set', () => {
    expect(historyPath({ HOME: '/home/op' }, '/elsewhere')).to.equal('/home/op/.leofs_shell_history');
    expect(historyPath({}, '/elsewhere')).to.equal('/elsewhere/.leofs_shell_history');
  });

  it('saves oldest first, private to its owner, and loads newest first', () => {
    const path = join(dir, 'history');
    expect(saveHistory(path, ['nodes', 'actors storage_0', 'help'])).to.equal(true);
    expect(readFileSync(path, 'utf8')).to.equal('help\nactors storage_0\nnodes\n');
    expect(statSync(path).mode & 0o777).to.equal(0o600);
    expect(loadHistory(path)).to.deep.equal(['nodes', 'actors storage_0', 'help']);
  });

  it('keeps at most its bound, and takes a missing or unwritable file for none', () => {
    const path = join(dir, 'history');
    writeFileSync(path, Array.from({ length: MAX_HISTORY + 10 }, (_, i) => `cmd ${i}`).join('\n') + '\n\n');
    const loaded = loadHistory(path);
    expect(loaded).to.have.length(MAX_HISTORY);
    expect(loaded[0]).to.equal(`cmd ${MAX_HISTORY + 9}`);
    expect(loadHistory(join(dir, 'missing'))).to.deep.equal([]);
    expect(saveHistory(join(dir, 'no', 'such', 'dir'), ['x'])).to.equal(false);
  });
});
