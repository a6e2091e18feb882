import { expect } from 'chai';
import { defaultRetentionFrom, defaultRetentionProblem, isObjectLockConfig, removalBlocker, retentionChangeProblem } from '../../../src/core/object-lock.js';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { applyVersionedWrite } from '../../../src/core/object-versioning.js';
import { parseLegalHold, parseObjectLockConfiguration, parseRetention } from '../../../src/protocol/s3/xml.js';

const NOW = 1_000_000;
const LATER = NOW + 60_000;
const governance = { mode: 'GOVERNANCE', untilMs: LATER } as const;
const compliance = { mode: 'COMPLIANCE', untilMs: LATER } as const;
const V1 = 'a'.repeat(32);

describe('core/object-lock', () => {
  it('keeps a version under retention or legal hold from removal until it ends', () => {
    expect(removalBlocker({}, NOW, false)).to.equal(undefined);
    expect(removalBlocker({ retention: governance }, NOW, false)).to.match(/GOVERNANCE/);
    expect(removalBlocker({ retention: governance }, NOW, true)).to.equal(undefined);
    expect(removalBlocker({ retention: compliance }, NOW, true)).to.match(/COMPLIANCE/);
    expect(removalBlocker({ retention: compliance }, LATER, false)).to.equal(undefined);
    expect(removalBlocker({ retention: governance, legalHold: true }, NOW, true)).to.match(/legal hold/);
  });

  it('lets retention be extended, and shortened or changed in mode only where governance is bypassed', () => {
    const longer = { mode: 'GOVERNANCE', untilMs: LATER + 1 } as const;
    const shorter = { mode: 'GOVERNANCE', untilMs: LATER - 1 } as const;
    expect(retentionChangeProblem(governance, longer, NOW, false)).to.equal(undefined);
    expect(retentionChangeProblem(governance, { ...longer, mode: 'COMPLIANCE' }, NOW, false)).to.match(/bypass/);
    expect(retentionChangeProblem(governance, { ...longer, mode: 'COMPLIANCE' }, NOW, true)).to.equal(undefined);
    expect(retentionChangeProblem(governance, shorter, NOW, false)).to.match(/bypass/);
    expect(retentionChangeProblem(governance, undefined, NOW, true)).to.equal(undefined);
    expect(retentionChangeProblem(compliance, { ...longer, mode: 'COMPLIANCE' }, NOW, false)).to.equal(undefined);
    expect(retentionChangeProblem(compliance, longer, NOW, true)).to.match(/COMPLIANCE/);
    expect(retentionChangeProblem(compliance, undefined, NOW, true)).to.match(/COMPLIANCE/);
    // Retention that has ended binds nothing.
    expect(retentionChangeProblem(compliance, undefined, LATER + 1, false)).to.equal(undefined);
  });

  it('counts default retention from the write and checks its period', () => {
    expect(defaultRetentionFrom({ mode: 'GOVERNANCE', days: 2 }, NOW)).to.deep.equal({ mode: 'GOVERNANCE', untilMs: NOW + 2 * 86_400_000 });
    expect(defaultRetentionFrom({ mode: 'COMPLIANCE', years: 1 }, NOW)?.untilMs).to.equal(NOW + 365 * 86_400_000);
    expect(defaultRetentionProblem({ days: 1 })).to.equal(undefined);
    expect(defaultRetentionProblem({ days: 1, years: 1 })).to.match(/either/);
    expect(defaultRetentionProblem({ days: 0 })).to.match(/positive/);
    expect(defaultRetentionProblem({ years: 101 })).to.match(/100 years/);
    expect(isObjectLockConfig({})).to.equal(true);
    expect(isObjectLockConfig({ defaultRetention: { mode: 'GOVERNANCE', days: -1 } })).to.equal(false);
  });

  it('refuses in the versioned write itself what the lock forbids', () => {
    const head: ObjectMeta = {
      bucket: 'b', key: 'k', sizeBytes: 0, etag: 'e', contentType: '', userMeta: {}, clock: { wallMs: 1, counter: 0, node: 'n' }, lastModifiedMs: 1,
      ringChecksum: 0, deleted: false, versionId: V1, retention: compliance,
    };
    const target = { bucket: 'b', key: 'k' };
    expect(applyVersionedWrite(head, target, { type: 'remove', versionId: V1, bypassGovernance: true }, undefined, NOW)).to.include({ ok: false, code: 'ObjectLocked' });
    expect(applyVersionedWrite(head, target, { type: 'protect', retention: null, bypassGovernance: true }, undefined, NOW)).to.include({ ok: false, code: 'ObjectLocked' });
    const held = applyVersionedWrite(head, target, { type: 'protect', legalHold: true }, undefined, NOW);
    expect(held.ok && held.record.legalHold).to.equal(true);
    expect(held.ok && held.record.retention).to.deep.equal(compliance);
    expect(applyVersionedWrite(head, target, { type: 'remove', versionId: V1 }, undefined, LATER).ok).to.equal(true);
    // A delete marker over it is no removal.
    expect(applyVersionedWrite(head, target, { type: 'marker', mode: 'Enabled', versionId: 'b'.repeat(32) }, undefined, NOW).ok).to.equal(true);
  });

  it('parses lock documents as S3 defines them', () => {
    expect(parseObjectLockConfiguration('<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>')).to.deep.equal({ ok: true, value: {} });
    const withRule = parseObjectLockConfiguration('<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Years>3</Years></DefaultRetention></Rule></ObjectLockConfiguration>');
    expect(withRule).to.deep.equal({ ok: true, value: { defaultRetention: { mode: 'COMPLIANCE', years: 3 } } });
    const disabled = parseObjectLockConfiguration('<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled></ObjectLockConfiguration>');
    expect(!disabled.ok && disabled.error.code).to.equal('MalformedXML');
    const negative = parseObjectLockConfiguration('<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Years>-1</Years></DefaultRetention></Rule></ObjectLockConfiguration>');
    expect(!negative.ok && negative.error.code).to.equal('InvalidRetentionPeriod');
    expect(parseRetention('<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate></Retention>'))
      .to.deep.equal({ ok: true, value: { mode: 'GOVERNANCE', untilMs: Date.parse('2030-01-01T00:00:00Z') } });
    expect(parseRetention('<Retention><Mode>governance</Mode><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate></Retention>').ok).to.equal(false);
    expect(parseRetention('<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>soon</RetainUntilDate></Retention>').ok).to.equal(false);
    expect(parseLegalHold('<LegalHold><Status>ON</Status></LegalHold>')).to.deep.equal({ ok: true, value: true });
    expect(parseLegalHold('<LegalHold><Status>on</Status></LegalHold>').ok).to.equal(false);
  });
});
