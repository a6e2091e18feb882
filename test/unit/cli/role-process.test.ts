import { expect } from 'chai';
import { envFor, missingEnv, missingV8Flags, startCommand, v8FlagsFor } from '../../../src/cli/role-process.js';

describe('process settings by role', () => {
  it('gives storage nodes a larger initial old space, and the other roles the defaults', () => {
    expect(v8FlagsFor('storage')).to.deep.equal(['--initial-old-space-size=128']);
    expect(v8FlagsFor('gateway')).to.deep.equal([]);
    expect(v8FlagsFor('manager')).to.deep.equal([]);
  });

  it('names the flags a process was started without', () => {
    expect(missingV8Flags('storage', [])).to.deep.equal(['--initial-old-space-size=128']);
    expect(missingV8Flags('storage', ['--inspect', '--initial-old-space-size=128'])).to.deep.equal([]);
    expect(missingV8Flags('gateway', [])).to.deep.equal([]);
  });

  it('gives gateways a fixed malloc mmap threshold, and names it when a process was started without it', () => {
    expect(envFor('gateway')).to.deep.equal({ MALLOC_MMAP_THRESHOLD_: '4194304' });
    expect(envFor('storage')).to.deep.equal({});
    expect(missingEnv('gateway', {})).to.deep.equal(['MALLOC_MMAP_THRESHOLD_=4194304']);
    expect(missingEnv('gateway', { MALLOC_MMAP_THRESHOLD_: '131072' })).to.deep.equal(['MALLOC_MMAP_THRESHOLD_=4194304']);
    expect(missingEnv('gateway', { MALLOC_MMAP_THRESHOLD_: '4194304' })).to.deep.equal([]);
    expect(missingEnv('manager', {})).to.deep.equal([]);
  });

  it('spells the command line that starts a node with them', () => {
    expect(startCommand('storage', 'bin/leofs')).to.equal('node --initial-old-space-size=128 bin/leofs node --role storage ...');
    expect(startCommand('gateway', 'bin/leofs')).to.equal('MALLOC_MMAP_THRESHOLD_=4194304 node bin/leofs node --role gateway ...');
    expect(startCommand('manager', 'bin/leofs')).to.equal('node bin/leofs node --role manager ...');
  });
});
