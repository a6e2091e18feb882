/**
 * ONC RPC version 2 messages (RFC 5531): the call header a server reads before a procedure's arguments,
 * and the replies it answers with. Works on whole records (see rpc-record.ts for TCP framing).
 *
 *   call:  xid, CALL, rpcvers = 2, prog, vers, proc, cred, verf, arguments...
 *   reply: xid, REPLY, MSG_ACCEPTED, verf, accept_stat [mismatch | results...]
 *          xid, REPLY, MSG_DENIED, RPC_MISMATCH low high | AUTH_ERROR auth_stat
 *
 * A call that cannot be answered (no xid, not a CALL, a cut header) is ignored, as servers do: there is
 * no one to tell. A call with a credential or verifier we cannot parse is denied with AUTH_ERROR.
 */
import { XdrEnum, XdrError, XdrReader, XdrWriter } from './xdr.js';

export const RPC_VERSION = 2;
/** `opaque body<400>` of opaque_auth. */
export const MAX_AUTH_BYTES = 400;
/** authsys_parms: `string machinename<255>`, `unsigned int gids<16>`. */
export const MAX_MACHINE_NAME_BYTES = 255;
export const MAX_AUTH_SYS_GIDS = 16;

/** Flavour numbers are open-ended (RPCSEC_GSS and others exist), so a credential keeps unknown ones as numbers. */
export const AUTH_FLAVOR = { AUTH_NONE: 0, AUTH_SYS: 1, AUTH_SHORT: 2, AUTH_DH: 3, RPCSEC_GSS: 6 } as const;

const MSG_TYPE = new XdrEnum('msg_type', { CALL: 0, REPLY: 1 });
const REPLY_STAT = new XdrEnum('reply_stat', { MSG_ACCEPTED: 0, MSG_DENIED: 1 });
const ACCEPT_STAT = new XdrEnum('accept_stat', {
  SUCCESS: 0, PROG_UNAVAIL: 1, PROG_MISMATCH: 2, PROC_UNAVAIL: 3, GARBAGE_ARGS: 4, SYSTEM_ERR: 5,
});
const REJECT_STAT = new XdrEnum('reject_stat', { RPC_MISMATCH: 0, AUTH_ERROR: 1 });
export const AUTH_STAT = new XdrEnum('auth_stat', {
  AUTH_OK: 0, AUTH_BADCRED: 1, AUTH_REJECTEDCRED: 2, AUTH_BADVERF: 3, AUTH_REJECTEDVERF: 4, AUTH_TOOWEAK: 5,
  AUTH_INVALIDRESP: 6, AUTH_FAILED: 7, AUTH_KERB_GENERIC: 8, AUTH_TIMEEXPIRE: 9, AUTH_TKT_FILE: 10, AUTH_DECODE: 11,
  AUTH_NET_ADDR: 12, RPCSEC_GSS_CREDPROBLEM: 13, RPCSEC_GSS_CTXPROBLEM: 14,
});
export type AuthStat = keyof typeof AUTH_STAT.codes;

export interface OpaqueAuth {
  readonly flavor: number;
  readonly body: Buffer;
}

export const AUTH_NONE_VERIFIER: OpaqueAuth = { flavor: AUTH_FLAVOR.AUTH_NONE, body: Buffer.alloc(0) };

/** authsys_parms: who the client says the caller is. Ids are unsigned, as on the wire. */
export interface AuthSysParams {
  readonly stamp: number;
  readonly machineName: string;
  readonly uid: number;
  readonly gid: number;
  readonly gids: readonly number[];
}

export type RpcCredential =
  | { readonly flavor: 'AUTH_NONE' }
  | ({ readonly flavor: 'AUTH_SYS' } & AuthSysParams)
  /** A flavour we do not parse (AUTH_DH, RPCSEC_GSS...): a server answers AUTH_ERROR AUTH_TOOWEAK or AUTH_BADCRED. */
  | { readonly flavor: 'OTHER'; readonly code: number; readonly body: Buffer };

export interface RpcCallHeader {
  readonly xid: number;
  readonly program: number;
  readonly version: number;
  readonly procedure: number;
  readonly credential: RpcCredential;
  readonly verifier: OpaqueAuth;
}

export interface RpcCall extends RpcCallHeader {
  /** The procedure's arguments: a view into the record. */
  readonly args: Buffer;
}

export type AcceptedResult =
  /** `results` are the procedure's encoded results, written after the header without copying. */
  | { readonly stat: 'SUCCESS'; readonly results: readonly Buffer[] }
  | { readonly stat: 'PROG_UNAVAIL' }
  | { readonly stat: 'PROG_MISMATCH'; readonly low: number; readonly high: number }
  | { readonly stat: 'PROC_UNAVAIL' }
  | { readonly stat: 'GARBAGE_ARGS' }
  | { readonly stat: 'SYSTEM_ERR' };

export type Rejection =
  | { readonly stat: 'RPC_MISMATCH'; readonly low: number; readonly high: number }
  | { readonly stat: 'AUTH_ERROR'; readonly auth: AuthStat };

export type RpcReply =
  | { readonly type: 'accepted'; readonly xid: number; readonly verifier: OpaqueAuth; readonly result: AcceptedResult }
  | { readonly type: 'denied'; readonly xid: number; readonly rejection: Rejection };

export type RpcCallDecoding =
  | { readonly type: 'call'; readonly call: RpcCall }
  /** Answer with `reply` and go on with the next record. */
  | { readonly type: 'denied'; readonly reply: RpcReply }
  /** Nothing to answer: drop the record. */
  | { readonly type: 'ignored'; readonly reason: string };

/** Reads the call header of one record. Never throws. */
export function decodeRpcCall(record: Buffer): RpcCallDecoding {
  const reader = new XdrReader(record);
  let xid: number;
  let program: number;
  let version: number;
  let procedure: number;
  try {
    xid = reader.uint32();
    if (MSG_TYPE.read(reader) !== 'CALL') return { type: 'ignored', reason: 'not a call' };
    const rpcVersion = reader.uint32();
    if (rpcVersion !== RPC_VERSION) {
      return deny(xid, { stat: 'RPC_MISMATCH', low: RPC_VERSION, high: RPC_VERSION });
    }
    program = reader.uint32();
    version = reader.uint32();
    procedure = reader.uint32();
  } catch (error) {
    return { type: 'ignored', reason: reasonOf(error) };
  }
  let credential: RpcCredential;
  try {
    credential = parseCredential(readOpaqueAuth(reader));
  } catch (error) {
    if (error instanceof XdrError) return deny(xid, { stat: 'AUTH_ERROR', auth: 'AUTH_BADCRED' });
    throw error;
  }
  let verifier: OpaqueAuth;
  try {
    verifier = readOpaqueAuth(reader);
  } catch (error) {
    if (error instanceof XdrError) return deny(xid, { stat: 'AUTH_ERROR', auth: 'AUTH_BADVERF' });
    throw error;
  }
  return { type: 'call', call: { xid, program, version, procedure, credential, verifier, args: reader.rest() } };
}

function deny(xid: number, rejection: Rejection): RpcCallDecoding {
  return { type: 'denied', reply: { type: 'denied', xid, rejection } };
}

function reasonOf(error: unknown): string {
  if (error instanceof XdrError) return error.message;
  throw error;
}

function readOpaqueAuth(reader: XdrReader): OpaqueAuth {
  const flavor = reader.uint32();
  return { flavor, body: reader.varOpaque(MAX_AUTH_BYTES) };
}

function parseCredential(auth: OpaqueAuth): RpcCredential {
  switch (auth.flavor) {
    case AUTH_FLAVOR.AUTH_NONE:
      if (auth.body.length > 0) throw new XdrError('BadValue', 'AUTH_NONE credential with a body');
      return { flavor: 'AUTH_NONE' };
    case AUTH_FLAVOR.AUTH_SYS:
      return { flavor: 'AUTH_SYS', ...readAuthSysParams(new XdrReader(auth.body)) };
    default:
      return { flavor: 'OTHER', code: auth.flavor, body: auth.body };
  }
}

/** The parameters must fill the credential's body exactly; anything else is a bad credential. */
function readAuthSysParams(reader: XdrReader): AuthSysParams {
  const stamp = reader.uint32();
  const machineName = reader.string(MAX_MACHINE_NAME_BYTES);
  const uid = reader.uint32();
  const gid = reader.uint32();
  const gids = reader.array(MAX_AUTH_SYS_GIDS, (r) => r.uint32());
  reader.expectEnd();
  return { stamp, machineName, uid, gid, gids };
}

export function encodeRpcReply(reply: RpcReply): Buffer[] {
  const writer = new XdrWriter().uint32(reply.xid);
  MSG_TYPE.write(writer, 'REPLY');
  switch (reply.type) {
    case 'accepted': {
      REPLY_STAT.write(writer, 'MSG_ACCEPTED');
      writeOpaqueAuth(writer, reply.verifier);
      const result = reply.result;
      ACCEPT_STAT.write(writer, result.stat);
      if (result.stat === 'SUCCESS') writer.raw(result.results);
      if (result.stat === 'PROG_MISMATCH') writer.uint32(result.low).uint32(result.high);
      break;
    }
    case 'denied': {
      REPLY_STAT.write(writer, 'MSG_DENIED');
      const rejection = reply.rejection;
      REJECT_STAT.write(writer, rejection.stat);
      if (rejection.stat === 'RPC_MISMATCH') writer.uint32(rejection.low).uint32(rejection.high);
      else AUTH_STAT.write(writer, rejection.auth);
      break;
    }
  }
  return writer.toBuffers();
}

/** Reads a reply, as a client does (and our tests). SUCCESS results are one view into the record. Throws XdrError. */
export function decodeRpcReply(record: Buffer): RpcReply {
  const reader = new XdrReader(record);
  const xid = reader.uint32();
  if (MSG_TYPE.read(reader) !== 'REPLY') throw new XdrError('BadValue', 'not a reply');
  if (REPLY_STAT.read(reader) === 'MSG_DENIED') {
    const stat = REJECT_STAT.read(reader);
    const rejection: Rejection =
      stat === 'RPC_MISMATCH' ? { stat, low: reader.uint32(), high: reader.uint32() } : { stat, auth: AUTH_STAT.read(reader) };
    reader.expectEnd();
    return { type: 'denied', xid, rejection };
  }
  const verifier = readOpaqueAuth(reader);
  const stat = ACCEPT_STAT.read(reader);
  let result: AcceptedResult;
  if (stat === 'SUCCESS') result = { stat, results: [reader.rest()] };
  else if (stat === 'PROG_MISMATCH') result = { stat, low: reader.uint32(), high: reader.uint32() };
  else result = { stat };
  reader.expectEnd();
  return { type: 'accepted', xid, verifier, result };
}

/** Writes a call, as a client does (and our tests). */
export function encodeRpcCall(header: RpcCallHeader, args: readonly Buffer[] = []): Buffer[] {
  const writer = new XdrWriter().uint32(header.xid);
  MSG_TYPE.write(writer, 'CALL');
  writer.uint32(RPC_VERSION).uint32(header.program).uint32(header.version).uint32(header.procedure);
  writeOpaqueAuth(writer, credentialAuth(header.credential));
  writeOpaqueAuth(writer, header.verifier);
  return writer.raw(args).toBuffers();
}

function credentialAuth(credential: RpcCredential): OpaqueAuth {
  switch (credential.flavor) {
    case 'AUTH_NONE':
      return AUTH_NONE_VERIFIER;
    case 'AUTH_SYS': {
      const body = new XdrWriter()
        .uint32(credential.stamp)
        .string(credential.machineName, MAX_MACHINE_NAME_BYTES)
        .uint32(credential.uid)
        .uint32(credential.gid)
        .array(credential.gids, MAX_AUTH_SYS_GIDS, (w, gid) => w.uint32(gid))
        .toBuffer();
      return { flavor: AUTH_FLAVOR.AUTH_SYS, body };
    }
    case 'OTHER':
      return { flavor: credential.code, body: credential.body };
  }
}

function writeOpaqueAuth(writer: XdrWriter, auth: OpaqueAuth): void {
  writer.uint32(auth.flavor).varOpaque(auth.body, MAX_AUTH_BYTES);
}

/** Why a procedure's arguments were not decoded; `stat` is the accept_stat to answer with. */
export type ArgsRejection =
  | { readonly ok: false; readonly stat: 'GARBAGE_ARGS'; readonly error: XdrError }
  | { readonly ok: false; readonly stat: 'PROC_UNAVAIL'; readonly procedure: number };

export type ArgsDecoding<Call> = { readonly ok: true; readonly call: Call } | ArgsRejection;

/** Runs a procedure's argument decoder; malformed arguments become GARBAGE_ARGS, never an exception. */
export function decodeArgs<Call>(args: Buffer, read: (reader: XdrReader) => Call): ArgsDecoding<Call> {
  try {
    return { ok: true, call: read(new XdrReader(args)) };
  } catch (error) {
    if (error instanceof XdrError) return { ok: false, stat: 'GARBAGE_ARGS', error };
    throw error;
  }
}

export function procedureUnavailable(procedure: number): ArgsRejection {
  return { ok: false, stat: 'PROC_UNAVAIL', procedure };
}
