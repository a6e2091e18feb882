/**
 * The NFS gateway's TCP server: MOUNT v3 and NFS v3 on one port, records framed as RFC 5531 says
 * (rpc-record.ts), calls dispatched by program and version. Calls of a connection are answered
 * concurrently, replies in whatever order they finish (clients match them by xid).
 *
 * What a client can make us hold is bounded: records are taken from a connection's queue only while
 * fewer than `maxCallsPerConnection` calls are open, and a call stays open until its reply has left for
 * the network (its write callback), not merely been queued; while anything is queued, all calls are
 * open, or unsent replies pass WRITE_HIGH_WATER_BYTES, the connection is not read. So a client that
 * sends without reading stops being read. A connection from an address no export lists is closed at
 * once; connections are limited in all and per address; one idle for `idleConnectionMs` is closed.
 *
 * A record that breaks the framing closes its connection; garbage in a call is GARBAGE_ARGS; a failure
 * inside a call is that call's error, and never reaches the process.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { decodeMount3Call, encodeMount3Result, MOUNT_PROGRAM, MOUNT_VERSION } from '../../../protocol/nfs/mount3.js';
import { decodeNfs3Call } from '../../../protocol/nfs/nfs3.js';
import { encodeNfs3Result } from '../../../protocol/nfs/nfs3-results.js';
import { NFS3_PROGRAM, NFS3_VERSION } from '../../../protocol/nfs/nfs3-types.js';
import { encodeRecord, RecordDecoder } from '../../../protocol/nfs/rpc-record.js';
import {
  AUTH_NONE_VERIFIER, decodeRpcCall, encodeRpcReply, type AcceptedResult, type ArgsDecoding, type RpcCall, type RpcReply,
} from '../../../protocol/nfs/rpc.js';
import { ConnectionLimits } from '../connection-limits.js';
import { clientAddressOf } from '../client-networks.js';
import { MountTable, mountCall } from './mount.js';
import { MAX_WRITE_BYTES, nfsCall } from './nfs-program.js';
import type { NfsCaller, NfsDeps } from './nfs-scope.js';
import type { TimerHandle } from '../../../runtime/clock.js';

/** A WRITE of wtmax bytes and its header, with room to spare. */
const MAX_RECORD_BYTES = MAX_WRITE_BYTES + 64 * 1024;
/** Reply bytes a connection may have waiting for the network before it is no longer read. */
const WRITE_HIGH_WATER_BYTES = 4 * 1024 * 1024;

export interface NfsServer {
  readonly host: string;
  readonly port: number;
  /** Stops accepting, cuts connections, stores what open files hold. */
  close(): Promise<void>;
}

export async function startNfsServer(deps: NfsDeps): Promise<NfsServer> {
  const { config } = deps;
  const log = deps.gateway.log;
  const mounts = new MountTable();
  deps.handles.holdWith((keyHash, key) => mounts.holds(keyHash) || deps.openFiles.holdsKey(key));
  const sockets = new Set<Socket>();
  const limits = new ConnectionLimits(config.maxConnections, config.maxConnectionsPerAddress);
  const server: Server = createServer((socket) => {
    const address = clientAddressOf(socket.remoteAddress);
    if (!deps.exports.admits(address)) {
      log.debug('an NFS connection from an address no export lists was closed', { nfsClient: address });
      socket.destroy();
      return;
    }
    if (!limits.admit(address)) {
      log.warn('an NFS connection over the limit was refused', { nfsClient: address, open: limits.open });
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      limits.leave(address);
    });
    serveConnection(deps, mounts, socket, address);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => log.error('the NFS listener failed', { error }));
  const address = server.address() as AddressInfo;
  return {
    host: address.address,
    port: address.port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await deps.openFiles.closeAll();
    },
  };
}

function serveConnection(deps: NfsDeps, mounts: MountTable, socket: Socket, address: string): void {
  const log = deps.gateway.log.child({ nfsClient: address });
  const { clock } = deps.gateway;
  const { maxCallsPerConnection, idleConnectionMs } = deps.config;
  const decoder = new RecordDecoder(MAX_RECORD_BYTES);
  const queue: Buffer[] = [];
  let inFlight = 0;
  let lastActiveMs = clock.elapsed();
  socket.setNoDelay(true);
  socket.on('error', () => undefined);

  const busy = (): boolean => queue.length > 0 || inFlight > 0;
  const adjustReading = (): void => {
    const full = queue.length > 0 || inFlight >= maxCallsPerConnection || socket.writableLength > WRITE_HIGH_WATER_BYTES;
    if (full && !socket.isPaused()) socket.pause();
    else if (!full && socket.isPaused()) socket.resume();
  };
  const finished = (): void => {
    inFlight--;
    lastActiveMs = clock.elapsed();
    pump();
  };
  const send = (reply: RpcReply): void => {
    if (socket.destroyed) return finished();
    const buffers = encodeRecord(encodeRpcReply(reply));
    socket.cork();
    // The call is open until its last bytes are handed to the network (or the write fails).
    buffers.forEach((buffer, index) => (index === buffers.length - 1 ? socket.write(buffer, () => finished()) : socket.write(buffer)));
    socket.uncork();
  };
  const pump = (): void => {
    while (queue.length > 0 && inFlight < maxCallsPerConnection && !socket.destroyed) {
      const record = queue.shift()!;
      inFlight++;
      answerRecord(deps, mounts, address, log, record).then(
        (reply) => (reply === undefined ? finished() : send(reply)),
        (error: unknown) => {
          log.error('an NFS call failed outside its scope', { error });
          finished();
        },
      );
    }
    if (!socket.destroyed) adjustReading();
  };

  // One timer per connection, moved on lazily: a connection idle (nothing queued, open or arriving) that long is closed.
  let idleTimer: TimerHandle | undefined;
  const checkIdle = (): void => {
    const idleMs = clock.elapsed() - lastActiveMs;
    if (!busy() && idleMs >= idleConnectionMs) {
      log.debug('an idle NFS connection was closed', { idleMs });
      socket.destroy();
      return;
    }
    idleTimer = clock.setTimeout(checkIdle, busy() ? idleConnectionMs : idleConnectionMs - idleMs);
  };
  idleTimer = clock.setTimeout(checkIdle, idleConnectionMs);
  socket.once('close', () => idleTimer?.cancel());

  socket.on('drain', pump);
  socket.on('data', (chunk: Buffer) => {
    lastActiveMs = clock.elapsed();
    const batch = decoder.push(chunk);
    queue.push(...batch.records);
    if (batch.error !== undefined) {
      log.warn('an NFS client sent a record over the limit; closing its connection', { bytes: batch.error.recordBytes, limit: batch.error.maxRecordBytes });
      socket.destroy();
      return;
    }
    pump();
  });
}

async function answerRecord(deps: NfsDeps, mounts: MountTable, address: string, log: NfsCaller['log'], record: Buffer): Promise<RpcReply | undefined> {
  const decoded = decodeRpcCall(record);
  if (decoded.type === 'ignored') {
    log.debug('an NFS record that is not a call was ignored', { reason: decoded.reason });
    return undefined;
  }
  if (decoded.type === 'denied') return decoded.reply;
  const call = decoded.call;
  const credential = call.credential;
  if (credential.flavor === 'OTHER') return { type: 'denied', xid: call.xid, rejection: { stat: 'AUTH_ERROR', auth: 'AUTH_TOOWEAK' } };
  const caller: NfsCaller = {
    deps,
    address,
    ids: credential.flavor === 'AUTH_SYS' ? { uid: credential.uid, gid: credential.gid } : undefined,
    log,
  };
  return { type: 'accepted', xid: call.xid, verifier: AUTH_NONE_VERIFIER, result: await dispatch(caller, mounts, call) };
}

async function dispatch(caller: NfsCaller, mounts: MountTable, call: RpcCall): Promise<AcceptedResult> {
  switch (call.program) {
    case MOUNT_PROGRAM: {
      if (call.version !== MOUNT_VERSION) return { stat: 'PROG_MISMATCH', low: MOUNT_VERSION, high: MOUNT_VERSION };
      const decoded = decodeMount3Call(call.procedure, call.args);
      if (!decoded.ok) return rejected(decoded);
      return { stat: 'SUCCESS', results: encodeMount3Result(await mountCall(caller, mounts, decoded.call)) };
    }
    case NFS3_PROGRAM: {
      if (call.version !== NFS3_VERSION) return { stat: 'PROG_MISMATCH', low: NFS3_VERSION, high: NFS3_VERSION };
      const decoded = decodeNfs3Call(call.procedure, call.args);
      if (!decoded.ok) return rejected(decoded);
      return { stat: 'SUCCESS', results: encodeNfs3Result(await nfsCall(caller, decoded.call)) };
    }
    default:
      return { stat: 'PROG_UNAVAIL' };
  }
}

function rejected(decoded: Extract<ArgsDecoding<unknown>, { ok: false }>): AcceptedResult {
  return decoded.stat === 'GARBAGE_ARGS' ? { stat: 'GARBAGE_ARGS' } : { stat: 'PROC_UNAVAIL' };
}
