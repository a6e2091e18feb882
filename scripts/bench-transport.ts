/**
 * Transport benchmark: this process and one peer process on loopback.
 *   npm run bench:transport [-- --seconds 5]
 * Prints, as its last lines:
 *   transport.ask_per_s=   round trips per second, small messages, 64 in flight
 *   transport.msg_per_s=   one-way small messages per second
 *   transport.mb_per_s=    MB/s of 1 MiB binary payloads, one way
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { createLogger } from '../src/runtime/logger.js';
import { startClusterNode } from '../src/runtime/node.js';
import { actorRef } from '../src/runtime/refs.js';
import type { BenchMessage } from './bench-transport-peer.js';

const secondsArg = process.argv.indexOf('--seconds');
const phaseMs = (secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 5) * 1000;
const COOKIE = 'bench-cookie';
const IN_FLIGHT = 64;
const BURST = 1000;
const BLOB_BYTES = 1024 * 1024;
/**
 * One-way messages have no flow control of their own beyond the socket: a sender faster than the
 * receiving actor fills its mailbox, which then drops. The sender waits for the sink to confirm it has
 * caught up (an ask queues behind the messages sent before it) once this much is unconfirmed.
 */
const MAX_UNCONFIRMED_SENDS = 32;

const peerScript = fileURLToPath(new URL('./bench-transport-peer.js', import.meta.url));
const peer = spawn(process.execPath, [peerScript, COOKIE], { stdio: ['ignore', 'pipe', 'inherit'] });
const [firstLine] = (await once(createInterface({ input: peer.stdout! }), 'line')) as [string];
const { address } = JSON.parse(firstLine) as { address: string };

const node = await startClusterNode({ node: 'bench_driver@127.0.0.1', cookie: COOKIE, listen: { host: '127.0.0.1', port: 0 }, logger: createLogger({ level: 'warn' }) });
const peerName = await node.transport.connect(address);
const sink = actorRef<BenchMessage>(peerName, '/bench/sink');
const { system, transport } = node;

async function totals(): Promise<{ notes: number; bytes: number }> {
  const reply = await system.ask<BenchMessage, { ok: true; notes: number; bytes: number }>(sink, (replyTo) => ({ type: 'totals', replyTo }), 60_000);
  if (!reply.ok) throw new Error(`totals: ${reply.code}`);
  return reply;
}

async function asks(): Promise<number> {
  let completed = 0;
  let failed = 0;
  const deadline = performance.now() + phaseMs;
  const lane = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const reply = await system.ask<BenchMessage, { ok: true; n: number }>(sink, (replyTo) => ({ type: 'echo', n: completed, replyTo }), 10_000);
      if (reply.ok) completed++;
      else failed++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  if (failed > 0) throw new Error(`${failed} asks failed`);
  return completed / ((performance.now() - started) / 1000);
}

async function oneWay(send: () => void, measure: (t: { notes: number; bytes: number }) => number, unitsPerSend: number, bytesPerSend: number): Promise<number> {
  const before = measure(await totals());
  const started = performance.now();
  let sent = 0;
  let unconfirmed: Promise<unknown> | undefined;
  let sendsSinceConfirm = 0;
  while (performance.now() - started < phaseMs) {
    await transport.whenWritable(peerName, bytesPerSend);
    send();
    sent += unitsPerSend;
    // Ask for a confirmation every half window and wait for the previous one: the sink is never more
    // than a window behind, and the pipe never runs dry while a confirmation travels.
    if (++sendsSinceConfirm >= MAX_UNCONFIRMED_SENDS / 2) {
      await unconfirmed;
      unconfirmed = totals();
      sendsSinceConfirm = 0;
    }
    // Let the frame go out and replies come in before the next burst.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await unconfirmed;
  const delivered = measure(await totals()) - before;
  const elapsedS = (performance.now() - started) / 1000;
  if (delivered !== sent) throw new Error(`sent ${sent} but ${delivered} arrived`);
  return delivered / elapsedS;
}

let askPerS: number;
let msgPerS: number;
let bytesPerS: number;
try {
  askPerS = await asks();
  msgPerS = await oneWay(() => {
    for (let i = 0; i < BURST; i++) system.dispatch(sink, { type: 'note', n: i });
  }, (t) => t.notes, BURST, BURST * 16);
  const blob = Buffer.alloc(BLOB_BYTES, 0x5a);
  bytesPerS = await oneWay(() => system.dispatch(sink, { type: 'blob', data: blob }), (t) => t.bytes, BLOB_BYTES, BLOB_BYTES);
} finally {
  // The peer goes too when a phase fails, or it would hold the terminal (and any pipe) open.
  await node.stop();
  peer.kill('SIGTERM');
  await once(peer, 'exit');
}
process.stdout.write(`transport.ask_per_s=${Math.round(askPerS)}\n`);
process.stdout.write(`transport.msg_per_s=${Math.round(msgPerS)}\n`);
process.stdout.write(`transport.mb_per_s=${Math.round(bytesPerS / 1e6)}\n`);
