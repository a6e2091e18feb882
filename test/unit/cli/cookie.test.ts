import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCookie, readCookieFile } from '../../../src/cli/cookie.js';

describe('cli/cookie', () => {
  let dir: string;
  let cwd: string;
  let home: string;

  const write = (path: string, text: string, mode = 0o600): string => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text, { mode });
    chmodSync(path, mode);
    return path;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-cookie-'));
    cwd = join(dir, 'work');
    home = join(dir, 'home');
    mkdirSync(cwd);
    mkdirSync(home);
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('readCookieFile', () => {
    it('reads the cookie without surrounding white space', () => {
      expect(readCookieFile(write(join(dir, 'c'), '  -starts-with-a-dash \n'))).to.deep.equal({ ok: true, cookie: '-starts-with-a-dash' });
    });

    it('refuses a file other users may read, a missing file, an empty one and a directory', function () {
      if (process.platform === 'win32') this.skip();
      const open = readCookieFile(write(join(dir, 'open'), 'some-cookie', 0o644));
      expect(open).to.deep.include({ ok: false });
      expect(!open.ok && open.problem).to.include('can be read by other users (mode 644)').and.include('chmod 600');
      expect(readCookieFile(write(join(dir, 'group'), 'some-cookie', 0o640))).to.deep.include({ ok: false });
      expect(readCookieFile(write(join(dir, 'owner-read-only'), 'some-cookie', 0o400))).to.deep.equal({ ok: true, cookie: 'some-cookie' });
      const missing = readCookieFile(join(dir, 'missing'));
      expect(!missing.ok && missing.problem).to.include(`cannot read the cookie file ${join(dir, 'missing')}`);
      const empty = readCookieFile(write(join(dir, 'empty'), ' \n'));
      expect(!empty.ok && empty.problem).to.include('is empty');
      expect(readCookieFile(dir)).to.deep.include({ ok: false });
    });
  });

  describe('findCookie (leofs-adm)', () => {
    const find = (flags: { cookie?: string; cookieFile?: string }, env: NodeJS.ProcessEnv = {}) => findCookie(flags, { env, cwd, home });

    it('takes --cookie, --cookie-file, LEOFS_COOKIE, LEOFS_COOKIE_FILE, ./data/dev/cookie, ~/.leofs/cookie in that order', () => {
      const flagFile = write(join(dir, 'flag-cookie'), 'from-flag-file');
      const envFile = write(join(dir, 'env-cookie'), 'from-env-file');
      write(join(cwd, 'data', 'dev', 'cookie'), 'from-dev-cluster\n');
      write(join(home, '.leofs', 'cookie'), 'from-home\n');
      const env = { LEOFS_COOKIE: 'from-env', LEOFS_COOKIE_FILE: envFile };
      expect(find({ cookie: 'from-flag', cookieFile: flagFile }, env)).to.deep.equal({ ok: true, cookie: 'from-flag' });
      expect(find({ cookieFile: flagFile }, env)).to.deep.equal({ ok: true, cookie: 'from-flag-file' });
      expect(find({}, env)).to.deep.equal({ ok: true, cookie: 'from-env' });
      expect(find({}, { LEOFS_COOKIE_FILE: envFile })).to.deep.equal({ ok: true, cookie: 'from-env-file' });
      expect(find({})).to.deep.equal({ ok: true, cookie: 'from-dev-cluster' });
      rmSync(join(cwd, 'data'), { recursive: true });
      expect(find({})).to.deep.equal({ ok: true, cookie: 'from-home' });
    });

    it('says where it looked when there is no cookie, and why a named file does not do', () => {
      const none = find({});
      expect(none.ok).to.equal(false);
      expect(!none.ok && none.problem).to.include('--cookie-file').and.include('LEOFS_COOKIE').and.include('./data/dev/cookie').and.include('~/.leofs/cookie');
      const missing = find({ cookieFile: join(dir, 'nowhere') });
      expect(!missing.ok && missing.problem).to.include('cannot read the cookie file');
    });
  });
});
