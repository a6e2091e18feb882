/**
 * S3 load for fault tests: clients that put, read, delete and race for locks on a small key space,
 * each drawing its operations from a seeded stream of its own, everything they see recorded in a
 * History (history-checker.ts). And the check that every replica of every key holds the same version.
 */
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { AdminClient } from '../../src/cli/admin-client.js';
import { eventually } from './eventually.js';
import { History, type Outcome, type Value } from './history-checker.js';
import { randomInt, seededRandom } from '../unit/core/seeded-random.js';

export const DATA_KEYS: readonly string[] = Array.from({ length: 8 }, (_, i) => `k${i}`);

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

export class S3Load {
  readonly history = new History();
  /** The key the clients race to create with If-None-Match: *; a test moves it on between rounds. */
  lockKey = 'lock-0';
  private running = false;
  private loops: Array<Promise<void>> = [];

  constructor(
    /** Client 0 is kept for the test's own reads; the others make the load. */
    private readonly clients: readonly S3Client[],
    private readonly bucket: string,
    private readonly seed: number,
  ) {}

  start(): void {
    this.running = true;
    this.loops = this.clients.slice(1).map((_, i) => this.loop(i + 1));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  acknowledgedWrites(): number {
    return this.history.ops.filter((op) => op.type === 'write' && op.outcome === 'ok').length;
  }

  async write(client: number, key: string, value: Value, create = false): Promise<void> {
    const { history } = this;
    const sent = history.now();
    let outcome: Outcome;
    try {
      if (value === null) await this.clients[client]!.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
      else await this.clients[client]!.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: value, ...(create ? { IfNoneMatch: '*' } : {}) }));
      outcome = 'ok';
    } catch (error) {
      const status = statusOf(error);
      outcome = status === 412 || status === 409 ? 'refused' : 'unknown';
    }
    history.record({ type: 'write', client, key, value, sent, answered: history.now(), outcome, ...(create ? { create } : {}) });
  }

  async read(client: number, key: string): Promise<void> {
    const { history } = this;
    const sent = history.now();
    try {
      const got = await this.clients[client]!.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const value = await got.Body!.transformToString();
      history.record({ type: 'read', client, key, value, sent, answered: history.now() });
    } catch (error) {
      if (statusOf(error) === 404) history.record({ type: 'read', client, key, value: null, sent, answered: history.now() });
      // Any other failure says nothing about the key.
    }
  }

  private async loop(client: number): Promise<void> {
    const draw = seededRandom(this.seed * 100 + client);
    for (let n = 0; this.running; n++) {
      const key = DATA_KEYS[randomInt(draw, DATA_KEYS.length)]!;
      const roll = draw();
      if (roll < 0.4) await this.write(client, key, `c${client}-${n}`);
      else if (roll < 0.75) await this.read(client, key);
      else if (roll < 0.85) await this.write(client, key, null);
      else if (roll < 0.95) await this.write(client, this.lockKey, `c${client}-${n}`, true);
      else await this.read(client, this.lockKey);
    }
  }
}

/** Waits until every replica of every key answers and holds the same version (or none). */
export async function everyReplicaAgrees(admin: AdminClient, bucket: string, keys: readonly string[], timeoutMs = 60_000): Promise<void> {
  await eventually(async () => {
    for (const key of keys) {
      const where = await admin.run({ command: 'whereis', bucket, key });
      if (!where.ok || where.result.kind !== 'whereis') return false;
      const clocks = new Set(where.result.replicas.map((row) => (row.answer.ok ? (row.answer.exists ? row.answer.clock : 'absent') : 'error')));
      if (clocks.size !== 1 || clocks.has('error')) return false;
    }
    return true;
  }, timeoutMs, 'every replica of every key holding the same version');
}

export interface FaultRun {
  /** Client 0 makes the bucket and the final reads; the others make the load. */
  readonly clients: readonly S3Client[];
  readonly admin: AdminClient;
  readonly bucket: string;
  readonly seed: number;
  readonly rounds: number;
  /** One round of faults: made, held a while, undone. */
  readonly fault: (round: number, random: () => number) => Promise<void>;
}

export interface FaultRunResult {
  readonly acknowledged: number;
  /** What the history checker found, after the replicas converged and client 0 read every key. */
  readonly problems: readonly string[];
}

/**
 * Runs the load through `rounds` rounds of faults (each with a lock key of its own to race for), then,
 * once the faults stop, waits for every replica of every key to agree and reads every key again.
 */
export async function runUnderFaults(run: FaultRun): Promise<FaultRunResult> {
  await run.clients[0]!.send(new CreateBucketCommand({ Bucket: run.bucket }));
  const random = seededRandom(run.seed);
  const load = new S3Load(run.clients, run.bucket, run.seed);
  load.start();
  for (let round = 0; round < run.rounds; round++) {
    load.lockKey = `lock-${round}`;
    await pause(200 + randomInt(random, 400));
    await run.fault(round, random);
  }
  await pause(500);
  await load.stop();
  const keys = [...DATA_KEYS, ...Array.from({ length: run.rounds }, (_, round) => `lock-${round}`)];
  await everyReplicaAgrees(run.admin, run.bucket, keys);
  for (const key of keys) await load.read(0, key);
  return { acknowledged: load.acknowledgedWrites(), problems: load.history.check() };
}

export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
