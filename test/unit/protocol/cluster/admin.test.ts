import { expect } from 'chai';
import { parseAdminCommand } from '../../../../src/protocol/cluster/admin.js';

describe('manager admin command parsing', () => {
  it('accepts well-formed commands and drops nothing they carry', () => {
    expect(parseAdminCommand({ command: 'status' })).to.deep.equal({ command: 'status' });
    expect(parseAdminCommand({ command: 'status', node: 'storage_0@127.0.0.1' })).to.deep.equal({ command: 'status', node: 'storage_0@127.0.0.1' });
    expect(parseAdminCommand({ command: 'start', n: 3, w: 2, r: 1, d: 2, rackAware: true })).to.deep.equal({ command: 'start', n: 3, w: 2, r: 1, d: 2, rackAware: true });
    expect(parseAdminCommand({ command: 'create_user', userId: 'alice', accessKeyId: 'K123', secretAccessKey: 'secret-123' })).to.deep.equal({
      command: 'create_user',
      userId: 'alice',
      accessKeyId: 'K123',
      secretAccessKey: 'secret-123',
    });
    expect(parseAdminCommand({ command: 'add_bucket', bucket: 'b', accessKeyId: 'K', acl: 'public-read' })).to.deep.equal({ command: 'add_bucket', bucket: 'b', accessKeyId: 'K', acl: 'public-read' });
    expect(parseAdminCommand({ command: 'create_user', userId: 'bob', displayName: 'Bob B.' })).to.deep.equal({ command: 'create_user', userId: 'bob', displayName: 'Bob B.' });
  });

  it('says what is wrong with a malformed command', () => {
    expect(parseAdminCommand(null)).to.equal('the command is not an object');
    expect(parseAdminCommand({ command: 'rm_rf' })).to.match(/unknown command/);
    expect(parseAdminCommand({ command: 'start', n: 3, w: 2, r: 1 })).to.match(/^d must be an integer/);
    expect(parseAdminCommand({ command: 'whereis', bucket: 'b' })).to.equal('key is required');
    expect(parseAdminCommand({ command: 'update_acl', bucket: 'b', accessKeyId: 'K', acl: 'everyone' })).to.match(/^acl must be one of/);
    expect(parseAdminCommand({ command: 'update_user_role', userId: 'u', role: 'root' })).to.match(/^role must be admin or normal/);
    expect(parseAdminCommand({ command: 'status', node: 42 })).to.equal('node must be a non-empty string');
  });

  it('takes bucket_stats with an optional bucket and fresh flag, and nothing else in them', () => {
    expect(parseAdminCommand({ command: 'bucket_stats' })).to.deep.equal({ command: 'bucket_stats' });
    expect(parseAdminCommand({ command: 'bucket_stats', bucket: 'photos', fresh: true })).to.deep.equal({ command: 'bucket_stats', bucket: 'photos', fresh: true });
    expect(parseAdminCommand({ command: 'bucket_stats', fresh: false })).to.deep.equal({ command: 'bucket_stats' });
    expect(parseAdminCommand({ command: 'bucket_stats', bucket: '' })).to.equal('bucket must be a non-empty string');
    expect(parseAdminCommand({ command: 'bucket_stats', fresh: 'yes' })).to.equal('fresh must be true or false');
  });

  it('checks the words of a link with another cluster before anything runs', () => {
    const join = { command: 'join_cluster', manager: '10.0.0.5:4010', clusterId: '0123456789abcdef01234567', secret: 'sixteen-chars-ok' };
    expect(parseAdminCommand(join)).to.deep.equal(join);
    expect(parseAdminCommand({ ...join, manager: '10.0.0.5' })).to.match(/is not the host:port/);
    expect(parseAdminCommand({ ...join, manager: '10.0.0.5:99999' })).to.match(/is not the host:port/);
    expect(parseAdminCommand({ ...join, clusterId: 'a/b' })).to.match(/is not a cluster id/);
    expect(parseAdminCommand({ ...join, secret: 'fifteen-chars!!' })).to.match(/at least 16 characters/);
    expect(parseAdminCommand({ ...join, buckets: ['photos'] })).to.deep.equal({ ...join, buckets: ['photos'] });
    expect(parseAdminCommand({ ...join, buckets: 'photos' })).to.match(/list of bucket names/);
    expect(parseAdminCommand({ ...join, buckets: [] })).to.match(/--buckets names/);
    expect(parseAdminCommand({ ...join, buckets: [7] })).to.match(/--buckets names/);
    expect(parseAdminCommand({ command: 'join_cluster', manager: '10.0.0.5:4010', clusterId: 'c1' })).to.equal('secret is required');
    expect(parseAdminCommand({ command: 'remove_cluster', clusterId: 'c1' })).to.deep.equal({ command: 'remove_cluster', clusterId: 'c1' });
    expect(parseAdminCommand({ command: 'remove_cluster' })).to.equal('clusterId is required');
    expect(parseAdminCommand({ command: 'cluster_status', extra: 1 })).to.deep.equal({ command: 'cluster_status' });
  });
});
