/**
 * The far end of the transport benchmark: a node with one actor that answers echoes and counts what
 * it is sent. Prints its cluster address as one JSON line on stdout.
 */
import type { Behavior } from '../src/runtime/actor.js';
import { createLogger } from '../src/runtime/logger.js';
import { startClusterNode } from '../src/runtime/node.js';
import type { ReplyTo } from '../src/runtime/refs.js';
import { worker } from '../src/runtime/supervisor.js';

export type BenchMessage =
  | { readonly type: 'echo'; readonly n: number; readonly replyTo: ReplyTo<{ ok: true; n: number }> }
  | { readonly type: 'note'; readonly n: number }
  | { readonly type: 'blob'; readonly data: Uint8Array }
  | { readonly type: 'totals'; readonly replyTo: ReplyTo<{ ok: true; notes: number; bytes: number }> };

interface Totals {
  notes: number;
  bytes: number;
}

const sink: Behavior<Totals, BenchMessage> = {
  accepts: ['echo', 'note', 'blob', 'totals'],
  init: () => ({ notes: 0, bytes: 0 }),
  receive(state, message, ctx) {
    switch (message.type) {
      case 'echo':
        ctx.system.reply(message.replyTo, { ok: true, n: message.n });
        return state;
      case 'note':
        state.notes++;
        return state;
      case 'blob':
        state.bytes += message.data.length;
        return state;
      case 'totals':
        ctx.system.reply(message.replyTo, { ok: true, notes: state.notes, bytes: state.bytes });
        return state;
    }
  },
};

const cookie = process.argv[2] ?? 'bench-cookie';
const node = await startClusterNode({ node: 'bench_peer@127.0.0.1', cookie, listen: { host: '127.0.0.1', port: 0 }, logger: createLogger({ level: 'warn' }) });
await node.system.startRoot('bench', { strategy: 'one_for_one', maxRestarts: 1, periodMs: 1000, children: [worker('sink', sink)] }, () => process.exit(70));
process.stdout.write(JSON.stringify({ address: node.transport.address }) + '\n');
process.on('SIGTERM', () => void node.stop().then(() => process.exit(0)));
