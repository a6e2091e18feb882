/**
 * A process that writes to an object store while compacting it over and over, printing `acked KEY`
 * once each write is acknowledged, for a test to SIGKILL at any moment and check that every
 * acknowledged write survived. Usage: node compaction-child.js DIR
 */
import { ObjectStore } from '../../src/store/object-store.js';
import { memoryLogger } from '../../src/runtime/logger.js';

const dir = process.argv[2]!;
const store = ObjectStore.open({ path: dir, logger: memoryLogger('error').logger, fileBodyMinBytes: 64 * 1024 });

function write(key: string, wallMs: number, bytes: number): Promise<void> {
  const address = { kind: 'object' as const, bucket: 'b', key };
  const meta = { bucket: 'b', key, sizeBytes: bytes, etag: 'e', contentType: '', userMeta: {}, clock: { wallMs, counter: 0, node: 'n' }, lastModifiedMs: wallMs, ringChecksum: 1, deleted: false };
  return store.apply({ address, meta, body: Buffer.alloc(bytes, key.length % 256), keepPrevious: false }).then(() => {
    process.stdout.write(`acked ${key} ${bytes}\n`);
  });
}

await Promise.all(Array.from({ length: 3000 }, (_, i) => write(`fill${i}`, 1, 2000 + (i % 3) * 3000)));
process.stdout.write('filled\n');
let n = 0;
const compacting = (async () => {
  for (;;) {
    process.stdout.write('compacting\n');
    await store.compact();
  }
})();
for (;;) {
  const batch = Array.from({ length: 20 }, () => {
    n++;
    return write(`late${n}`, 2, n % 10 === 0 ? 70_000 : 500);
  });
  await Promise.all(batch);
  void compacting;
}
