import { expect } from 'chai';
import type { Hlc } from '../../../src/core/hlc.js';
import type { ObjectMeta, VersionFields } from '../../../src/core/object-meta.js';
import {
  applyVersionedWrite, findVersion, hasValidVersions, isObjectVersionId, isVersionedWrite, layoutsDroppedBy, MAX_VERSIONS_PER_KEY, newObjectVersionId,
  versionIdOf, versionsOf, type VersionedWrite,
} from '../../../src/core/object-versioning.js';

const target = { bucket: 'b', key: 'k' };
const V1 = 'a'.repeat(32);
const V2 = 'b'.repeat(32);
const V3 = 'c'.repeat(32);

function clock(wallMs: number): Hlc {
  return { wallMs, counter: 0, node: 'n' };
}

/** A record as the coordinator would stamp the outcome of `write` over `head`. */
function apply(head: ObjectMeta | undefined, write: VersionedWrite, written?: Partial<VersionFields>, at = 100): ObjectMeta {
  const version = written === undefined ? undefined : { sizeBytes: 1, etag: 'e', contentType: 't', userMeta: {}, lastModifiedMs: 0, ...written };
  const outcome = applyVersionedWrite(head, target, write, version, at);
  if (!outcome.ok) throw new Error(`refused: ${outcome.code}`);
  return { lastModifiedMs: at, ...outcome.record, clock: clock(at), ringChecksum: 0, deleted: outcome.deleted } as ObjectMeta;
}

function chunked(run: string): Partial<VersionFields> {
  return { chunks: { chunkSizesBytes: [1], runs: [{ versionId: run, chunkCount: 1 }] } };
}

describe('core/object-versioning', () => {
  it('makes version ids that are valid and distinct, and knows null', () => {
    const a = newObjectVersionId();
    expect(isObjectVersionId(a)).to.equal(true);
    expect(isObjectVersionId('null')).to.equal(true);
    expect(a).to.not.equal(newObjectVersionId());
    expect(isObjectVersionId('nope')).to.equal(false);
    expect(isObjectVersionId('')).to.equal(false);
  });

  it('stacks versions newest first in an enabled bucket, keeping the older ones', () => {
    const first = apply(undefined, { type: 'put', mode: 'Enabled', versionId: V1 }, { etag: 'one', ...chunked('r1') }, 100);
    const second = apply(first, { type: 'put', mode: 'Enabled', versionId: V2 }, { etag: 'two', ...chunked('r2') }, 200);
    expect(versionsOf(second).map(versionIdOf)).to.deep.equal([V2, V1]);
    expect(second.etag).to.equal('two');
    expect(second.lastModifiedMs).to.equal(200);
    // The older version keeps its own time and body.
    expect(second.noncurrent?.[0]).to.include({ etag: 'one', lastModifiedMs: 100 });
    expect(findVersion(second, V1)?.meta).to.include({ etag: 'one', versionId: V1, key: 'k' });
    expect(findVersion(second, V1)?.current).to.equal(false);
    expect(findVersion(second, V2)?.current).to.equal(true);
    expect(findVersion(second, V3)).to.equal(undefined);
  });

  it('keeps one null version in a suspended bucket: a new one replaces it, versions with ids stay', () => {
    const unversioned: ObjectMeta = { ...target, sizeBytes: 0, etag: 'old', contentType: '', userMeta: {}, clock: clock(50), lastModifiedMs: 50, ringChecksum: 0, deleted: false };
    const enabled = apply(unversioned, { type: 'put', mode: 'Enabled', versionId: V1 }, chunked('r1'), 100);
    expect(versionsOf(enabled).map(versionIdOf)).to.deep.equal([V1, 'null']);
    const suspended = apply(enabled, { type: 'put', mode: 'Suspended', versionId: 'null' }, { etag: 'new', ...chunked('r2') }, 200);
    expect(versionsOf(suspended).map(versionIdOf)).to.deep.equal(['null', V1]);
    expect(suspended.etag).to.equal('new');
    // The old null version's chunks (none here) and nothing else go.
    expect(layoutsDroppedBy(enabled, suspended)).to.deep.equal([]);
    const again = apply(suspended, { type: 'put', mode: 'Suspended', versionId: 'null' }, chunked('r3'), 300);
    expect(versionsOf(again).map(versionIdOf)).to.deep.equal(['null', V1]);
    expect(layoutsDroppedBy(suspended, again)).to.deep.equal([{ chunkSizesBytes: [1], runs: [{ versionId: 'r2', chunkCount: 1 }] }]);
  });

  it('puts a delete marker on top, and removing it brings the version below back', () => {
    const put = apply(undefined, { type: 'put', mode: 'Enabled', versionId: V1 }, chunked('r1'), 100);
    const marked = apply(put, { type: 'marker', mode: 'Enabled', versionId: V2 }, undefined, 200);
    expect(marked.deleteMarker).to.equal(true);
    expect(marked.sizeBytes).to.equal(0);
    expect(marked.chunks).to.equal(undefined);
    expect(versionsOf(marked).map(versionIdOf)).to.deep.equal([V2, V1]);
    const unmarked = apply(marked, { type: 'remove', versionId: V2 }, undefined, 300);
    expect(unmarked.deleteMarker).to.equal(undefined);
    expect(unmarked.versionId).to.equal(V1);
    // The version that became current again keeps its own modification time.
    expect(unmarked.lastModifiedMs).to.equal(100);
    expect(unmarked.chunks).to.deep.equal(put.chunks);
  });

  it('removes one version for good; the last one leaves a tombstone; a missing one is refused', () => {
    const one = apply(undefined, { type: 'put', mode: 'Enabled', versionId: V1 }, chunked('r1'), 100);
    const two = apply(one, { type: 'put', mode: 'Enabled', versionId: V2 }, chunked('r2'), 200);
    const older = apply(two, { type: 'remove', versionId: V1 }, undefined, 300);
    expect(versionsOf(older).map(versionIdOf)).to.deep.equal([V2]);
    expect(older.noncurrent).to.equal(undefined);
    expect(layoutsDroppedBy(two, older)).to.deep.equal([one.chunks]);
    const none = apply(older, { type: 'remove', versionId: V2 }, undefined, 400);
    expect(none.deleted).to.equal(true);
    expect(versionsOf(none)).to.deep.equal([]);
    expect(applyVersionedWrite(two, target, { type: 'remove', versionId: V3 }, undefined, 0)).to.deep.equal({ ok: false, code: 'NoSuchVersion' });
    expect(applyVersionedWrite(undefined, target, { type: 'remove', versionId: 'null' }, undefined, 0)).to.deep.equal({ ok: false, code: 'NoSuchVersion' });
  });

  it('refuses to keep a version whose body is in its record until it is moved into chunks', () => {
    const inline: ObjectMeta = { ...target, sizeBytes: 5, etag: 'x', contentType: '', userMeta: {}, clock: clock(50), lastModifiedMs: 50, ringChecksum: 0, deleted: false };
    const write: VersionedWrite = { type: 'put', mode: 'Enabled', versionId: V1 };
    expect(applyVersionedWrite(inline, target, write, undefined, 0)).to.deep.equal({ ok: false, code: 'InlineBody', clock: clock(50) });
    // Moved for another version of the key: still refused.
    const layout = { chunkSizesBytes: [5], runs: [{ versionId: 'r0', chunkCount: 1 }] };
    expect(applyVersionedWrite(inline, target, { ...write, rechunked: { clock: clock(49), layout } }, undefined, 0).ok).to.equal(false);
    const moved = apply(inline, { ...write, rechunked: { clock: clock(50), layout } }, chunked('r1'), 100);
    expect(findVersion(moved, 'null')?.meta.chunks).to.deep.equal(layout);
    // A write that drops the inline version needs no move.
    const replaced = apply(inline, { type: 'put', mode: 'Suspended', versionId: 'null' }, chunked('r1'), 100);
    expect(versionsOf(replaced)).to.have.length(1);
    expect(apply(inline, { type: 'remove', versionId: 'null' }, undefined, 100).deleted).to.equal(true);
  });

  it('keeps at most so many versions of a key, refusing the next one', () => {
    let record: ObjectMeta | undefined;
    for (let i = 0; i < MAX_VERSIONS_PER_KEY; i++) record = apply(record, { type: 'put', mode: 'Enabled', versionId: newObjectVersionId() }, { sizeBytes: 0 }, i + 1);
    expect(versionsOf(record)).to.have.length(MAX_VERSIONS_PER_KEY);
    expect(applyVersionedWrite(record, target, { type: 'put', mode: 'Enabled', versionId: V1 }, undefined, 0)).to.include({ ok: false, code: 'TooManyVersions' });
    // Removing one makes room; a marker counts as a version too.
    record = apply(record, { type: 'remove', versionId: versionIdOf(versionsOf(record).at(-1)!) });
    expect(applyVersionedWrite(record, target, { type: 'marker', mode: 'Enabled', versionId: V1 }, undefined, 0).ok).to.equal(true);
  });

  it('checks versioned writes and version fields that come from the wire', () => {
    expect(isVersionedWrite({ type: 'put', mode: 'Enabled', versionId: V1 })).to.equal(true);
    expect(isVersionedWrite({ type: 'put', mode: 'Suspended', versionId: 'null' })).to.equal(true);
    expect(isVersionedWrite({ type: 'put', mode: 'Suspended', versionId: V1 })).to.equal(false);
    expect(isVersionedWrite({ type: 'put', mode: 'Enabled', versionId: 'null' })).to.equal(false);
    expect(isVersionedWrite({ type: 'remove', versionId: 'null' })).to.equal(true);
    expect(isVersionedWrite({ type: 'remove', versionId: '../x' })).to.equal(false);
    expect(isVersionedWrite({ type: 'marker', mode: 'Other', versionId: V1 })).to.equal(false);
    expect(isVersionedWrite({ type: 'remove', versionId: V1, rechunked: { clock: 'x', layout: {} } })).to.equal(false);
    expect(isVersionedWrite(null)).to.equal(false);
    expect(hasValidVersions({ versionId: V1, noncurrent: [{ sizeBytes: 1, etag: '', lastModifiedMs: 1 }] })).to.equal(true);
    expect(hasValidVersions({ versionId: 'null' })).to.equal(false);
    expect(hasValidVersions({ deleteMarker: false })).to.equal(false);
    expect(hasValidVersions({ noncurrent: [{ sizeBytes: 1, etag: '', lastModifiedMs: 1, noncurrent: [] }] })).to.equal(false);
    expect(hasValidVersions({ noncurrent: 'x' })).to.equal(false);
  });
});
