/**
 * A small NFS v3 client over TCP for tests: the calls libnfs's command-line tools do not make
 * (MKDIR, RENAME, REMOVE, RMDIR) and raw calls to probe the server, written with the wire layer's own
 * XDR and RPC encoders and read back by hand.
 */
import { connect, type Socket } from 'node:net';
import { MOUNT_PROGRAM, MOUNT_VERSION } from '../../src/protocol/nfs/mount3.js';
import { NFS3_PROGRAM, NFS3_VERSION, NFSSTAT3, type Nfs3Status } from '../../src/protocol/nfs/nfs3-types.js';
import { NFS3_PROCEDURES, type Nfs3Procedure } from '../../src/protocol/nfs/nfs3.js';
import { encodeRecord, RecordDecoder } from '../../src/protocol/nfs/rpc-record.js';
import { AUTH_NONE_VERIFIER, decodeRpcReply, encodeRpcCall, type RpcReply } from '../../src/protocol/nfs/rpc.js';
import { XdrReader, XdrWriter } from '../../src/protocol/nfs/xdr.js';

const CALL_TIMEOUT_MS = 20_000;
/** fattr3 on the wire: five uint32 then eight uint64-sized fields. */
const FATTR3_BYTES = 84;

function skipPostOpAttr(reader: XdrReader): void {
  if (reader.bool()) reader.fixedOpaque(FATTR3_BYTES);
}

function skipWcc(reader: XdrReader): void {
  if (reader.bool()) reader.fixedOpaque(24);
  skipPostOpAttr(reader);
}

export interface ReaddirPage {
  readonly status: Nfs3Status;
  readonly cookieverf: Buffer;
  readonly entries: ReadonlyArray<{ readonly name: string; readonly cookie: bigint }>;
  readonly eof: boolean;
}

export class NfsTestClient {
  private nextXid = 1;
  private readonly waiting = new Map<number, { resolve: (reply: RpcReply) => void; reject: (error: Error) => void }>();
  private readonly decoder = new RecordDecoder(16 * 1024 * 1024);

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const record of this.decoder.push(chunk).records) {
        const reply = decodeRpcReply(record);
        this.waiting.get(reply.xid)?.resolve(reply);
        this.waiting.delete(reply.xid);
      }
    });
    // A connection that ends fails the calls still waiting on it.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      for (const { reject } of this.waiting.values()) reject(new Error('the connection closed'));
      this.waiting.clear();
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<NfsTestClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => resolve(new NfsTestClient(socket)));
      socket.once('error', reject);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  /** Resolves once the server has closed (or this side destroyed) the connection. */
  closed(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  /** Calls started inside `start` leave in one write, so the server reads them as one chunk. */
  together<T>(start: () => T): T {
    this.socket.cork();
    try {
      return start();
    } finally {
      this.socket.uncork();
    }
  }

  /** Stops (and starts again) reading replies, as a client that does not read them. */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  async null(): Promise<void> {
    await this.call(NFS3_PROGRAM, NFS3_VERSION, 0, Buffer.alloc(0));
  }

  async read(file: Buffer, offset: bigint, count: number): Promise<Nfs3Status> {
    return (await this.nfs('READ', new XdrWriter().varOpaque(file, 64).uint64(offset).uint32(count))).status;
  }

  /** READ, with the bytes and end-of-file flag it returned. */
  async readData(file: Buffer, offset: bigint, count: number): Promise<{ status: Nfs3Status; data: Buffer | undefined; eof: boolean }> {
    const { status, reader } = await this.nfs('READ', new XdrWriter().varOpaque(file, 64).uint64(offset).uint32(count));
    if (status !== 'NFS3_OK') return { status, data: undefined, eof: false };
    if (reader.bool()) reader.fixedOpaque(FATTR3_BYTES);
    reader.uint32();
    const eof = reader.bool();
    return { status, data: reader.varOpaque(count), eof };
  }

  /** One call; the accepted reply's results (SUCCESS), else throws. */
  async call(program: number, version: number, procedure: number, args: Buffer): Promise<XdrReader> {
    const xid = this.nextXid++;
    const reply = await new Promise<RpcReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(xid);
        reject(new Error(`no reply to call ${xid} within ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      this.waiting.set(xid, { resolve: (value) => (clearTimeout(timer), resolve(value)), reject: (error) => (clearTimeout(timer), reject(error)) });
      const credential = { flavor: 'AUTH_SYS' as const, stamp: 1, machineName: 'test', uid: 1000, gid: 1000, gids: [] };
      for (const buffer of encodeRecord(encodeRpcCall({ xid, program, version, procedure, credential, verifier: AUTH_NONE_VERIFIER }, [args]))) this.socket.write(buffer);
    });
    if (reply.type !== 'accepted' || reply.result.stat !== 'SUCCESS') throw new Error(`RPC call refused: ${JSON.stringify(reply)}`);
    return new XdrReader(Buffer.concat(reply.result.results));
  }

  async mount(path: string): Promise<{ status: number; handle: Buffer | undefined }> {
    const reader = await this.call(MOUNT_PROGRAM, MOUNT_VERSION, 1, new XdrWriter().string(path).toBuffer());
    const status = reader.uint32();
    return { status, handle: status === 0 ? reader.varOpaque(64) : undefined };
  }

  private async nfs(proc: Nfs3Procedure, args: XdrWriter): Promise<{ status: Nfs3Status; reader: XdrReader }> {
    const reader = await this.call(NFS3_PROGRAM, NFS3_VERSION, NFS3_PROCEDURES.indexOf(proc), args.toBuffer());
    return { status: NFSSTAT3.read(reader), reader };
  }

  async lookup(dir: Buffer, name: string): Promise<{ status: Nfs3Status; handle: Buffer | undefined }> {
    const { status, reader } = await this.nfs('LOOKUP', new XdrWriter().varOpaque(dir, 64).string(name));
    return { status, handle: status === 'NFS3_OK' ? reader.varOpaque(64) : undefined };
  }

  async mkdir(dir: Buffer, name: string): Promise<{ status: Nfs3Status; handle: Buffer | undefined }> {
    const { status, reader } = await this.nfs('MKDIR', new XdrWriter().varOpaque(dir, 64).string(name).uint32(0).uint32(0).uint32(0).uint32(0).uint32(0).uint32(0));
    return { status, handle: status === 'NFS3_OK' && reader.bool() ? reader.varOpaque(64) : undefined };
  }

  /** CREATE UNCHECKED (or GUARDED) with no attributes set. */
  async create(dir: Buffer, name: string, mode: 'UNCHECKED' | 'GUARDED' = 'UNCHECKED'): Promise<{ status: Nfs3Status; handle: Buffer | undefined }> {
    const how = mode === 'GUARDED' ? 1 : 0;
    const { status, reader } = await this.nfs('CREATE', new XdrWriter().varOpaque(dir, 64).string(name).uint32(how).uint32(0).uint32(0).uint32(0).uint32(0).uint32(0).uint32(0));
    return { status, handle: status === 'NFS3_OK' && reader.bool() ? reader.varOpaque(64) : undefined };
  }

  async write(file: Buffer, offset: bigint, data: Buffer, stable: 'UNSTABLE' | 'FILE_SYNC' = 'FILE_SYNC'): Promise<Nfs3Status> {
    return (await this.nfs('WRITE', new XdrWriter().varOpaque(file, 64).uint64(offset).uint32(data.length).uint32(stable === 'UNSTABLE' ? 0 : 2).varOpaque(data))).status;
  }

  async commit(file: Buffer): Promise<Nfs3Status> {
    return (await this.committed(file)).status;
  }

  /** WRITE, with the write verifier of a successful one. */
  async written(file: Buffer, offset: bigint, data: Buffer, stable: 'UNSTABLE' | 'FILE_SYNC' = 'FILE_SYNC'): Promise<{ status: Nfs3Status; verifier: Buffer | undefined }> {
    const { status, reader } = await this.nfs('WRITE', new XdrWriter().varOpaque(file, 64).uint64(offset).uint32(data.length).uint32(stable === 'UNSTABLE' ? 0 : 2).varOpaque(data));
    skipWcc(reader);
    if (status !== 'NFS3_OK') return { status, verifier: undefined };
    reader.uint32();
    reader.uint32();
    return { status, verifier: Buffer.from(reader.fixedOpaque(8)) };
  }

  /** COMMIT of the whole file, with the write verifier of a successful one. */
  async committed(file: Buffer): Promise<{ status: Nfs3Status; verifier: Buffer | undefined }> {
    const { status, reader } = await this.nfs('COMMIT', new XdrWriter().varOpaque(file, 64).uint64(0n).uint32(0));
    skipWcc(reader);
    return { status, verifier: status === 'NFS3_OK' ? Buffer.from(reader.fixedOpaque(8)) : undefined };
  }

  /** ACCESS asking for `bits`: the bits granted. */
  async access(handle: Buffer, bits: number): Promise<{ status: Nfs3Status; access: number | undefined }> {
    const { status, reader } = await this.nfs('ACCESS', new XdrWriter().varOpaque(handle, 64).uint32(bits));
    skipPostOpAttr(reader);
    return { status, access: status === 'NFS3_OK' ? reader.uint32() : undefined };
  }

  /** READDIR from `cookie`, sending `cookieverf`. */
  async readdir(dir: Buffer, cookie: bigint, cookieverf: Buffer, count: number): Promise<ReaddirPage> {
    const { status, reader } = await this.nfs('READDIR', new XdrWriter().varOpaque(dir, 64).uint64(cookie).fixedOpaque(cookieverf, 8).uint32(count));
    skipPostOpAttr(reader);
    if (status !== 'NFS3_OK') return { status, cookieverf: Buffer.alloc(8), entries: [], eof: false };
    const verifier = Buffer.from(reader.fixedOpaque(8));
    const entries = reader.list(100_000, (entry) => {
      entry.uint64();
      const name = entry.string(1024);
      return { name, cookie: entry.uint64() };
    });
    return { status, cookieverf: verifier, entries, eof: reader.bool() };
  }

  /** MOUNT's EXPORT: the paths listed. */
  async exports(): Promise<string[]> {
    const reader = await this.call(MOUNT_PROGRAM, MOUNT_VERSION, 5, Buffer.alloc(0));
    return reader.list(100_000, (entry) => {
      const directory = entry.string(1024);
      entry.list(100_000, (group) => group.string(255));
      return directory;
    });
  }

  /** SETATTR of the mode alone, unguarded. */
  async chmod(handle: Buffer, mode: number): Promise<Nfs3Status> {
    return (await this.nfs('SETATTR', new XdrWriter().varOpaque(handle, 64).bool(true).uint32(mode).uint32(0).uint32(0).uint32(0).uint32(0).uint32(0).bool(false))).status;
  }

  async getattr(handle: Buffer): Promise<Nfs3Status> {
    return (await this.nfs('GETATTR', new XdrWriter().varOpaque(handle, 64))).status;
  }

  async rename(fromDir: Buffer, fromName: string, toDir: Buffer, toName: string): Promise<Nfs3Status> {
    return (await this.nfs('RENAME', new XdrWriter().varOpaque(fromDir, 64).string(fromName).varOpaque(toDir, 64).string(toName))).status;
  }

  async remove(dir: Buffer, name: string): Promise<Nfs3Status> {
    return (await this.nfs('REMOVE', new XdrWriter().varOpaque(dir, 64).string(name))).status;
  }

  async rmdir(dir: Buffer, name: string): Promise<Nfs3Status> {
    return (await this.nfs('RMDIR', new XdrWriter().varOpaque(dir, 64).string(name))).status;
  }

  async symlink(dir: Buffer, name: string, target: string): Promise<Nfs3Status> {
    return (await this.nfs('SYMLINK', new XdrWriter().varOpaque(dir, 64).string(name).uint32(0).uint32(0).uint32(0).uint32(0).uint32(0).uint32(0).string(target))).status;
  }
}
