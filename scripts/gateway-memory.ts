/**
 * Memory check of the gateway's streaming. This process runs one gateway over the in-memory storage,
 * whose chunk bodies are written to a temporary directory (so the fake holds no data); a child
 * process plays the client, PUTting 1 GiB generated as it goes and GETting it back while hashing it,
 * so that what is measured here is the gateway alone. Prints the peak resident set size; the gateway
 * is meant to stay under 200 MiB.
 *
 *   npx tsc -p . && node dist/scripts/gateway-memory.js [sizeMiB]
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { AuthView } from '../src/actors/common/auth-view.js';
import { DEFAULT_GATEWAY_CONFIG } from '../src/actors/gateway/gateway-config.js';
import { createGatewayDeps, startGatewayServer } from '../src/actors/gateway/gateway-server.js';
import { AUTH_SNAPSHOT_VERSION } from '../src/core/auth-snapshot.js';
import { systemClock } from '../src/runtime/clock.js';
import { createLogger } from '../src/runtime/logger.js';
import { FakeBucketAdmin, MiB, signedHeaders, USERS } from '../test/support/gateway-harness.js';
import { MemoryStorage, type BodyStore } from '../test/support/memory-storage.js';

const PIECE_BYTES = MiB;
const OBJECT_PATH = '/memory/one-gibibyte.bin';

class DiskBodies implements BodyStore {
  constructor(private readonly dir: string) {}
  write(id: string, body: Uint8Array): void {
    writeFileSync(join(this.dir, id), body);
  }
  read(id: string, range?: { readonly start: number; readonly end: number }): Uint8Array | undefined {
    if (range === undefined) return readFileSync(join(this.dir, id));
    // Only the slice, as the cluster reads it: reading the whole chunk would be garbage of this fake.
    const file = openSync(join(this.dir, id), 'r');
    try {
      const slice = Buffer.allocUnsafe(range.end - range.start);
      return slice.subarray(0, readSync(file, slice, 0, slice.length, range.start));
    } finally {
      closeSync(file);
    }
  }
  sizeOf(id: string): number | undefined {
    try {
      return statSync(join(this.dir, id)).size;
    } catch {
      return undefined;
    }
  }
  remove(id: string): void {
    rmSync(join(this.dir, id), { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The client (child process)

/** The body: 1 MiB pieces of a fixed pattern, each stamped with its index so no two are alike. */
function* generate(totalBytes: number): Generator<Buffer> {
  const base = Buffer.alloc(PIECE_BYTES);
  for (let i = 0; i < PIECE_BYTES; i++) base[i] = (i * 31 + 7) & 0xff;
  for (let offset = 0, index = 0; offset < totalBytes; offset += PIECE_BYTES, index++) {
    const piece = Buffer.from(base.subarray(0, Math.min(PIECE_BYTES, totalBytes - offset)));
    piece.writeUInt32BE(index, 0);
    yield piece;
  }
}

async function client(port: number, totalBytes: number): Promise<void> {
  const endpoint = `http://127.0.0.1:${port}`;
  const putHeaders = await signedHeaders(endpoint, 'alice', { method: 'PUT', path: OBJECT_PATH, headers: { 'content-length': String(totalBytes) } }, { payloadHash: 'UNSIGNED-PAYLOAD' });
  const sent = createHash('md5');
  let started = Date.now();
  const etag = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'PUT', path: OBJECT_PATH, headers: putHeaders }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(String(res.headers.etag)) : reject(new Error(`PUT answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    const body = Readable.from(generate(totalBytes));
    body.on('data', (piece: Buffer) => sent.update(piece));
    body.pipe(req);
  });
  const putMs = Date.now() - started;
  const expected = `"${sent.digest('hex')}"`;
  if (etag !== expected) throw new Error(`ETag ${etag} is not the MD5 of what was sent (${expected})`);
  process.stdout.write(`${JSON.stringify({ phase: 'put', ms: putMs, etag })}\n`);

  const getHeaders = await signedHeaders(endpoint, 'alice', { method: 'GET', path: OBJECT_PATH }, { payloadHash: 'UNSIGNED-PAYLOAD' });
  const received = createHash('md5');
  let receivedBytes = 0;
  started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'GET', path: OBJECT_PATH, headers: getHeaders }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`GET answered ${res.statusCode}`));
      res.on('data', (piece: Buffer) => {
        received.update(piece);
        receivedBytes += piece.length;
      });
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  if (receivedBytes !== totalBytes || `"${received.digest('hex')}"` !== expected) throw new Error('the GET did not return what was PUT');
  process.stdout.write(`${JSON.stringify({ phase: 'get', ms: Date.now() - started })}\n`);
}

// ---------------------------------------------------------------------------------------------
// The gateway (this process)

async function gateway(sizeMiB: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'leofs-gateway-memory-'));
  const storage = new MemoryStorage({ chunkBodies: new DiskBodies(dir) });
  const view = new AuthView();
  view.install({ version: AUTH_SNAPSHOT_VERSION, origin: 'memory', revision: 1, users: [USERS.alice], buckets: [], endpoints: [] });
  const admin = new FakeBucketAdmin(view);
  admin.addBucket('memory', 'alice');
  const deps = createGatewayDeps({
    config: { ...DEFAULT_GATEWAY_CONFIG, httpPort: 0 },
    storage,
    authView: view,
    bucketAdmin: admin,
    clock: systemClock,
    log: createLogger({ level: 'warn' }),
    node: 'gateway_memory@127.0.0.1',
  });
  const server = await startGatewayServer(deps);
  const baseline = process.memoryUsage().rss;
  let peak = { rss: 0, heapUsed: 0, external: 0 };
  const sample = (): void => {
    const usage = process.memoryUsage();
    peak = { rss: Math.max(peak.rss, usage.rss), heapUsed: Math.max(peak.heapUsed, usage.heapUsed), external: Math.max(peak.external, usage.external + usage.arrayBuffers) };
  };
  const sampler = setInterval(sample, 10);
  const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
  const lines: string[] = [];
  try {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'client', String(server.port), String(sizeMiB)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.setEncoding('utf8');
    let output = '';
    child.stdout.on('data', (text: string) => {
      output += text;
      for (;;) {
        const end = output.indexOf('\n');
        if (end < 0) break;
        const report = JSON.parse(output.slice(0, end)) as { phase: string; ms: number; etag?: string };
        output = output.slice(end + 1);
        sample();
        const rate = `${(sizeMiB / (report.ms / 1000)).toFixed(0)} MiB/s`;
        lines.push(report.phase === 'put'
          ? `PUT             ${report.ms} ms (${rate}), ETag ${report.etag}; peak RSS so far ${mib(peak.rss)}`
          : `GET             ${report.ms} ms (${rate}), content verified`);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) throw new Error(`the client failed (exit code ${code})`);
    sample();
    const verdict = peak.rss < 200 * MiB ? 'under 200 MiB' : 'OVER 200 MiB';
    process.stdout.write(
      [
        `object          ${sizeMiB} MiB in ${storage.liveKeys('chunk').length} chunks of ${mib(deps.config.chunkSizeBytes)}`,
        ...lines,
        `baseline RSS    ${mib(baseline)}`,
        `peak RSS        ${mib(peak.rss)} (${verdict})`,
        `peak heap used  ${mib(peak.heapUsed)}`,
        `peak external   ${mib(peak.external)} (Buffers, including garbage not yet collected)`,
        '',
      ].join('\n'),
    );
  } finally {
    clearInterval(sampler);
    await server.close(5_000);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'client') await client(Number(process.argv[3]), Number(process.argv[4]) * MiB);
else await gateway(Number(process.argv[2] ?? 1024));
