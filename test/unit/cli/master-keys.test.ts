import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findMasterKeys, masterKeyFileText, parseMasterKeys, readMasterKeyFile, type MasterKeysResult } from '../../../src/cli/master-keys.js';
import type { MasterKeys } from '../../../src/core/object-encryption.js';

const KEY_A = randomBytes(32);
const KEY_B = randomBytes(32);
const A = KEY_A.toString('base64');
const B = KEY_B.toString('base64');

function keysOf(result: MasterKeysResult | undefined): MasterKeys {
  if (result === undefined) throw new Error('no keys');
  if (!result.ok) throw new Error(result.problem);
  return result.masterKeys;
}

function problemOf(result: MasterKeysResult | undefined): string {
  if (result === undefined || result.ok) throw new Error('accepted');
  return result.problem;
}

describe('cli/master-keys', () => {
  describe('parseMasterKeys', () => {
    it('reads one key a line, skipping blank lines and comments, the last key the current one', () => {
      const keys = keysOf(parseMasterKeys(`# keys of the gateways\n\nold-1 ${A}\n   # rotated in March\n\tnew_2.b   ${B}  \r\n\n`, 'the test keys'));
      expect(keys.current).to.equal('new_2.b');
      expect([...keys.keys.keys()]).to.deep.equal(['old-1', 'new_2.b']);
      expect(Buffer.from(keys.keys.get('old-1')!).equals(KEY_A)).to.equal(true);
      expect(Buffer.from(keys.keys.get('new_2.b')!).equals(KEY_B)).to.equal(true);
    });

    it('makes an appended key the current one and keeps the earlier ones', () => {
      const before = keysOf(parseMasterKeys(`k1 ${A}\n`, 'keys'));
      const after = keysOf(parseMasterKeys(`k1 ${A}\nk2 ${B}\n`, 'keys'));
      expect(before.current).to.equal('k1');
      expect(after.current).to.equal('k2');
      expect(after.keys.has('k1')).to.equal(true);
    });

    it('refuses every malformed line naming its line number and never its content', () => {
      const short = randomBytes(16).toString('base64');
      const long = randomBytes(48).toString('base64');
      const cases: Array<[string, RegExp]> = [
        [`# a comment\nk1 ${A}\nk1 ${B}\n`, /keys, line 3: the key id k1 is already on line 2/],
        [`k1 ${A.slice(0, -2)}!=\n`, /keys, line 1: the key of k1 is not base64/],
        [`k1 ${A.replace('=', '')}\n`, /keys, line 1: the key of k1 is not base64/],
        [`\nk1 ${short}\n`, /keys, line 2: the key of k1 is 16 bytes; a master key is 32 bytes/],
        [`k1 ${long}\n`, /keys, line 1: the key of k1 is 48 bytes/],
        [`${A}\n`, /keys, line 1: expected <id> <base64 of 32 bytes>/],
        [`k1 ${A} extra\n`, /keys, line 1: expected/],
        [`bad/id ${A}\n`, /keys, line 1: a key id is 1 to 64 letters, digits/],
        [`${'x'.repeat(65)} ${A}\n`, /keys, line 1: a key id/],
        ['', /keys holds no key/],
        ['# only a comment\n\n', /keys holds no key/],
      ];
      for (const [text, expected] of cases) {
        const problem = problemOf(parseMasterKeys(text, 'keys'));
        expect(problem, JSON.stringify(text)).to.match(expected);
        expect(problem).to.not.include(A).and.not.include(B).and.not.include(short).and.not.include(long).and.not.include(A.slice(0, 20));
      }
    });
  });

  describe('readMasterKeyFile and findMasterKeys', () => {
    let dir: string;

    const write = (name: string, text: string, mode = 0o600): string => {
      const path = join(dir, name);
      writeFileSync(path, text, { mode });
      chmodSync(path, mode);
      return path;
    };

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'leofs-sse-keys-'));
    });

    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('reads a private file, and the file a new key is written as', () => {
      const path = write('keys', masterKeyFileText('dev-1', KEY_A));
      const keys = keysOf(readMasterKeyFile(path));
      expect(keys.current).to.equal('dev-1');
      expect(Buffer.from(keys.keys.get('dev-1')!).equals(KEY_A)).to.equal(true);
      expect(keysOf(readMasterKeyFile(write('owner-read-only', `k ${A}\n`, 0o400))).current).to.equal('k');
    });

    it('names the file and the line of a malformed key', () => {
      const path = write('keys', `k1 ${A}\nk2 nope\n`);
      expect(problemOf(readMasterKeyFile(path))).to.equal(`the SSE key file ${path}, line 2: the key of k2 is 3 bytes; a master key is 32 bytes (openssl rand -base64 32)`);
    });

    it('refuses a file other users may read, a missing file and a directory', function () {
      if (process.platform === 'win32') this.skip();
      const open = write('open', `k ${A}\n`, 0o644);
      expect(problemOf(readMasterKeyFile(open))).to.include('can be read by other users (mode 644)').and.include(`chmod 600 ${open}`);
      expect(problemOf(readMasterKeyFile(write('group', `k ${A}\n`, 0o640)))).to.include('other users');
      expect(problemOf(readMasterKeyFile(join(dir, 'missing')))).to.include(`cannot read the SSE key file ${join(dir, 'missing')}`);
      expect(problemOf(readMasterKeyFile(dir))).to.include('is not a file');
      expect(keysOf(readMasterKeyFile(open, 'win32')).current, 'no modes to judge on Windows').to.equal('k');
    });

    it('takes the sseKeyFile setting, else LEOFS_SSE_KEYS with lines split by newlines or ;, else none', () => {
      const path = write('keys', `from-file ${A}\n`);
      const env = { LEOFS_SSE_KEYS: `env-1 ${A};env-2 ${B}` };
      expect(keysOf(findMasterKeys({ sseKeyFile: path, env })).current).to.equal('from-file');
      const fromEnv = keysOf(findMasterKeys({ sseKeyFile: undefined, env }));
      expect(fromEnv.current).to.equal('env-2');
      expect([...fromEnv.keys.keys()]).to.deep.equal(['env-1', 'env-2']);
      expect(keysOf(findMasterKeys({ sseKeyFile: undefined, env: { LEOFS_SSE_KEYS: `# rotated\nenv-1 ${A}\nenv-2 ${B}\n` } })).current).to.equal('env-2');
      expect(findMasterKeys({ sseKeyFile: undefined, env: {} })).to.equal(undefined);
      expect(findMasterKeys({ sseKeyFile: undefined, env: { LEOFS_SSE_KEYS: '' } })).to.equal(undefined);
    });

    it('does not look further when a named source is unusable', () => {
      const env = { LEOFS_SSE_KEYS: `env-1 ${A}` };
      expect(problemOf(findMasterKeys({ sseKeyFile: join(dir, 'missing'), env }))).to.include('cannot read the SSE key file');
      expect(problemOf(findMasterKeys({ sseKeyFile: undefined, env: { LEOFS_SSE_KEYS: `env-1 ${A};env-1 ${B}` } }))).to.equal('LEOFS_SSE_KEYS, line 2: the key id env-1 is already on line 1');
    });
  });
});
