import { expect } from 'chai';
import {
  accessKeyProblem,
  accessKeysOf,
  isUserRecord,
  withAccessKeys,
  authSnapshotProblem,
  endpointProblem,
  supersedes,
  userIdProblem,
  type AuthSnapshot,
} from '../../../src/core/auth-snapshot.js';

const snapshot: AuthSnapshot = {
  version: 1,
  origin: 'a1b2',
  revision: 3,
  users: [{ userId: 'alice', accessKeyId: 'AKIAEXAMPLE000000001', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', role: 'normal', createdAtMs: 1 }],
  buckets: [{ name: 'photos', owner: 'alice', acl: 'private', createdAtMs: 2 }],
  endpoints: ['s3.example.com'],
};

describe('core/auth-snapshot', () => {
  it('accepts a well-formed snapshot and names what is wrong with a bad one', () => {
    expect(authSnapshotProblem(snapshot)).to.equal(undefined);
    expect(authSnapshotProblem({ ...snapshot, version: 2 })).to.match(/version/);
    expect(authSnapshotProblem({ ...snapshot, revision: -1 })).to.match(/revision/);
    expect(authSnapshotProblem({ ...snapshot, users: [{ userId: 'x' }] })).to.match(/users/);
    expect(authSnapshotProblem({ ...snapshot, buckets: [{ ...snapshot.buckets[0], acl: 'everyone' }] })).to.match(/buckets/);
    expect(authSnapshotProblem({ ...snapshot, endpoints: ['Not A Host'] })).to.match(/endpoints/);
    expect(authSnapshotProblem(null)).to.equal('not an object');
  });

  it('orders snapshots by revision within an origin, and takes any other origin', () => {
    expect(supersedes(snapshot, undefined)).to.equal(true);
    expect(supersedes({ ...snapshot, revision: 4 }, snapshot)).to.equal(true);
    expect(supersedes({ ...snapshot, revision: 3 }, snapshot)).to.equal(false);
    expect(supersedes({ ...snapshot, revision: 2 }, snapshot)).to.equal(false);
    expect(supersedes({ ...snapshot, origin: 'ffff', revision: 1 }, snapshot)).to.equal(true);
  });

  it('checks user ids, access keys and endpoints', () => {
    expect(userIdProblem('alice.smith@example')).to.equal(undefined);
    expect(userIdProblem('')).to.be.a('string');
    expect(userIdProblem('has space')).to.be.a('string');
    expect(accessKeyProblem('05236')).to.equal(undefined);
    expect(accessKeyProblem('with/slash')).to.be.a('string');
    expect(accessKeyProblem('with:colon')).to.be.a('string');
    expect(endpointProblem('s3.example.com')).to.equal(undefined);
    expect(endpointProblem('localhost')).to.equal(undefined);
    expect(endpointProblem('-bad.example.com')).to.be.a('string');
    expect(endpointProblem('host:8080')).to.be.a('string');
  });

  it("lists a user's keys oldest first and makes the oldest left the record's own key", () => {
    const alice = snapshot.users[0]!;
    const second = { accessKeyId: 'AKIAEXAMPLE000000002', secretAccessKey: 'second-secret-0002', createdAtMs: 5 };
    expect(accessKeysOf(alice)).to.deep.equal([{ accessKeyId: alice.accessKeyId, secretAccessKey: alice.secretAccessKey, createdAtMs: 1 }]);
    const both = withAccessKeys(alice, [...accessKeysOf(alice), second]);
    expect(both).to.deep.equal({ ...alice, otherKeys: [second] });
    expect(isUserRecord(both)).to.equal(true);
    const rotated = withAccessKeys(both, [second]);
    expect(rotated).to.deep.equal({ ...alice, accessKeyId: second.accessKeyId, secretAccessKey: second.secretAccessKey, keyCreatedAtMs: 5 });
    expect(accessKeysOf(rotated)).to.deep.equal([second]);
    expect(withAccessKeys(rotated, accessKeysOf(rotated)), 'a round trip changes nothing').to.deep.equal(rotated);
    expect(() => withAccessKeys(alice, [])).to.throw(/must keep an access key/);
    expect(isUserRecord({ ...alice, otherKeys: [second, { ...second, accessKeyId: 'AKIAEXAMPLE000000003' }] }), 'three keys').to.equal(false);
    expect(isUserRecord({ ...alice, otherKeys: [] }), 'an empty list is left out instead').to.equal(false);
    expect(isUserRecord({ ...alice, otherKeys: [{ ...second, secretAccessKey: 'short' }] })).to.equal(false);
  });
});
