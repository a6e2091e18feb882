import { expect } from 'chai';
import { AuthView } from '../../../../../src/actors/common/auth-view.js';
import { ExportAccess } from '../../../../../src/actors/gateway/nfs/exports.js';
import { clientAddressOf, isCidr } from '../../../../../src/actors/gateway/client-networks.js';
import { parseExportFlag, parseNfsConfig } from '../../../../../src/actors/gateway/nfs/nfs-config.js';
import { NfsError } from '../../../../../src/actors/gateway/nfs/nfs-errors.js';
import { AUTH_SNAPSHOT_VERSION, type AuthSnapshot, type BucketRecord, type UserRecord } from '../../../../../src/core/auth-snapshot.js';
import { memoryLogger } from '../../../../../src/runtime/logger.js';

const users: UserRecord[] = [
  { userId: 'alice', accessKeyId: 'AK1', secretAccessKey: 's1', role: 'normal', createdAtMs: 1 },
  { userId: 'bob', accessKeyId: 'AK2', secretAccessKey: 's2', role: 'normal', createdAtMs: 1 },
];
const buckets = [
  { name: 'photos', owner: 'alice', acl: 'private', createdAtMs: 1 },
  { name: 'music', owner: 'bob', acl: 'private', createdAtMs: 1 },
] as BucketRecord[];

function view(): AuthView {
  const v = new AuthView();
  v.install({ version: AUTH_SNAPSHOT_VERSION, revision: 1, users, buckets, endpoints: [] } as unknown as AuthSnapshot);
  return v;
}

function access(exports: unknown): ExportAccess {
  const parsed = parseNfsConfig({ enabled: true, exports });
  if (!parsed.ok) throw new Error(parsed.problem);
  return new ExportAccess(parsed.config, view());
}

describe('NFS exports', () => {
  const { logger } = memoryLogger();

  it('let in only the client addresses of the export that names the bucket', () => {
    const exports = access([
      { bucket: 'photos', clients: ['10.0.0.0/8', '::1/128'], user: 'alice' },
      { bucket: '*', clients: ['192.168.1.7'], user: 'bob' },
    ]);
    expect(exports.exportFor('photos', '10.1.2.3')?.user).to.equal('alice');
    expect(exports.exportFor('photos', '::1')?.user).to.equal('alice');
    expect(exports.exportFor('photos', '11.0.0.1')).to.equal(undefined);
    // A bucket with its own export is not reachable through the wildcard one.
    expect(exports.exportFor('photos', '192.168.1.7')).to.equal(undefined);
    expect(exports.exportFor('music', '192.168.1.7')?.user).to.equal('bob');
    expect(exports.exportFor('music', '192.168.1.8')).to.equal(undefined);
    expect(exports.exportedTo('192.168.1.7')).to.deep.equal(['music']);
    expect(exports.exportedTo('10.9.9.9')).to.deep.equal(['photos']);
    expect(clientAddressOf('::ffff:10.1.2.3')).to.equal('10.1.2.3');
  });

  it("check the mapped user's rights on the bucket as S3 does", () => {
    const exports = access([{ bucket: '*', clients: ['0.0.0.0/0'], user: 'alice' }]);
    const entry = exports.exportFor('photos', '1.2.3.4')!;
    expect(exports.authorize(entry, buckets[0]!, 's3:PutObject', 'a.txt', '1.2.3.4', 0, logger).userId).to.equal('alice');
    expect(() => exports.authorize(entry, buckets[1]!, 's3:ListBucket', undefined, '1.2.3.4', 0, logger)).to.throw(NfsError).with.property('status', 'NFS3ERR_ACCES');
    const ghost = access([{ bucket: '*', clients: ['0.0.0.0/0'], user: 'nobody' }]);
    expect(() => ghost.authorize(ghost.exportFor('photos', '1.2.3.4')!, buckets[0]!, 's3:GetObject', 'a', '1.2.3.4', 0, logger)).to.throw(NfsError);
  });

  it('are checked when the config is read', () => {
    expect(parseNfsConfig({ exports: [{ bucket: 'photos', clients: ['10.0.0.0/33'], user: 'a' }] }).ok).to.equal(false);
    expect(parseNfsConfig({ exports: [{ bucket: 'photos', clients: [], user: 'a' }] }).ok).to.equal(false);
    expect(parseNfsConfig({ exports: [{ bucket: 'Bad_Name', clients: ['::1'], user: 'a' }] }).ok).to.equal(false);
    expect(parseNfsConfig({ port: 70000 }).ok).to.equal(false);
    expect(parseNfsConfig({ surprise: 1 }).ok).to.equal(false);
    expect(parseExportFlag('*=127.0.0.0/8,::1=admin')).to.deep.include({ bucket: '*', clients: ['127.0.0.0/8', '::1'], user: 'admin', readOnly: false });
    expect(parseExportFlag('photos=admin')).to.be.a('string');
    expect(isCidr('fe80::/10')).to.equal(true);
    expect(isCidr('1.2.3')).to.equal(false);
  });
});
