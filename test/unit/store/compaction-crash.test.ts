/**
 * A storage process killed (SIGKILL) while it compacts its store and keeps writing loses no write it
 * acknowledged, wherever the kill lands: in the copy, in a replay, in the switch of generations.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { ObjectStore } from '../../../src/store/object-store.js';

const CHILD = fileURLToPath(new URL('../../support/compaction-child.js', import.meta.url));
/** Delays after the first compaction began, spread over copies, replays and switches. */
const KILL_AFTER_MS = [5, 60, 180, 400, 900];

describe('store/object-store compaction under SIGKILL', function () {
  this.timeout(120_000);

  for (const delayMs of KILL_AFTER_MS) {
    it(`keeps every acknowledged write when killed ${delayMs} ms into its compactions`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'leofs-compact-kill-'));
      try {
        const acked = new Map<string, number>();
        const child = spawn(process.execPath, [CHILD, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
        let pending = '';
        let compacting = false;
        const started = new Promise<void>((resolve) => {
          child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
            const lines = (pending + chunk).split('\n');
            pending = lines.pop() ?? '';
            for (const line of lines) {
              const [word, key, bytes] = line.split(' ');
              if (word === 'acked') acked.set(key!, Number(bytes));
              if (word === 'compacting' && !compacting) {
                compacting = true;
                resolve();
              }
            }
          });
        });
        const exited = new Promise((resolve) => child.once('exit', resolve));
        await Promise.race([started, exited]);
        expect(compacting, 'the child reached its compactions').to.equal(true);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        child.kill('SIGKILL');
        await exited;

        const store = ObjectStore.open({ path: dir, logger: memoryLogger('error').logger, fileBodyMinBytes: 64 * 1024 });
        try {
          let missing = 0;
          for (const [key, bytes] of acked) {
            const body = await store.readBody({ kind: 'object', bucket: 'b', key }, { wallMs: key.startsWith('fill') ? 1 : 2, counter: 0, node: 'n' });
            if (!(body instanceof Buffer) || body.length !== bytes) missing++;
          }
          expect(missing, `of ${acked.size} acknowledged writes`).to.equal(0);
          expect(readdirSync(join(dir, 'objects')).filter((entry) => entry.startsWith('env-')).length, 'one generation at most').to.be.at.most(1);
        } finally {
          await store.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
