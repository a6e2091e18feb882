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
});
