import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { missingServerV8Flags, SERVER_V8_FLAGS } from '../../../src/cli/server-v8-flags.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

describe('server V8 flags', () => {
  it('the leofs executable starts node with every one of them', () => {
    const shebang = readFileSync(MAIN, 'utf8').split('\n', 1)[0]!;
    expect(shebang.startsWith('#!/usr/bin/env -S node ')).to.equal(true);
    const passed = shebang.split(' ').slice(2);
    expect(missingServerV8Flags(passed)).to.deep.equal([]);
  });

  it('names the flags a process was started without', () => {
    expect(missingServerV8Flags([])).to.deep.equal([...SERVER_V8_FLAGS]);
    expect(missingServerV8Flags(['--inspect', ...SERVER_V8_FLAGS])).to.deep.equal([]);
  });
});
