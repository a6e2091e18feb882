import { expect } from 'chai';
import { expiryAfter, lifecycleProblem, matchesFilter, planLifecycle, uploadToAbort, type LifecycleConfig, type LifecycleRule } from '../../../src/core/lifecycle.js';
import type { ObjectMeta, VersionFields } from '../../../src/core/object-meta.js';
import { buildLifecycleConfiguration, parseLifecycleConfiguration } from '../../../src/protocol/s3/xml.js';

const DAY = 86_400_000;
const T0 = Date.parse('2030-03-10T15:00:00Z');
const V = (c: string): string => c.repeat(32);

function rule(fields: Partial<LifecycleRule>): LifecycleRule {
  return { id: 'r', enabled: true, filter: {}, filterForm: 'filter', ...fields };
}

function record(fields: Partial<ObjectMeta>, noncurrent: VersionFields[] = []): ObjectMeta {
  return {
    bucket: 'b', key: 'logs/a', sizeBytes: 10, etag: 'e1', contentType: '', userMeta: {}, clock: { wallMs: T0, counter: 0, node: 'n' },
    lastModifiedMs: T0, ringChecksum: 0, deleted: false, ...fields, ...(noncurrent.length > 0 ? { noncurrent } : {}),
  };
}

const version = (id: string, modifiedMs: number, extra: Partial<VersionFields> = {}): VersionFields => ({ versionId: id, sizeBytes: 10, etag: id, contentType: '', userMeta: {}, lastModifiedMs: modifiedMs, ...extra });

describe('core/lifecycle', () => {
  it('expires at the midnight UTC after the days have passed, as S3 counts', () => {
    expect(new Date(expiryAfter(T0, 1)).toISOString()).to.equal('2030-03-12T00:00:00.000Z');
    expect(new Date(expiryAfter(Date.parse('2030-03-10T00:00:00Z'), 1)).toISOString()).to.equal('2030-03-11T00:00:00.000Z');
  });

  it('expires a current version by days or date, only where the filter matches', () => {
    const config: LifecycleConfig = { rules: [rule({ filter: { prefix: 'logs/' }, expiration: { days: 1 } })] };
    expect(planLifecycle(record({}), config, T0 + DAY, false).actions).to.deep.equal([]);
    expect(planLifecycle(record({}), config, expiryAfter(T0, 1), false).actions).to.deep.equal([{ type: 'expire-current', rule: 'r', etag: 'e1' }]);
    expect(planLifecycle(record({ key: 'other' }), config, T0 + 10 * DAY, false).actions).to.deep.equal([]);
    const dated: LifecycleConfig = { rules: [rule({ expiration: { dateMs: Date.parse('2030-04-01T00:00:00Z') } })] };
    expect(planLifecycle(record({}), dated, Date.parse('2030-03-31T23:59:59Z'), true).actions).to.deep.equal([]);
    expect(planLifecycle(record({}), dated, Date.parse('2030-04-01T00:00:00Z'), true).explanation.join()).to.match(/delete marker is put over it/);
    const disabled: LifecycleConfig = { rules: [rule({ enabled: false, expiration: { days: 1 } })] };
    expect(planLifecycle(record({}), disabled, T0 + 10 * DAY, false).actions).to.deep.equal([]);
  });

  it('filters by tags and size, all of them', () => {
    const filter = { tags: { team: 'a', tier: 'cold' }, sizeGreaterThan: 5, sizeLessThan: 100 };
    expect(matchesFilter(filter, 'k', { tags: { team: 'a', tier: 'cold', extra: 'x' }, sizeBytes: 10 })).to.equal(true);
    expect(matchesFilter(filter, 'k', { tags: { team: 'a' }, sizeBytes: 10 })).to.equal(false);
    expect(matchesFilter(filter, 'k', { tags: { team: 'a', tier: 'cold' }, sizeBytes: 5 })).to.equal(false);
    expect(matchesFilter(filter, 'k', { tags: { team: 'a', tier: 'cold' }, sizeBytes: 100 })).to.equal(false);
  });

  it('removes older versions their days after they stopped being current, keeping the newest few', () => {
    const config: LifecycleConfig = { rules: [rule({ noncurrentExpiration: { noncurrentDays: 2, newerNoncurrentVersions: 1 } })] };
    // v3 current (written day 5), v2 noncurrent since day 5, v1 noncurrent since day 3.
    const key = record({ versionId: V('c'), lastModifiedMs: T0 + 5 * DAY }, [version(V('b'), T0 + 3 * DAY), version(V('a'), T0)]);
    expect(planLifecycle(key, config, T0 + 5 * DAY, true).actions).to.deep.equal([]);
    // v1 stopped being current at day 3: due at midnight after day 5. v2 is kept as the newest older one.
    expect(planLifecycle(key, config, expiryAfter(T0 + 3 * DAY, 2), true).actions).to.deep.equal([{ type: 'remove-version', rule: 'r', versionId: V('a'), reason: 'noncurrent' }]);
  });

  it('removes a delete marker only when it is the key\'s last version', () => {
    const config: LifecycleConfig = { rules: [rule({ expiration: { expiredObjectDeleteMarker: true } })] };
    const alone = record({ versionId: V('m'), deleteMarker: true, sizeBytes: 0, etag: '' });
    expect(planLifecycle(alone, config, T0, true).actions).to.deep.equal([{ type: 'remove-version', rule: 'r', versionId: V('m'), reason: 'expired-delete-marker' }]);
    const covering = record({ versionId: V('m'), deleteMarker: true, sizeBytes: 0, etag: '' }, [version(V('a'), T0)]);
    expect(planLifecycle(covering, config, T0 + 99 * DAY, true).actions).to.deep.equal([]);
  });

  it('aborts uploads their days after they started', () => {
    const config: LifecycleConfig = { rules: [rule({ filter: { prefix: 'tmp/' }, abortIncompleteUploadDays: 2 })] };
    expect(uploadToAbort(config, 'tmp/x', T0, T0 + DAY)).to.equal(undefined);
    expect(uploadToAbort(config, 'tmp/x', T0, expiryAfter(T0, 2))).to.equal('r');
    expect(uploadToAbort(config, 'other', T0, T0 + 9 * DAY)).to.equal(undefined);
  });

  it('refuses configurations S3 refuses', () => {
    expect(lifecycleProblem({ rules: [] })?.code).to.equal('MalformedXML');
    expect(lifecycleProblem({ rules: [rule({})] })?.code).to.equal('MalformedXML');
    expect(lifecycleProblem({ rules: [rule({ expiration: { days: 0 } })] })?.code).to.equal('InvalidArgument');
    expect(lifecycleProblem({ rules: [rule({ expiration: { days: 1, expiredObjectDeleteMarker: true } })] })?.code).to.equal('MalformedXML');
    expect(lifecycleProblem({ rules: [rule({ expiration: { days: 1 } }), rule({ expiration: { days: 2 } })] })?.code).to.equal('InvalidArgument');
    expect(lifecycleProblem({ rules: [rule({ id: 'x'.repeat(256), expiration: { days: 1 } })] })?.code).to.equal('InvalidArgument');
    expect(lifecycleProblem({ rules: [rule({ expiration: { dateMs: Date.parse('2030-01-01T12:00:00Z') } })] })?.code).to.equal('InvalidArgument');
  });

  it('reads and writes LifecycleConfiguration documents, giving rules back in the form they came', () => {
    const xml = '<LifecycleConfiguration><Rule><ID>a</ID><Prefix>tmp/</Prefix><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule>'
      + '<Rule><Filter><And><Prefix>x/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>Disabled</Status>'
      + '<NoncurrentVersionExpiration><NoncurrentDays>5</NoncurrentDays></NoncurrentVersionExpiration></Rule>'
      + '<Rule><ID>up</ID><Filter><Prefix>u/</Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>';
    const parsed = parseLifecycleConfiguration(xml, () => 'generated');
    expect(parsed.ok).to.equal(true);
    if (!parsed.ok) return;
    expect(parsed.value.rules[0]).to.deep.equal({ id: 'a', enabled: true, filter: { prefix: 'tmp/' }, filterForm: 'rule-prefix', expiration: { days: 3 } });
    expect(parsed.value.rules[1]).to.deep.include({ id: 'generated', enabled: false, filter: { prefix: 'x/', tags: { k: 'v' }, sizeGreaterThan: 10 }, noncurrentExpiration: { noncurrentDays: 5 } });
    expect(parsed.value.rules[2]).to.deep.include({ id: 'up', filter: { prefix: 'u/' }, abortIncompleteUploadDays: 2 });
    const tagged = parseLifecycleConfiguration(xml.replace('<NoncurrentVersionExpiration><NoncurrentDays>5</NoncurrentDays></NoncurrentVersionExpiration>', '<AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload>'), () => 'x');
    expect(!tagged.ok && tagged.error.code, 'an upload has no tags to filter by').to.equal('InvalidArgument');
    const again = parseLifecycleConfiguration(buildLifecycleConfiguration(parsed.value), () => 'other');
    expect(again.ok && again.value).to.deep.equal(parsed.value);
    const transition = parseLifecycleConfiguration('<LifecycleConfiguration><Rule><ID>t</ID><Prefix></Prefix><Status>Enabled</Status><Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition></Rule></LifecycleConfiguration>', () => 'x');
    expect(!transition.ok && transition.error.code).to.equal('NotImplemented');
    const badTransition = parseLifecycleConfiguration('<LifecycleConfiguration><Rule><ID>t</ID><Prefix></Prefix><Status>Enabled</Status><Transition><Date>20220927</Date><StorageClass>GLACIER</StorageClass></Transition></Rule></LifecycleConfiguration>', () => 'x');
    expect(!badTransition.ok && badTransition.error.code).to.equal('InvalidArgument');
    const badStatus = parseLifecycleConfiguration('<LifecycleConfiguration><Rule><ID>t</ID><Prefix></Prefix><Status>enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>', () => 'x');
    expect(!badStatus.ok && badStatus.error.code).to.equal('MalformedXML');
    const badDate = parseLifecycleConfiguration('<LifecycleConfiguration><Rule><ID>t</ID><Prefix></Prefix><Status>Enabled</Status><Expiration><Date>20200101</Date></Expiration></Rule></LifecycleConfiguration>', () => 'x');
    expect(!badDate.ok && badDate.error.code).to.equal('InvalidArgument');
  });
});
