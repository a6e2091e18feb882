import { expect } from 'chai';
import { formatResult, formatTable, hexChecksum } from '../../../src/cli/adm-format.js';

describe('cli/adm-format', () => {
  it('aligns columns to the widest cell under a ruled header', () => {
    const text = formatTable(['node', 'state'], [['storage_0@127.0.0.1', 'running'], ['s1', 'stop']]);
    expect(text.split('\n')).to.deep.equal([
      ' node                | state',
      '---------------------+---------',
      ' storage_0@127.0.0.1 | running',
      ' s1                  | stop',
    ]);
  });

  it('prints checksums as eight hex digits', () => {
    expect(hexChecksum(0x1a)).to.equal('0000001a');
    expect(hexChecksum(0xffffffff)).to.equal('ffffffff');
  });

  it('never prints a secret in a user list, and shows it once for a created user', () => {
    const user = { userId: 'alice', accessKeyId: 'AKIAEXAMPLE000000001', role: 'normal' as const, createdAtMs: 0 };
    expect(formatResult({ kind: 'users', users: [user] })).to.include('AKIAEXAMPLE000000001');
    const created = formatResult({ kind: 'user', user: { ...user, secretAccessKey: 'the-secret-key' } });
    expect(created).to.include('access-key-id: AKIAEXAMPLE000000001');
    expect(created).to.include('secret-access-key: the-secret-key');
  });

  it('shows a cluster that is not started as such', () => {
    const text = formatResult({ kind: 'cluster_status', settings: null, epoch: 0, checksum: 0, previousChecksum: null, consistent: true, members: [], alarms: [] });
    expect(text).to.include('not started');
  });

  it('marks tombstones and unanswered replicas in whereis', () => {
    const text = formatResult({
      kind: 'whereis',
      bucket: 'b',
      key: 'k',
      position: '0'.repeat(32),
      replicas: [
        { node: 'n1', ring: 'current', state: 'running', answer: { ok: true, exists: true, sizeBytes: 0, etag: '', clock: 'c', tombstone: true, lastModifiedMs: 0 } },
        { node: 'n2', ring: 'current', state: 'stop', answer: { ok: false, error: 'NodeDown: n2 is down' } },
        { node: 'n3', ring: 'previous', state: 'running', answer: { ok: true, exists: false } },
      ],
    });
    const rows = text.split('\n').slice(3);
    expect(rows[0]).to.match(/^ \* +\| n1/);
    expect(rows[1]).to.include('NodeDown: n2 is down');
    expect(rows[2]).to.include('not found');
  });
});
