import { expect } from 'chai';
import { missingProcessSettings, processFor, startCommand } from '../../../src/cli/role-process.js';

describe('process settings by role', () => {
  it('gives storage nodes and gateways a larger initial old space, idle collection and fixed malloc thresholds, managers the defaults', () => {
    expect(processFor('storage')).to.deep.equal({
      v8Flags: ['--initial-old-space-size=128', '--expose-gc'],
      env: { MALLOC_MMAP_THRESHOLD_: '8388608', MALLOC_TRIM_THRESHOLD_: '67108864' },
    });
    expect(processFor('gateway')).to.deep.equal({ v8Flags: ['--initial-old-space-size=64', '--expose-gc'], env: { MALLOC_MMAP_THRESHOLD_: '4194304' } });
    expect(processFor('manager')).to.deep.equal({ v8Flags: [], env: {} });
  });

  it('names what a process was started without', () => {
    const storageEnv = { MALLOC_MMAP_THRESHOLD_: '8388608', MALLOC_TRIM_THRESHOLD_: '67108864' };
    const oldSpace = ['--initial-old-space-size=128', '--expose-gc'];
    const gatewayFlags = ['--initial-old-space-size=64', '--expose-gc'];
    expect(missingProcessSettings('storage', [], {})).to.deep.equal(['MALLOC_MMAP_THRESHOLD_=8388608', 'MALLOC_TRIM_THRESHOLD_=67108864', ...oldSpace]);
    expect(missingProcessSettings('storage', ['--inspect', ...oldSpace], storageEnv)).to.deep.equal([]);
    expect(missingProcessSettings('storage', ['--initial-old-space-size=128'], storageEnv)).to.deep.equal(['--expose-gc']);
    expect(missingProcessSettings('storage', oldSpace, { MALLOC_MMAP_THRESHOLD_: '8388608' })).to.deep.equal(['MALLOC_TRIM_THRESHOLD_=67108864']);
    expect(missingProcessSettings('gateway', [], {})).to.deep.equal(['MALLOC_MMAP_THRESHOLD_=4194304', ...gatewayFlags]);
    expect(missingProcessSettings('gateway', gatewayFlags, { MALLOC_MMAP_THRESHOLD_: '131072' })).to.deep.equal(['MALLOC_MMAP_THRESHOLD_=4194304']);
    expect(missingProcessSettings('gateway', gatewayFlags, { MALLOC_MMAP_THRESHOLD_: '4194304' })).to.deep.equal([]);
    expect(missingProcessSettings('gateway', oldSpace, { MALLOC_MMAP_THRESHOLD_: '4194304' }), 'the storage role\'s old space').to.deep.equal(['--initial-old-space-size=64']);
    expect(missingProcessSettings('manager', [], {})).to.deep.equal([]);
  });

  it('spells the command line that starts a node with them', () => {
    expect(startCommand('storage', 'bin/leofs')).to.equal(
      'MALLOC_MMAP_THRESHOLD_=8388608 MALLOC_TRIM_THRESHOLD_=67108864 node --initial-old-space-size=128 --expose-gc bin/leofs node --role storage ...',
    );
    expect(startCommand('gateway', 'bin/leofs')).to.equal('MALLOC_MMAP_THRESHOLD_=4194304 node --initial-old-space-size=64 --expose-gc bin/leofs node --role gateway ...');
    expect(startCommand('manager', 'bin/leofs')).to.equal('node bin/leofs node --role manager ...');
  });
});
