import { expect } from 'chai';
import { open } from 'lmdb';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import type { MetaFormat } from '../../../src/store/meta-encoding.js';
import { ObjectStore } from '../../../src/store/object-store.js';
import { currentEnvironmentPath } from '../../../src/store/store-environment.js';
import { LATEST_STORE_FORMAT, StoreFormatError } from '../../../src/store/store-format.js';
import type { ObjectAddress } from '../../../src/store/store-keys.js';

const AT: ObjectAddress = { kind: 'object', bucket: 'b', key: 'large' };
const BODY = Buffer.alloc(256 * 1024, 7);
const META: ObjectMeta = { bucket: 'b', key: 'large', sizeBytes: BODY.length, etag: 'e', contentType: '', userMeta: {}, clock: { wallMs: 1, counter: 0, node: 'n1' }, lastModifiedMs: 1, ringChecksum: 1, deleted: false };

describe('store/store-format', function () {
  this.timeout(30_000);
  let dir: string;
  const openStore = (metaFormat: MetaFormat = 1): ObjectStore => ObjectStore.open({ path: dir, logger: memoryLogger('error').logger, metaFormat });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-format-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The store's format mark, read or changed with the store closed; `undefined` removes it. */
  async function mark(change?: { to: number | undefined }): Promise<unknown> {
    const root = open({ path: currentEnvironmentPath(join(dir, 'objects')), maxDbs: 16 });
    const presence = root.openDB<unknown, string>({ name: 'presence' });
    if (change !== undefined) {
      if (change.to === undefined) await presence.remove('store-format');
      else await presence.put('store-format', change.to);
    }
    const found = presence.get('store-format');
    await root.close();
    return found;
  }

  /** Body files, as paths under `bodies/<two characters>/`. */
  const bodyFiles = (): string[] => readdirSync(join(dir, 'objects', 'bodies'), { recursive: true, encoding: 'utf8' }).filter((path) => path.includes('/'));

  it('marks a new store, and a store written before the mark existed, with the format it writes, and never lowers the mark', async () => {
    await openStore().close();
    expect(await mark()).to.equal(1);
    expect(await mark({ to: undefined })).to.equal(undefined);
    await openStore().close();
    expect(await mark()).to.equal(1);
    await openStore(2).close();
    expect(await mark(), 'raised before a record of format 2 is written').to.equal(2);
    await openStore(1).close();
    expect(await mark(), 'records of format 2 may be there').to.equal(2);
    await openStore(3).close();
    expect(await mark()).to.equal(3);
    await openStore(2).close();
    expect(await mark(), 'records of format 3 may be there').to.equal(3);
  });

  it('refuses a store of a later format at open, leaving its records and body files as they were', async () => {
    const store = openStore();
    await store.apply({ address: AT, meta: META, body: BODY, keepPrevious: false });
    await store.close();
    const files = bodyFiles();
    expect(files, 'the body is kept in a file').to.not.be.empty;
    await mark({ to: LATEST_STORE_FORMAT + 1 });

    let refused: unknown;
    try {
      openStore();
    } catch (error) {
      refused = error;
    }
    expect(refused).to.be.instanceOf(StoreFormatError);
    expect((refused as Error).message).to.include(`of format ${LATEST_STORE_FORMAT + 1}`).and.include(`reads formats up to ${LATEST_STORE_FORMAT}`);
    expect(await mark(), 'the mark is left as it was').to.equal(LATEST_STORE_FORMAT + 1);
    expect(bodyFiles()).to.deep.equal(files);

    // A mark that is not a format is refused, and left as it is.
    for (const wrong of ['3', 3.5, 0, { format: 3 }]) {
      await mark({ to: wrong as number });
      expect(() => openStore(), JSON.stringify(wrong)).to.throw(StoreFormatError, /a format its mark does not say/);
      expect(await mark()).to.deep.equal(wrong);
    }

    // Back with a release that reads it, everything is there.
    await mark({ to: LATEST_STORE_FORMAT });
    const again = openStore();
    try {
      expect(again.getMeta(AT)?.sizeBytes).to.equal(BODY.length);
      expect(await again.readBody(AT, META.clock)).to.deep.equal(BODY);
    } finally {
      await again.close();
    }
  });
});
