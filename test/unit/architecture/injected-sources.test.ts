import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The TypeScript sources, read where they are: this file runs from dist/test/unit/architecture. */
const ACTORS = fileURLToPath(new URL('../../../../src/actors/', import.meta.url));

/**
 * Where a role hands its actors the node's clock and randomness: the only places in the actors that
 * may name the process's own.
 */
const INJECTION_POINTS = new Set(['storage/storage-role.ts']);

const AMBIENT = [/\bDate\.now\(/, /\bnew Date\(\)/, /\bMath\.random\b/, /\bperformance\.now\(/, /(?<![.\w])setTimeout\(/, /(?<![.\w])setInterval\(/];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('time and randomness in the actors', () => {
  it('come from what the runtime injects (the clock, the context), never from the process itself', () => {
    const found: string[] = [];
    for (const file of sourceFiles(ACTORS)) {
      const name = relative(ACTORS, file);
      if (INJECTION_POINTS.has(name)) continue;
      readFileSync(file, 'utf8').split('\n').forEach((line, index) => {
        const code = line.replace(/\/\/.*$/, '');
        if (/^\s*\*/.test(code)) return;
        for (const pattern of AMBIENT) if (pattern.test(code)) found.push(`${name}:${index + 1}: ${line.trim()}`);
      });
    }
    expect(found, found.join('\n')).to.deep.equal([]);
  });
});
