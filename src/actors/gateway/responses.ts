/**
 * Writing responses: XML documents, empty answers and error documents (S3 XML, or what the listener's
 * API speaks), each with the request id.
 * An error that happens after the headers went out cannot be reported in-band any more; the
 * connection is cut so the client sees a truncated response rather than a wrong one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { S3Error, errorHasBody, type ErrorContext, type ErrorDocument } from '../../protocol/s3/errors.js';
import { XmlBytes } from '../../protocol/s3/xml.js';
import type { RequestContext } from './request-context.js';

export type ResponseHeaders = Readonly<Record<string, string | number | readonly string[]>>;

const XML_TYPE = 'application/xml';
/** A rejected request body larger than this is not read to its end: the connection closes instead. */
const MAX_DRAIN_BYTES = 1024 * 1024;

export function sendXml(ctx: RequestContext, status: number, xml: string | XmlBytes, headers: ResponseHeaders = {}): void {
  const document = typeof xml === 'string' ? new XmlBytes([Buffer.from(xml, 'utf8')]) : xml;
  const { chunks } = document;
  ctx.res.writeHead(status, { ...headers, 'Content-Type': XML_TYPE, 'Content-Length': document.byteLength });
  if (ctx.method === 'HEAD' || chunks.length === 1) {
    ctx.res.end(ctx.method === 'HEAD' ? undefined : chunks[0]);
    return;
  }
  // Corked, the pieces leave in one write; end uncorks.
  ctx.res.cork();
  for (const chunk of chunks) ctx.res.write(chunk);
  ctx.res.end();
}

export function sendEmpty(ctx: RequestContext, status: number, headers: ResponseHeaders = {}): void {
  ctx.res.writeHead(status, { ...headers, 'Content-Length': 0 });
  ctx.res.end();
}

export interface ErrorResponseInfo {
  readonly requestId: string;
  readonly hostId: string;
  readonly resource: string | undefined;
  /** The error's body as the request's API tells it. */
  readonly document: (error: S3Error, context: ErrorContext) => ErrorDocument;
}

/** Answers with `error` if nothing was sent yet; otherwise cuts the connection. */
export function sendError(req: IncomingMessage, res: ServerResponse, error: S3Error, info: ErrorResponseInfo): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const method = req.method ?? 'GET';
  const headers: Record<string, string | number> = { ...error.headers };
  // A client still waiting for 100 Continue never sends the body, so nothing it sends next could be told
  // apart from that body: the connection ends with this answer.
  if (!req.complete && (!drainable(req) || awaitsContinue(req, res))) headers.Connection = 'close';
  if (!errorHasBody(error, method)) {
    res.writeHead(error.status, { ...headers, 'Content-Length': 0 });
    res.end();
  } else {
    const document = info.document(error, { resource: info.resource, requestId: info.requestId, hostId: info.hostId });
    const body = Buffer.from(document.body, 'utf8');
    res.writeHead(error.status, { ...headers, 'Content-Type': document.contentType, 'Content-Length': body.length, ...(document.vary === undefined ? {} : { Vary: document.vary }) });
    res.end(body);
  }
  if (!req.complete) req.resume();
}

const continued = new WeakSet<ServerResponse>();

/** Whether the client asked to be told before sending its body (`Expect: 100-continue`). */
function expectsContinue(req: IncomingMessage): boolean {
  return (req.headers.expect ?? '').trim().toLowerCase() === '100-continue';
}

function awaitsContinue(req: IncomingMessage, res: ServerResponse): boolean {
  return expectsContinue(req) && !continued.has(res);
}

/** Invites the body of a request that waits for it; called when its handler starts reading the body. */
export function sendContinue(req: IncomingMessage, res: ServerResponse): void {
  if (!awaitsContinue(req, res) || res.headersSent || res.destroyed) return;
  continued.add(res);
  res.writeContinue();
}

/** Whether what is left of the request body is small enough to read and discard, keeping the connection. */
function drainable(req: IncomingMessage): boolean {
  const length = Number(req.headers['content-length']);
  return Number.isFinite(length) && length <= MAX_DRAIN_BYTES && req.headers['transfer-encoding'] === undefined;
}

/** Resolves when `res` can take more data, or rejects when the client went away. */
export function whenWritable(res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    if (res.destroyed || res.writableEnded) {
      reject(new ClientGone());
      return;
    }
    const done = (): void => {
      res.off('drain', onDrain);
      res.off('close', onClose);
    };
    const onDrain = (): void => {
      done();
      resolve();
    };
    const onClose = (): void => {
      done();
      reject(new ClientGone());
    };
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/** The client closed the connection while its response was being sent. */
export class ClientGone extends Error {
  override readonly name = 'ClientGone';
  constructor() {
    super('the client closed the connection');
  }
}
