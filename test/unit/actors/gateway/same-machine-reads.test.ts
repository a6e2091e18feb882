import { expect } from 'chai';
import type { BodyFileRef } from '../../../../src/core/body-file-ref.js';
import type { ObjectMeta } from '../../../../src/core/object-meta.js';
import { SameMachineReads } from '../../../../src/actors/gateway/same-machine-reads.js';
import type { GetOptions, GetResult, StorageApi } from '../../../../src/protocol/cluster/storage-api.js';
import { memoryLogger } from '../../../../src/runtime/logger.js';
import { BodyFileMismatch, NotABodyFile } from '../../../../src/store/same-machine.js';

const MACHINE = 'boot/mnt:[1]';
const META: ObjectMeta = { bucket: 'b', key: 'k', sizeBytes: 8, etag: 'e', contentType: '', userMeta: {}, clock: { wallMs: 1, counter: 0, node: 'n' }, lastModifiedMs: 1, ringChecksum: 1, deleted: false };
const REF: BodyFileRef = { path: '/data/objects/bodies/ab/abcd', offset: 0, length: 8, fileBytes: 8 };
const SENT = Buffer.from('sent-bytes');
const IN_FILE = Buffer.from('in-file!');

/** Storage whose replicas point at a file when asked by this machine, and send the bytes otherwise. */
class PointingStorage implements StorageApi {
  readonly asked: GetOptions[] = [];
  put = (): never => {
    throw new Error('not used');
  };
  delete = (): never => {
    throw new Error('not used');
  };
  list = (): never => {
    throw new Error('not used');
  };
  async get(_kind: string, _bucket: string, _key: string, options: GetOptions = {}): Promise<GetResult> {
    this.asked.push(options);
    if (!options.withBody) return { ok: true, meta: META };
    return options.fileOnMachine === MACHINE ? { ok: true, meta: META, bodyFile: REF } : { ok: true, meta: META, body: SENT };
  }
}

function failing(error: Error): () => Promise<Buffer> {
  return () => Promise.reject(error);
}

function errno(code: string): Error {
  return Object.assign(new Error(code), { code });
}

describe('actors/gateway/same-machine-reads', () => {
  it('reads a body where a replica on this machine points, and asks for headers as before', async () => {
    const storage = new PointingStorage();
    const reads = new SameMachineReads(storage, MACHINE, memoryLogger('error').logger, (ref) => (ref === REF ? Promise.resolve(IN_FILE) : Promise.reject(new Error('wrong file'))));
    const got = await reads.get('chunk', 'b', 'k', { withBody: true, bodySlice: { offsetBytes: 0, lengthBytes: 8 } });
    expect(got).to.deep.equal({ ok: true, meta: META, body: IN_FILE });
    expect(await reads.get('object', 'b', 'k')).to.deep.equal({ ok: true, meta: META });
    expect(storage.asked).to.deep.equal([{ withBody: true, bodySlice: { offsetBytes: 0, lengthBytes: 8 }, fileOnMachine: MACHINE }, {}]);
    expect(reads.counts).to.deep.equal({ read: 1, fellBack: 0 });
  });

  it('reads the body into a buffer the caller lends, asked for only when it reads a file', async () => {
    const storage = new PointingStorage();
    const lent = Buffer.alloc(8);
    const asked: number[] = [];
    const lendBuffer = (length: number): Buffer => {
      asked.push(length);
      return lent;
    };
    const readInto: Array<Buffer | undefined> = [];
    const reads = new SameMachineReads(storage, MACHINE, memoryLogger('error').logger, (_ref, into) => {
      readInto.push(into);
      IN_FILE.copy(into!);
      return Promise.resolve(into!);
    });
    const got = await reads.get('chunk', 'b', 'k', { withBody: true, lendBuffer });
    expect(got).to.deep.equal({ ok: true, meta: META, body: IN_FILE });
    expect(readInto).to.deep.equal([lent]);
    expect(got.ok && got.body).to.equal(lent);
    expect(asked).to.deep.equal([8]);
    // A body sent by a replica elsewhere borrows nothing.
    const elsewhere = new SameMachineReads(storage, 'another machine', memoryLogger('error').logger);
    expect(await elsewhere.get('chunk', 'b', 'k', { withBody: true, lendBuffer })).to.deep.equal({ ok: true, meta: META, body: SENT });
    expect(asked).to.deep.equal([8]);
  });

  for (const [why, error] of [['its file went away meanwhile', errno('ENOENT')], ['its file is damaged', new BodyFileMismatch('short')]] as const) {
    it(`has a body sent when ${why}, and keeps reading files afterwards`, async () => {
      const storage = new PointingStorage();
      const reads = new SameMachineReads(storage, MACHINE, memoryLogger('error').logger, failing(error));
      expect(await reads.get('chunk', 'b', 'k', { withBody: true })).to.deep.equal({ ok: true, meta: META, body: SENT });
      expect(storage.asked).to.deep.equal([{ withBody: true, fileOnMachine: MACHINE }, { withBody: true }]);
      await reads.get('chunk', 'b', 'k', { withBody: true });
      expect(storage.asked[2]).to.deep.equal({ withBody: true, fileOnMachine: MACHINE });
      expect(reads.counts).to.deep.equal({ read: 0, fellBack: 2 });
    });
  }

  it('reads nothing when pointed at other bytes than it asked for, and stops asking', async () => {
    const storage = new PointingStorage();
    const reads = new SameMachineReads(storage, MACHINE, memoryLogger('error').logger, () => Promise.resolve(IN_FILE));
    expect(await reads.get('chunk', 'b', 'k', { withBody: true, bodySlice: { offsetBytes: 2, lengthBytes: 6 } })).to.deep.equal({ ok: true, meta: META, body: SENT });
    expect(await reads.get('chunk', 'b', 'k', { withBody: true })).to.deep.equal({ ok: true, meta: META, body: SENT });
    expect(storage.asked.map((options) => options.fileOnMachine)).to.deep.equal([MACHINE, undefined, undefined]);
  });

  for (const [why, error] of [['not allowed to read them', errno('EACCES')], ['pointed at something else', new NotABodyFile('no')]] as const) {
    it(`stops asking for files when it is ${why}, and says so once`, async () => {
      const storage = new PointingStorage();
      const { logger, lines } = memoryLogger('warn');
      const reads = new SameMachineReads(storage, MACHINE, logger, failing(error));
      expect(await reads.get('chunk', 'b', 'k', { withBody: true })).to.deep.equal({ ok: true, meta: META, body: SENT });
      expect(await reads.get('chunk', 'b', 'k', { withBody: true })).to.deep.equal({ ok: true, meta: META, body: SENT });
      expect(storage.asked).to.deep.equal([{ withBody: true, fileOnMachine: MACHINE }, { withBody: true }, { withBody: true }]);
      expect(lines.filter((line) => line.level === 'warn')).to.have.length(1);
    });
  }
});
