import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { NodeState, type RecordCodec } from '../../../src/store/node-state.js';
import { ObjectStore } from '../../../src/store/object-store.js';

const posix = process.platform !== 'win32';

/** Every directory and file under `root`, with its permission bits. */
function modes(root: string): Array<{ path: string; directory: boolean; mode: number }> {
  const out = [{ path: root, directory: true, mode: statSync(root).mode & 0o777 }];
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    out.push({ path, directory: entry.isDirectory(), mode: statSync(path).mode & 0o777 });
  }
  return out;
}

function expectPrivate(root: string): void {
  const found = modes(root);
  expect(found.filter((entry) => !entry.directory)).to.not.have.length(0);
  for (const entry of found) expect(entry.mode.toString(8), entry.path).to.equal(entry.directory ? '700' : '600');
}

function fileBytes(dir: string): Buffer {
  return Buffer.concat(readdirSync(dir).map((name) => readFileSync(join(dir, name))));
}

interface Note {
  readonly text: string;
}
const isNote = (value: unknown): value is Note => typeof value === 'object' && value !== null && typeof (value as Note).text === 'string';

/** Stores a note reversed, under a version mark; a note stored as it is was written by an earlier release. */
const reversed: RecordCodec<Note> = {
  encode: (note) => ({ v: 2, txet: [...note.text].reverse().join('') }),
  decode: (stored) => {
    const record = stored as { v?: number; txet?: string };
    if (record.v === undefined) return stored;
    if (record.v !== 2) throw new Error('unknown version');
    return { text: [...String(record.txet)].reverse().join('') };
  },
  isOutdated: (stored) => (stored as { v?: number }).v === undefined,
};

describe('store/node-state', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-node-state-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps a node's state and objects readable by its user only", async function () {
    if (!posix) this.skip();
    const data = join(dir, 'node');
    const state = NodeState.open(data, memoryLogger('error').logger);
    await state.table('notes', isNote).put('a', { text: 'hello' });
    const store = ObjectStore.open({ path: data, logger: memoryLogger('error').logger });
    await store.close();
    await state.close();
    expectPrivate(data);
  });

  it('narrows the modes of a data directory left by an earlier release', async function () {
    if (!posix) this.skip();
    const data = join(dir, 'node');
    for (const sub of ['state', 'objects']) {
      mkdirSync(join(data, sub), { recursive: true, mode: 0o755 });
      const env = open({ path: join(data, sub) });
      await env.put('k', 'v');
      await env.close();
      for (const name of readdirSync(join(data, sub))) chmodSync(join(data, sub, name), 0o644);
      chmodSync(join(data, sub), 0o755);
    }
    chmodSync(data, 0o755);
    const state = NodeState.open(data, memoryLogger('error').logger);
    const store = ObjectStore.open({ path: data, logger: memoryLogger('error').logger });
    await store.close();
    await state.close();
    expectPrivate(data);
  });

  it('reads and writes a table through its codec, and still reads records in their earlier form', async () => {
    const state = NodeState.open(dir, memoryLogger('error').logger);
    try {
      await state.table('notes', isNote).put('old', { text: 'written as it is' });
      const notes = state.table('notes', isNote, reversed);
      await notes.put('new', { text: 'written reversed' });
      expect(notes.get('old')).to.deep.equal({ text: 'written as it is' });
      expect(notes.get('new')).to.deep.equal({ text: 'written reversed' });
      expect(state.table('notes', (value): value is unknown => true).get('new')).to.deep.equal({ v: 2, txet: 'desrever nettirw' });
      expect(notes.entries().map(([key]) => key)).to.deep.equal(['new', 'old']);
    } finally {
      await state.close();
    }
  });

  it('upgrades records in an earlier form, leaving no copy of that form in its files, and names those it cannot read', async () => {
    const logs = memoryLogger('info');
    let state = NodeState.open(dir, logs.logger);
    const raw = state.table('notes', (value): value is unknown => true);
    await raw.put('old-1', { text: 'plain-text-one' });
    await raw.put('old-2', { text: 'plain-text-two' });
    await raw.put('broken', { v: 9 });
    await state.table('notes', isNote, reversed).put('new', { text: 'already current' });
    await raw.put('not-a-note', 'left as it is');
    await state.close();
    expect(fileBytes(join(dir, 'state')).includes('plain-text-one'), 'the earlier form is on disk').to.equal(true);

    state = NodeState.open(dir, logs.logger);
    try {
      expect(await state.upgrade('notes', isNote, reversed)).to.deep.equal({ rewritten: 2, unreadable: ['broken'] });
      const notes = state.table('notes', isNote, reversed);
      expect(notes.get('old-1')).to.deep.equal({ text: 'plain-text-one' });
      expect(notes.get('new')).to.deep.equal({ text: 'already current' });
      expect(state.table('notes', (value): value is unknown => true).get('old-2')).to.deep.equal({ v: 2, txet: 'owt-txet-nialp' });
      expect(await state.upgrade('notes', isNote, reversed), 'nothing left to do').to.deep.equal({ rewritten: 0, unreadable: ['broken'] });
    } finally {
      await state.close();
    }
    const bytes = fileBytes(join(dir, 'state'));
    expect(bytes.includes('plain-text-one') || bytes.includes('plain-text-two'), 'no copy of the earlier form in free pages').to.equal(false);
    expect(readdirSync(dir).sort(), 'no compaction copy left behind').to.deep.equal(['state']);
  });
});
